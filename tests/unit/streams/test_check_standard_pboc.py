"""`amlstream check-standard` on the values of finding 25: large-value thresholds far from PBoC
Order [2016] No. 3 art. 5, a structuring threshold above the cash line and a UTC business day
were accepted with 0 warnings. In-process through `cli.main` (the real entry point's code)."""

from __future__ import annotations

import os

import pytest

from streams import cli
from tests.standard_mutations import default_text

RULES = "# rules.0501 = { cny = 50000, usd = 10000 } ... override the PBOC thresholds here if needed"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("AMLSTREAM_"):
            monkeypatch.delenv(name)


def check(tmp_path, capsys, *edits: tuple[str, str]) -> tuple[int, list[str]]:
    text = default_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "standard.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    code = cli.main(["check-standard", str(path)])
    return code, capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("value", ["0.001", "5e11", "0", "-1"])
def test_thresholds_that_cannot_be_meant_are_errors(tmp_path, capsys, value):
    code, lines = check(tmp_path, capsys, (RULES, f"rules.0501 = {{ cny = {value} }}"))
    assert code == 2
    assert lines[0] == "error: large_value.rules.0501.cny: expected a number from 0.01 to 1,000,000,000"


def test_the_findings_legal_values_each_draw_a_warning(tmp_path, capsys):
    code, lines = check(
        tmp_path,
        capsys,
        (RULES, "rules.0501 = { cny = 5000 }"),
        ('severity = "medium"\nthreshold_cny = 50000', 'severity = "medium"\nthreshold_cny = 5000000'),  # the finding's file: same_day_cash
        ('severity = "high"\nthreshold_cny = 50000\nnear_ratio', 'severity = "high"\nthreshold_cny = 5000000\nnear_ratio'),
        ('timezone = "Asia/Shanghai"', 'timezone = "UTC"'),
    )
    assert code == 0 and lines[0].endswith("4 warnings"), lines
    paths = ["timezone", "large_value.rules.0501.cny", "patterns.same_day_cash.threshold_cny", "patterns.structuring.threshold_cny"]
    assert [line.split(": ", 2)[1] for line in lines[1:]] == paths
    assert all(line.startswith("warning: ") for line in lines[1:])
    assert "5,000" not in "\n".join(lines) and "5000000" not in "\n".join(lines)  # the bank's figures are never printed


def test_the_workers_timezone_is_judged(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("AMLSTREAM_TIMEZONE", "UTC")
    code, lines = check(tmp_path, capsys)
    assert code == 0 and lines[1:] == [
        "note: model_version also covers AMLSTREAM_TIMEZONE=UTC (not the default)",
        "warning: AMLSTREAM_TIMEZONE: not Beijing time (Asia/Shanghai): the large-value rules (PBoC Order [2016] No. 3 art. 5) count by business day (当日), "
        "the calendar day in Beijing time; reports and same-day totals would fall on other days",
    ]
