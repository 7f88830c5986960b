"""The typed standard refuses ordinary typing mistakes, naming each one's TOML path and what was
expected, all of a file at once, and never the value it found (the standard is confidential)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from factors.errors import StandardError
from factors.standard import parse_standard
from tests.standard_mutations import MUTATIONS, Mutation, default_text, mutated

DEFAULT = parse_standard(default_text().encode())


def problems(text: str) -> list[str]:
    with pytest.raises(StandardError) as err:
        parse_standard(text.encode())
    return [str(p) for p in err.value.problems]


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.id)
def test_each_mistake_is_refused_with_its_toml_path_and_without_its_value(mutation: Mutation):
    lines = problems(mutated(mutation))
    assert [line.split(": ", 1)[0] for line in lines] == [mutation.path], lines
    assert lines[0].split(": ", 1)[1].strip(), "a problem says what was expected"
    if mutation.secret:
        assert mutation.secret not in "\n".join(lines)


def test_every_mistake_of_a_file_is_reported_at_once():
    lines = problems(mutated(*MUTATIONS))
    assert sorted(line.split(": ", 1)[0] for line in lines) == sorted(m.path for m in MUTATIONS)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("version = ", "versoin = ", ["version: missing: this key is required", "versoin: unknown section (did you mean version?)"]),
        (
            '[[levels]]\nlevel = "watch"\ndisplay = "关注"\nmin_score = 30',
            '[[levels]]\nlevel = "watch"\ndisplay = "关注"\nmin_score = 0',
            ["levels[1].min_score: min_score must be strictly ascending"],
        ),
        ('CNY = "1"', 'CNY = "2"', ["fx.cny_per_unit: CNY must be present with rate 1"]),
        (
            'id = "cash_volume_30d"\nbands = [{ min = 0, points = 0 }, { min = 100000, points = 10 }, { min = 500000, points = 25 }, { min = 2000000, points = 40 }]',
            'id = "cash_volume_30d"',
            ["factors[15].bands: required: the factor measures CNY, which its bands turn into points"],
        ),
        ('id = "listed"', 'id = "pep"', ["factors[5].id: each factor may appear once"]),
        (
            "balance_low = 0.8\nbalance_high = 1.2\n\n[patterns.fan_out]",
            "balance_low = 1.5\nbalance_high = 1.2\n\n[patterns.fan_out]",
            ["patterns.fan_in: balance_low must not exceed balance_high (the rule could never fire)"],
        ),
        ("points = { default = 10,", "points = { defualt = 10,", ["factors[25].points: keys must be pattern ids or default; unknown: defualt"]),
        (
            "bands = [{ min = 0, points = 5 }, { min = 6, points = 2 }",
            "bands = [{ min = 6, points = 5 }, { min = 0, points = 2 }",
            ["factors[13].bands: band limits (min) must be strictly ascending"],
        ),
        ('consolidate = ["*"]', 'consolidate = ["al"]', ["alerts.consolidate[0]: expected one of"]),
        ('unknown_profile_kind = "individual"', 'unknown_profile_kind = "person"', ["large_value.unknown_profile_kind: expected one of 'individual' or 'entity'"]),
    ],
)
def test_cross_checks_and_closed_choices(old, new, expected):
    text = default_text()
    assert text.count(old) == 1, old
    lines = problems(text.replace(old, new))
    assert len(lines) == len(expected), lines
    for line, start in zip(sorted(lines), sorted(expected), strict=True):
        assert line.startswith(start), (line, start)


def test_not_toml_and_not_utf8():
    assert problems("version = ")[0].startswith("not valid TOML: ")
    with pytest.raises(StandardError, match="not UTF-8"):
        parse_standard(b"\xff\xfe")


def test_the_models_are_frozen_and_typed():
    with pytest.raises(ValidationError):
        DEFAULT.hysteresis.downgrade_cooling_days = 1  # type: ignore[misc]
    assert DEFAULT.patterns["structuring"].threshold_cny == 50_000.0 and isinstance(DEFAULT.patterns["structuring"].min_count, int)
    assert DEFAULT.hysteresis.downgrade_cooling_days == 30.0 and DEFAULT.large_value.unknown_profile_kind == "individual"
    assert DEFAULT.patterns["high_risk_jurisdiction"].countries == tuple(sorted(DEFAULT.high_risk_countries))  # injected from the lists


def test_a_pattern_without_a_table_does_not_run_and_the_file_order_is_kept():
    text = default_text()
    start, end = text.index("[patterns.same_day_cash]"), text.index("[patterns.structuring]")
    moved = text[:start] + text[end:] + "\n" + text[start:end]
    standard = parse_standard(moved.encode())
    assert list(standard.patterns.configured())[-1] == "same_day_cash"
    without = parse_standard((text[:start] + text[end:]).encode())
    assert "same_day_cash" not in without.patterns and len(without.active_patterns) == 12


RULES = "# rules.0501 = { cny = 50000, usd = 10000 } ... override the PBOC thresholds here if needed"


@pytest.mark.parametrize(
    ("value", "currency"),
    [("0", "cny"), ("-50000", "cny"), ("0.001", "cny"), ("5e11", "cny"), ("1000000001", "cny"), ("0.009", "usd"), ("100000001", "usd"), ("5e11", "usd")],
)
def test_a_large_value_threshold_that_cannot_be_meant_is_refused(value, currency):
    text = default_text().replace(RULES, f"rules.0501 = {{ {currency} = {value} }}")
    with pytest.raises(StandardError) as err:
        parse_standard(text.encode())
    upper = "1,000,000,000" if currency == "cny" else "100,000,000"
    assert [str(p) for p in err.value.problems] == [f"large_value.rules.0501.{currency}: expected a number from 0.01 to {upper}"]


@pytest.mark.parametrize(("value", "currency"), [("0.01", "cny"), ("5000", "cny"), ("1e9", "cny"), ("0.01", "usd"), ("1e8", "usd")])
def test_a_large_value_threshold_within_the_bounds_is_legal(value, currency):
    text = default_text().replace(RULES, f"rules.0501 = {{ {currency} = {value} }}")
    assert getattr(parse_standard(text.encode()).large_value.rules["0501"], currency) == float(value)
