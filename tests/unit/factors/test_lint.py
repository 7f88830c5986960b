"""The linter's warnings: each triggered by a standard crafted for it; the default lints clean."""

from __future__ import annotations

import pytest

from factors.lint import lint
from factors.standard import parse_standard
from tests.standard_mutations import default_text


def warnings_for(*edits: tuple[str, str], trail_horizon_hours: float = 72) -> list[str]:
    text = default_text()
    for old, new in edits:
        assert text.count(old) >= 1, old
        text = text.replace(old, new)
    return [str(w) for w in lint(parse_standard(text.encode()), trail_horizon_hours=trail_horizon_hours)]


def test_the_default_standard_lints_clean():
    assert warnings_for() == []


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        # one factor alone reaches the top level: listed gives 60 points, x 2 = 120 >= 90
        ([('id = "listed"\nbands', 'id = "listed"\nweight = 2.0\nbands')], "factors[5]: dominates"),
        # a table-driven factor: an industry worth 95 points
        ([("casino = 40", "casino = 95")], "factors[2]: dominates"),
        # a level no score can reach
        ([("min_score = 90", "min_score = 5000")], "levels[3].min_score: no score can reach prohibited"),
        # factors that never contribute
        ([('id = "customer_country"\nweight = 1.0', 'id = "customer_country"\nweight = 0.0')], "factors[0].weight: 0: the factor never contributes"),
        (
            [('id = "pep"\nbands = [{ min = 1, points = 25 }]', 'id = "pep"\nbands = [{ min = 1, points = 0 }]')],
            "factors[4]: no band or table entry it can reach gives points",
        ),
        # a band no value can reach: a share is at most 1
        ([("{ min = 0.6, points = 20 }", "{ min = 0.6, points = 20 }, { min = 1.5, points = 30 }")], "factors[17].bands[3].min: above the largest value"),
        # rules that can never fire under their own parameters
        ([("night_start = 0\nnight_end = 5", "night_start = 3\nnight_end = 3")], "patterns.night_burst.night_end: equal to night_start"),
        ([('severity = "medium"\nthreshold_cny = 50000', 'severity = "medium"\nthreshold_cny = 0')], "patterns.same_day_cash.threshold_cny: 0"),
        ([('severity = "high"\nmin_amount_cny = 0', 'severity = "high"\ncountries = []\nmin_amount_cny = 0')], "patterns.high_risk_jurisdiction: no countries"),
        ([("min_industry_points = 20", "min_industry_points = 50")], "factors[11].min_industry_points: above every industry's points"),
        ([('severity = "high"', 'severity = "medium"')], "hard_rules.repeated_reports: no enabled pattern raises high or critical alerts"),
        # a rule window the trail does not cover
        ([("window_hours = 48", "window_hours = 96")], "patterns.rapid_in_out.window_hours: longer than the trail horizon"),
    ],
)
def test_each_warning(edits, expected):
    warnings = warnings_for(*edits)
    assert [w for w in warnings if w.startswith(expected)], warnings


def test_the_trail_horizon_is_the_workers():
    edit = ("window_hours = 48", "window_hours = 96")
    assert warnings_for(edit, trail_horizon_hours=120) == []


def test_a_disabled_rule_is_not_warned_about():
    assert warnings_for(("night_start = 0\nnight_end = 5", "enabled = false\nnight_start = 3\nnight_end = 3")) == []


# --- large-value thresholds, structuring and the timezone (PBoC Order [2016] No. 3 art. 5) --------

RULES = "# rules.0501 = { cny = 50000, usd = 10000 } ... override the PBOC thresholds here if needed"
STRUCTURING = 'severity = "high"\nthreshold_cny = 50000\nnear_ratio'
ART_5 = {  # code: (cny, usd) as art. 5 sets them
    "0501": (50_000, 10_000),
    "0502": (2_000_000, 200_000),
    "0503": (500_000, 100_000),
    "0504": (200_000, 10_000),
}


def test_the_packaged_thresholds_are_art_5s():
    from factors.large_value import DEFAULT_RULES

    assert {r.code: (r.cny, r.usd) for r in DEFAULT_RULES} == ART_5


