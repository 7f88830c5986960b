"""What is legal in a standard but almost certainly a mistake: the linter's warnings.

Each warning is a `Problem` (TOML path, what is suspicious), never a value. They are:

- a factor that dominates: its highest contribution (weight x its highest points) alone reaches
  the top level's min_score, so one factor decides the top level whatever the others say
  (for `recent_detections`, the points of a single detection: several detections adding up is
  what the factor is for);
- a level no score can reach: its min_score is above the highest score the factors can sum to
  (only a hard rule can set it);
- a factor that never contributes: weight 0, or no band (table entry) it can reach gives points;
- a band no value can reach: its min is above the largest value the factor measures (flags are
  1, shares at most 1);
- a rule that can never fire under its own parameters: night_start = night_end (no night hours),
  a zero threshold for same_day_cash or structuring, high_risk_jurisdiction without countries,
  high_risk_industry_role above every industry's points, the repeated-reports hard rule with no
  enabled pattern raising high or critical alerts;
- a rule window longer than the trail horizon: the rule sees only what the trail keeps.
"""

from __future__ import annotations

from factors.catalog import VALUE_MAX, FactorSetting
from factors.errors import Problem
from factors.standard import Standard

TRAIL_RULES = ("structuring", "rapid_in_out", "round_amounts", "night_burst")  # rules reading the recent-transaction trail


def _band_max(setting: FactorSetting) -> float | None:
    if setting.bands is None:
        return None
    ceiling = VALUE_MAX.get(setting.value_kind)
    return max((b.points for b in setting.bands.bands if ceiling is None or b.min <= ceiling), default=0.0)


def highest_points(setting: FactorSetting, standard: Standard, *, single_cause: bool = False) -> float:
    """The most points the factor can give one customer, before its weight."""
    banded = _band_max(setting)
    if banded is not None:
        return banded
    params = setting
    if setting.id == "customer_country":
        return max([params.missing_points, *(c.points for c in standard.country_lists)])  # type: ignore[attr-defined]
    if setting.id in ("industry", "occupation"):
        table = standard.industries if setting.id == "industry" else standard.occupations
        return max([params.unknown_points, params.missing_points, *table.values()])  # type: ignore[attr-defined]
    if setting.id == "products":
        total = sum(standard.products.values())
        return total if params.max_points is None else min(total, params.max_points)  # type: ignore[attr-defined]
    if setting.id == "recent_detections":
        points = [params.points.get(k, params.default_points) for k, p in standard.patterns.configured().items() if p.enabled]  # type: ignore[attr-defined]
        return (max(points, default=0.0) if single_cause else sum(points)) if points else 0.0
    return VALUE_MAX.get(setting.value_kind, 0.0)  # a flag without bands: 1 point


def lint(standard: Standard, *, trail_horizon_hours: float = 72) -> list[Problem]:
    """Every warning for a valid standard (see the module's docstring), in file order."""
    warnings: list[Problem] = []
    top = standard.levels[-1]
    total = 0.0
    for i, s in enumerate(standard.factors):
        where = f"factors[{i}]"
        reach = s.weight * highest_points(s, standard)
        total += reach
        if s.weight == 0:
            warnings.append(Problem(f"{where}.weight", "0: the factor never contributes"))
        elif reach == 0:
            warnings.append(Problem(where, "no band or table entry it can reach gives points: the factor never contributes"))
        elif s.weight * highest_points(s, standard, single_cause=True) >= top.min_score:
            warnings.append(Problem(where, f"dominates: weight x its highest points alone reaches the top level ({top.level}), whatever the other factors say"))
        ceiling = VALUE_MAX.get(s.value_kind)
        for j, band in enumerate(s.bands.bands if s.bands and ceiling is not None else ()):
            if band.min > ceiling:  # type: ignore[operator]
                warnings.append(Problem(f"{where}.bands[{j}].min", f"above the largest value the factor measures ({s.value_kind}): the band is never reached"))
        if s.id == "high_risk_industry_role" and s.min_industry_points > max(standard.industries.values(), default=0.0):  # type: ignore[attr-defined]
            warnings.append(Problem(f"{where}.min_industry_points", "above every industry's points in [industries]: the factor never applies"))
    for i, cut in enumerate(standard.levels):
        if i and cut.min_score > total:
            warnings.append(
                Problem(
                    f"levels[{i}].min_score",
                    f"no score can reach {cut.level}: the factors' highest points, weighted and summed, stay below it (only a hard rule can set it)",
                )
            )
    warnings += _rules(standard, trail_horizon_hours)
    return warnings


def _rules(standard: Standard, trail_horizon_hours: float) -> list[Problem]:
    warnings = []
    configured = standard.patterns.configured()
    for pattern_id, p in configured.items():
        where = f"patterns.{pattern_id}"
        if not p.enabled:
            continue
        if pattern_id in ("same_day_cash", "structuring") and p.threshold_cny == 0:  # type: ignore[attr-defined]
            warnings.append(Problem(f"{where}.threshold_cny", "0: no amount lies below it, the rule never fires"))
        if pattern_id == "night_burst" and p.night_start == p.night_end:  # type: ignore[attr-defined]
            warnings.append(Problem(f"{where}.night_end", "equal to night_start: no night hours, the rule never fires"))
        if pattern_id == "high_risk_jurisdiction" and not p.countries:  # type: ignore[attr-defined]
            warnings.append(Problem(where, "no countries (none given, and no list is marked high_risk_flows): the rule never fires"))
        if pattern_id in TRAIL_RULES and p.window_hours > trail_horizon_hours:  # type: ignore[attr-defined]
            warnings.append(Problem(f"{where}.window_hours", "longer than the trail horizon (AMLSTREAM_TRAIL_HORIZON_HOURS): the rule sees only what the trail keeps"))
    rules = standard.hard_rules
    if rules.repeated_reports and not any(p.enabled and p.severity in ("high", "critical") for p in configured.values()):
        warnings.append(Problem("hard_rules.repeated_reports", "no enabled pattern raises high or critical alerts: the rule never applies"))
    return warnings
