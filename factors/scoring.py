"""Score a customer: every weighted factor's points, summed, mapped to a level, then raised to
the minimum any hard rule sets."""

from __future__ import annotations

from factors.bands import points_for
from factors.model import Assessment, Contribution, HardRule
from factors.standard import FactorStep, Standard
from factors.view import CustomerView, Measurement


def hard_rules(view: CustomerView, standard: Standard) -> tuple[HardRule, ...]:
    """Minimum levels regardless of score: a list hit, a PEP or an unidentifiable beneficial
    owner, repeated suspicious reports (levels configurable in `[hard_rules]`)."""
    rules = standard.hard_rules
    found = []
    profile = view.profile
    if profile is not None:
        for flag, level in (("listed", rules.listed), ("pep", rules.pep), ("ownership_opaque", rules.ownership_opaque)):
            if getattr(profile, flag) and level:
                found.append(HardRule(flag, level))
    if rules.repeated_reports and view.alerts_in_period >= rules.repeated_min_alerts:  # "" disables it, as it does the others
        found.append(HardRule("repeated_suspicious_reports", rules.repeated_reports))
    return tuple(found)


_UNSET = object()


def _contribution(step: FactorStep, measured: Measurement | None) -> Contribution | None:
    """A factor's points (its value through its bands, times its weight) with the evidence; None
    when the factor does not apply or earns nothing."""
    if measured is None:
        return None
    evidence = dict(measured.evidence)
    if step.table is None:
        points = round(measured.value * step.weight, 2)
    else:
        band_points, band = points_for(step.table, measured.value)
        points = round(band_points * step.weight, 2)
        evidence["value"] = measured.value
        evidence["band_min"] = band.min if band else None
    if points == 0:
        return None
    return Contribution(step.group, step.id, points, evidence)


def assess(view: CustomerView, standard: Standard, profile_cache: dict[str, object] | None = None) -> Assessment:
    """The customer's score and level with the contributions that sum to it.

    Points are rounded to hundredths per contribution and the score is the sum of the rounded
    points, so an analyst adding up the explanation gets the score exactly. `profile_cache`
    (valid for one profile) keeps the contributions of the factors that depend on it alone.
    """
    contributions: list[Contribution] = []
    for step in standard.scoring_plan:
        if profile_cache is not None and step.profile_only:
            # the whole contribution depends on the profile alone: worked out once per profile
            contribution = profile_cache.get(step.id, _UNSET)
            if contribution is _UNSET:
                contribution = profile_cache[step.id] = _contribution(step, step.measure(view, step.setting, standard))
        else:
            contribution = _contribution(step, step.measure(view, step.setting, standard))
        if contribution is not None:
            contributions.append(contribution)  # type: ignore[arg-type]
    score = round(sum(c.points for c in contributions), 2)
    floors = hard_rules(view, standard)
    level = standard.max_level(standard.level_for(score), *(r.min_level for r in floors))
    return Assessment(score=score, level=level, contributions=tuple(contributions), hard_rules=floors)
