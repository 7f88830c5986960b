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
- a rule window longer than the trail horizon: the rule sees only what the trail keeps;
- a large-value threshold other than the PBoC's (Order [2016] No. 3 art. 5, `LARGE_VALUE_LINES`):
  legal, since a bank may lower one deliberately (a test, a stricter policy), but a lower line
  reports days the regulation does not ask for and a higher one misses days it does;
- a structuring threshold above the cash large-value line (0501): structuring is staying under
  the line, and legs near such a threshold reach it and are reported anyway; a same_day_cash
  threshold above it: a day whose cash reaches the line raises no alert;
- a timezone other than Beijing time: the PBoC's business day (当日) is the calendar day in
  Asia/Shanghai, so reports and same-day totals would fall on other days.
"""

from __future__ import annotations

from factors.catalog import VALUE_MAX, FactorSetting
from factors.errors import Problem
from factors.large_value import DEFAULT_RULES
from factors.standard import Standard

TRAIL_RULES = ("structuring", "rapid_in_out", "round_amounts", "night_burst")  # rules reading the recent-transaction trail
ART_5 = "PBoC Order [2016] No. 3 art. 5"
# report code -> (item of art. 5 (大额交易报告标准), what it covers); the figures are factors.large_value.DEFAULT_RULES
LARGE_VALUE_LINES = {
    "0501": ("1", "cash"),
    "0502": ("2", "non-natural persons' transfers"),
    "0503": ("3", "natural persons' domestic transfers"),
    "0504": ("4", "natural persons' cross-border transfers"),
}
# Beijing time: Asia/Shanghai and the tz database's other names for the same zone
BEIJING_TIME = frozenset(("Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "PRC"))


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


def lint(standard: Standard, *, trail_horizon_hours: float = 72, timezone_override: str | None = None) -> list[Problem]:
    """Every warning for a valid standard (see the module's docstring), in file order; the
    workers' `timezone_override` (AMLSTREAM_TIMEZONE), when given, is judged instead of the file's."""
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
    if not is_beijing_time(timezone_override or standard.timezone):
        warnings.append(Problem("AMLSTREAM_TIMEZONE" if timezone_override else "timezone", timezone_warning()))
    warnings += _large_value(standard)
    warnings += _rules(standard, trail_horizon_hours)
    return warnings


def is_beijing_time(timezone: str) -> bool:
    return timezone in BEIJING_TIME


def timezone_warning() -> str:
    return (
        f"not Beijing time (Asia/Shanghai): the large-value rules ({ART_5}) count by business day (当日), the calendar day in Beijing time; "
        "reports and same-day totals would fall on other days"
    )


def _large_value(standard: Standard) -> list[Problem]:
    """A threshold other than art. 5's; says which way, never the value."""
    warnings = []
    for rule in DEFAULT_RULES:
        given = standard.large_value.rules.get(rule.code)  # type: ignore[call-overload]
        item, covers = LARGE_VALUE_LINES[rule.code]
        for currency, line in (("cny", rule.cny), ("usd", rule.usd)):
            value = getattr(given, currency) if given is not None else None
            if value is None or value == line:
                continue
            where = f"{ART_5}({item}) ({covers}, {currency.upper()} {line:,.0f})"
            effect = "days the regulation does not ask for are reported too (a test?)" if value < line else "days the regulation requires reported are missed"
            warnings.append(Problem(f"large_value.rules.{rule.code}.{currency}", f"{'below' if value < line else 'above'} the line of {where}: {effect}"))
    return warnings


def cash_line_cny(standard: Standard) -> float:
    """The cash large-value line (0501) in CNY as this standard sets it."""
    given = standard.large_value.rules.get("0501")  # type: ignore[call-overload]
    cash = next(r for r in DEFAULT_RULES if r.code == "0501")
    return given.cny if given is not None and given.cny is not None else cash.cny


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
        if pattern_id == "structuring" and p.threshold_cny > cash_line_cny(standard):  # type: ignore[attr-defined]
            warnings.append(
                Problem(
                    f"{where}.threshold_cny",
                    "above the cash large-value line (large_value 0501, CNY): structuring is staying under the line, and legs near this threshold "
                    "reach it and are reported anyway (set it to the line)",
                )
            )
        if pattern_id == "same_day_cash" and p.threshold_cny > cash_line_cny(standard):  # type: ignore[attr-defined]
            warnings.append(
                Problem(f"{where}.threshold_cny", "above the cash large-value line (large_value 0501, CNY): a day whose cash reaches the line raises no alert")
            )
        if pattern_id in TRAIL_RULES and p.window_hours > trail_horizon_hours:  # type: ignore[attr-defined]
            warnings.append(Problem(f"{where}.window_hours", "longer than the trail horizon (AMLSTREAM_TRAIL_HORIZON_HOURS): the rule sees only what the trail keeps"))
    rules = standard.hard_rules
    if rules.repeated_reports and not any(p.enabled and p.severity in ("high", "critical") for p in configured.values()):
        warnings.append(Problem("hard_rules.repeated_reports", "no enabled pattern raises high or critical alerts: the rule never applies"))
    return warnings
