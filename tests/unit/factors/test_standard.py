from __future__ import annotations

from decimal import Decimal

import pytest

from factors.bands import Bands
from factors.errors import StandardError
from factors.standard import DEFAULT_STANDARD_PATH, parse_standard


def parse(text: str):
    return parse_standard(text.encode())


BASE = """
version = "t1"
timezone = "Asia/Shanghai"
[fx]
as_of = "2026-01-01"
[fx.cny_per_unit]
CNY = "1"
USD = "7"
[[levels]]
level = "normal"
min_score = 0
[[levels]]
level = "watch"
min_score = 30
[hard_rules]
listed = "watch"
pep = "watch"
ownership_opaque = ""
repeated_reports = ""
"""

THREE_LEVELS = """
version = "t3"
timezone = "Asia/Shanghai"
levels = [
  { level = "low", code = "12", min_score = 0 },
  { level = "medium", code = "11", min_score = 40 },
  { level = "high", code = "10", min_score = 70 },
]
[fx]
as_of = "2026-01-01"
cny_per_unit = { CNY = "1", USD = "7" }
[hard_rules]
listed = "high"
pep = "medium"
ownership_opaque = "medium"
repeated_reports = "high"
"""


def test_default_standard_loads_with_four_levels_and_a_digest_version():
    standard = parse(DEFAULT_STANDARD_PATH.read_text())
    assert [c.level for c in standard.levels] == ["normal", "watch", "suspicious", "prohibited"]
    assert standard.model_version.startswith(standard.version + "+")
    assert standard.fx.to_fen(Decimal("10"), "USD") == 7100


def test_a_three_level_scheme_with_report_codes():
    standard = parse(THREE_LEVELS)
    assert [(c.level, c.code) for c in standard.levels] == [("low", "12"), ("medium", "11"), ("high", "10")]
    assert standard.level_for(69.9) == "medium" and standard.max_level("low", "high") == "high"


def test_hard_rules_must_name_levels_of_the_scheme():
    with pytest.raises(StandardError, match=r"hard_rules\.listed: not a level of this standard"):
        parse(THREE_LEVELS.replace('listed = "high"', 'listed = "prohibited"'))


def test_model_version_changes_with_any_byte_of_the_file():
    assert parse(BASE).model_version != parse(BASE + "\n# tuned\n").model_version


@pytest.mark.parametrize(
    ("score", "level"),
    [(0, "normal"), (29.99, "normal"), (30, "watch"), (59.99, "watch"), (60, "suspicious"), (89.99, "suspicious"), (90, "prohibited"), (500, "prohibited")],
)
def test_level_cut_offs_are_inclusive_lower_limits(score, level):
    assert parse(DEFAULT_STANDARD_PATH.read_text()).level_for(score) == level


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.replace('version = "t1"', ""), r"^version: missing"),
        (lambda s: s.replace("Asia/Shanghai", "Mars/Olympus"), r"^timezone: expected an IANA timezone"),
        (lambda s: s.replace('CNY = "1"', 'CNY = "2"'), r"^fx\.cny_per_unit: CNY must be present with rate 1"),
        (lambda s: s.replace('USD = "7"', 'USD = "-7"'), r"^fx\.cny_per_unit\.USD: expected .*above 0"),
        (lambda s: s.replace("min_score = 30", "min_score = 0"), r"^levels\[1\]\.min_score: min_score must be strictly ascending"),
        (lambda s: s + '\n[[factors]]\nid = "nope"\nbands = [{min = 0, points = 1}]\n', r"^factors\[0\]\.id: unknown factor id"),
        (lambda s: s + '\n[[factors]]\nid = "cash_volume_30d"\nbands = [{min = 5, points = 1}, {min = 1, points = 2}]\n', r"^factors\[0\]\.bands: .*strictly ascending"),
        (lambda s: s + "\n[patterns.same_day_cash]\nseverity = 'extreme'\n", r"^patterns\.same_day_cash\.severity: expected one of"),
        (lambda s: s + "\n[patterns.nope]\n", r"^patterns\.nope: unknown pattern rule"),
        (lambda s: s + "\n= broken", "not valid TOML"),
    ],
)
def test_invalid_standards_are_refused_with_the_offending_entry_named(edit, message):
    with pytest.raises(StandardError, match=message):
        parse(edit(BASE))


def test_bands_pick_the_highest_band_reached():
    bands = Bands.model_validate_json('[{"min": 0, "points": 0}, {"min": 10, "points": 5}, {"min": 20, "points": 9}]')
    assert bands.points_for(-1)[0] == 0
    assert bands.points_for(9.999)[0] == 0
    assert bands.points_for(10)[0] == 5
    assert bands.points_for(20)[0] == 9
    assert bands.points_for(1e9)[0] == 9
