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
