"""Score a customer: every weighted factor's points, summed, mapped to a level, then raised to
the minimum any hard rule sets."""

from __future__ import annotations

from factors.catalog import FACTORS
from factors.model import Assessment, Contribution, HardRule
from factors.standard import FactorSetting, Standard
from factors.view import CustomerView, Measurement


def hard_rules(view: CustomerView, standard: Standard) -> tuple[HardRule, ...]:
    """Minimum levels regardless of score: a list hit, a PEP or an unidentifiable beneficial
    owner, repeated suspicious reports (levels configurable in `[hard_rules]`)."""
    rules = standard.settings("hard_rules")
    found = []
    profile = view.profile
    if profile is not None:
        for flag, default in (("listed", "prohibited"), ("pep", "watch"), ("ownership_opaque", "watch")):
            level = rules.get(flag, default)
            if getattr(profile, flag) and level:
                found.append(HardRule(flag, level))
    if view.alerts_in_period >= int(rules.get("repeated_min_alerts", 2)):
        found.append(HardRule("repeated_suspicious_reports", rules.get("repeated_reports", "suspicious")))
    return tuple(found)


_UNSET = object()


def _contribution(setting: FactorSetting, measured: Measurement | None) -> Contribution | None:
    """A factor's points (its value through its bands, times its weight) with the evidence; None
    when the factor does not apply or earns nothing."""
    if measured is None:
        return None
    evidence = dict(measured.evidence)
    if setting.bands is None:
        points = round(measured.value * setting.weight, 2)
    else:
        band_points, band = setting.bands.points_for(measured.value)
        points = round(band_points * setting.weight, 2)
        evidence["value"] = measured.value
        evidence["band_min"] = band.min if band else None
    if points == 0:
        return None
    return Contribution(setting.group, setting.id, points, evidence)


def assess(view: CustomerView, standard: Standard, profile_cache: dict[str, object] | None = None) -> Assessment:
    """The customer's score and level with the contributions that sum to it.

    Points are rounded to hundredths per contribution and the score is the sum of the rounded
    points, so an analyst adding up the explanation gets the score exactly. `profile_cache`
    (valid for one profile) keeps the contributions of the factors that depend on it alone.
    """
    contributions: list[Contribution] = []
    for setting in standard.factors:
        factor = FACTORS[setting.id]
        if profile_cache is not None and factor.profile_only:
            # the whole contribution depends on the profile alone: worked out once per profile
            contribution = profile_cache.get(setting.id, _UNSET)
            if contribution is _UNSET:
                contribution = profile_cache[setting.id] = _contribution(setting, factor.measure(view, setting.params, standard))
        else:
            contribution = _contribution(setting, factor.measure(view, setting.params, standard))
        if contribution is not None:
            contributions.append(contribution)  # type: ignore[arg-type]
    score = round(sum(c.points for c in contributions), 2)
    floors = hard_rules(view, standard)
    level = standard.max_level(standard.level_for(score), *(r.min_level for r in floors))
    return Assessment(score=score, level=level, contributions=tuple(contributions), hard_rules=floors)