def test_thresholds_equal_to_art_5_are_no_warning():
    rules = "\n".join(f"rules.{code} = {{ cny = {cny}, usd = {usd} }}" for code, (cny, usd) in ART_5.items())
    assert warnings_for((RULES, rules)) == []


@pytest.mark.parametrize("code", sorted(ART_5))
@pytest.mark.parametrize("currency", ["cny", "usd"])
@pytest.mark.parametrize(("factor", "word", "effect"), [(0.1, "below", "reported too"), (10.0, "above", "are missed")])
def test_a_threshold_other_than_art_5s_is_a_warning_that_says_which_way(code, currency, factor, word, effect):
    cny, usd = ART_5[code]
    value = (cny if currency == "cny" else usd) * factor
    warnings = warnings_for((RULES, f"rules.{code} = {{ {currency} = {value} }}"))
    [warning] = [w for w in warnings if w.startswith("large_value.")]  # (a lower cash line also warns about structuring)
    item = int(code[-1])
    assert warning.startswith(f"large_value.rules.{code}.{currency}: {word} the line of PBoC Order [2016] No. 3 art. 5({item}) (") and effect in warning
    assert f"{value:,.0f}" not in warning and str(value) not in warning  # the figure found is never shown; art. 5's is public


@pytest.mark.parametrize(
    ("structuring", "line", "warned"),
    [
        (5_000_000, None, True),  # finding 25: far above the cash line
        (50_001, None, True),
        (50_000, None, False),  # the line itself: each leg stays under it
        (40_000, None, False),
        (50_000, 30_000, True),  # a lowered cash line moves the limit with it
        (30_000, 30_000, False),
    ],
)
def test_a_structuring_threshold_above_the_cash_line_is_a_warning(structuring, line, warned):
    edits = [(STRUCTURING, STRUCTURING.replace("50000", str(structuring)))]
    if line is not None:
        edits.append((RULES, f"rules.0501 = {{ cny = {line} }}"))
    warnings = [w for w in warnings_for(*edits) if w.startswith("patterns.structuring.threshold_cny")]
    assert bool(warnings) == warned, warnings
    assert not warnings or "above the cash large-value line" in warnings[0]


@pytest.mark.parametrize(("threshold", "warned"), [(5_000_000, True), (50_001, True), (50_000, False), (20_000, False)])
def test_a_same_day_cash_threshold_above_the_cash_line_is_a_warning(threshold, warned):
    edit = ('severity = "medium"\nthreshold_cny = 50000', f'severity = "medium"\nthreshold_cny = {threshold}')
    expected = ["patterns.same_day_cash.threshold_cny: above the cash large-value line (large_value 0501, CNY): a day whose cash reaches the line raises no alert"]
    assert warnings_for(edit) == (expected if warned else [])


def test_a_disabled_structuring_rule_is_not_warned_about():
    assert warnings_for((STRUCTURING, 'severity = "high"\nenabled = false\nthreshold_cny = 5000000\nnear_ratio')) == []


@pytest.mark.parametrize(("zone", "warned"), [("UTC", True), ("Asia/Hong_Kong", True), ("Asia/Urumqi", True), ("Asia/Shanghai", False), ("Asia/Chongqing", False)])
def test_a_timezone_other_than_beijing_time_is_a_warning(zone, warned):
    warnings = warnings_for(('timezone = "Asia/Shanghai"', f'timezone = "{zone}"'))
    assert warnings == (["timezone: " + warnings[0].split(": ", 1)[1]] if warned else [])
    assert not warned or "not Beijing time (Asia/Shanghai)" in warnings[0]


def test_the_workers_timezone_override_is_judged_instead_of_the_file():
    utc = parse_standard(default_text().replace('timezone = "Asia/Shanghai"', 'timezone = "UTC"').encode())
    assert [str(w) for w in lint(utc, timezone_override="Asia/Shanghai")] == []
    [warning] = [str(w) for w in lint(parse_standard(default_text().encode()), timezone_override="UTC")]
    assert warning.startswith("AMLSTREAM_TIMEZONE: not Beijing time")
