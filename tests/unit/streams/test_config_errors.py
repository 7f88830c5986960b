"""No traceback reaches an operator for a configuration or setting mistake: every command that
loads the standard or the settings exits 2 with one line per problem naming where it is.

In-process (`cli.main`) for the whole mutation list under every command; a few real subprocesses
prove the same of the installed entry point. None of these commands reaches Kafka or Redis: the
standard and the settings are checked first.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from factors.catalog import FACTORS
from factors.patterns import PARAMS
from factors.standard import DEFAULT_STANDARD_PATH
from streams import cli
from tests.standard_mutations import MUTATIONS, Mutation, mutated

ROOT = Path(__file__).resolve().parents[3]
SECRET = "s3cret-pw"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("AMLSTREAM_"):
            monkeypatch.delenv(name)


def private(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def commands(standard: Path, tmp: Path) -> dict[str, list[str]]:
    return {
        "worker": ["worker"],
        "replay": ["replay", "--transactions", str(tmp / "none.jsonl"), "--out", str(tmp / "out"), "--config", str(standard)],
        "backtest": ["backtest", "--transactions", str(tmp / "none.jsonl"), "--config", str(DEFAULT_STANDARD_PATH), "--config", str(standard), "--out", str(tmp / "bt")],
        "rescore-all": ["rescore-all"],
    }


def run(argv: list[str], capsys) -> tuple[int, list[str]]:
    code = cli.main(argv)
    err = capsys.readouterr().err
    return code, err.splitlines()


@pytest.mark.parametrize("command", ["worker", "replay", "backtest", "rescore-all"])
@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.id)
def test_a_bad_standard_exits_2_naming_its_toml_path(command: str, mutation: Mutation, tmp_path, monkeypatch, capsys):
    standard = private(tmp_path / "standard.toml", mutated(mutation))
    monkeypatch.setenv("AMLSTREAM_MODEL_CONFIG", str(standard))
    code, lines = run(commands(standard, tmp_path)[command], capsys)
    assert code == 2
    assert lines == [f"amlstream: model config {standard}: {lines[0].split(': ', 2)[2]}"], lines
    assert lines[0].split(": ", 3)[2] == mutation.path
    if mutation.secret:
        assert mutation.secret not in lines[0].replace(str(standard), "FILE")


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.id)
def test_check_standard_names_each_mistake(mutation: Mutation, tmp_path, capsys):
    standard = private(tmp_path / "standard.toml", mutated(mutation))
    code = cli.main(["check-standard", str(standard)])
    lines = capsys.readouterr().out.splitlines()
    assert code == 2 and lines[-1] == f"{standard}: refused, 1 problem"
    assert len(lines) == 2 and lines[0].startswith(f"error: {mutation.path}: "), lines


@pytest.mark.parametrize("command", ["worker", "replay", "backtest", "rescore-all", "reviews-due", "peer-baselines", "tail", "create-topics"])
@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("AMLSTREAM_TIMEZONE", "Asia/Shanghia", "AMLSTREAM_TIMEZONE='Asia/Shanghia': expected an IANA timezone name"),
        ("AMLSTREAM_BATCH_SIZE", "500 messages", "AMLSTREAM_BATCH_SIZE='500 messages': expected an integer"),
        ("AMLSTREAM_SESSION_TIMEOUT_S", "10s", "AMLSTREAM_SESSION_TIMEOUT_S='10s': expected a number"),
        ("AMLSTREAM_ALLOW_READABLE_MODEL", "maybe", "AMLSTREAM_ALLOW_READABLE_MODEL='maybe': expected 1 or 0"),
        ("AMLSTREAM_KAFKA_SECURITY_PROTOCOL", "TLS", "AMLSTREAM_KAFKA_SECURITY_PROTOCOL='TLS': one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"),
        ("AMLSTREAM_METRICS_PORT", "99999", "AMLSTREAM_METRICS_PORT='99999': out of range"),
        ("AMLSTREAM_REDIS_URL", f"http://amlstream:{SECRET}@redis:6379/0", "AMLSTREAM_REDIS_URL: expected a redis://, rediss:// or unix:// URL"),
        ("AMLSTREAM_TOPIC_TRANSACTION", "aml.tx", "AMLSTREAM_TOPIC_TRANSACTION='aml.tx': unknown variable; expected one of AMLSTREAM_TOPIC_TRANSACTIONS"),
    ],
)
def test_a_bad_setting_exits_2_with_one_line(command, variable, value, expected, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(variable, value)
    code, lines = run(commands(DEFAULT_STANDARD_PATH, tmp_path).get(command, [command]), capsys)
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith(f"amlstream: {expected}"), lines
    assert SECRET not in lines[0]


def test_every_bad_setting_is_reported_at_once(monkeypatch, capsys):
    monkeypatch.setenv("AMLSTREAM_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("AMLSTREAM_BATCH_SIZE", "0")
    monkeypatch.setenv("AMLSTREAM_KAFKA_SASL_PASSWORD", SECRET)
    monkeypatch.setenv("AMLSTREAM_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    code, lines = run(["worker"], capsys)
    assert code == 2 and len(lines) == 3, lines
    assert lines == [
        "amlstream: AMLSTREAM_TIMEZONE='Mars/Olympus': expected an IANA timezone name such as Asia/Shanghai",
        "amlstream: AMLSTREAM_BATCH_SIZE='0': out of range: expected a value at least 1",
        "amlstream: AMLSTREAM_KAFKA_SASL_USERNAME and AMLSTREAM_KAFKA_SASL_PASSWORD are required with SASL_SSL",
    ]
    assert SECRET not in "\n".join(lines)


# --- the real entry point ------------------------------------------------------------------------


def amlstream(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AMLSTREAM_")}
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], env=base | env, capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_check_standard_accepts_the_default_with_a_one_line_summary():
    result = amlstream("check-standard", str(DEFAULT_STANDARD_PATH))
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    summary = f"{len(FACTORS)} factors, {len(PARAMS)} pattern rules ({len(PARAMS)} enabled), 0 warnings"
    assert line.startswith(f"{DEFAULT_STANDARD_PATH}: valid, default-2026.11+") and summary in line


def test_check_standard_lists_every_problem_and_no_value(tmp_path):
    bad = private(tmp_path / "bad.toml", mutated(*MUTATIONS))
    result = amlstream("check-standard", str(bad))
    assert result.returncode == 2 and "Traceback" not in result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert sorted(line.split(": ", 2)[1] for line in lines[:-1]) == sorted(m.path for m in MUTATIONS)
    assert all(line.startswith("error: ") for line in lines[:-1]) and lines[-1] == f"{bad}: refused, {len(MUTATIONS)} problems"
    shown = result.stdout.replace(str(bad), "FILE")
    for m in MUTATIONS:
        assert not m.secret or m.secret not in shown, m.id


def test_check_standard_warns_but_passes(tmp_path):
    text = mutated().replace("night_start = 0\nnight_end = 5", "night_start = 3\nnight_end = 3")
    readable = tmp_path / "readable.toml"
    readable.write_text(text, encoding="utf-8")
    readable.chmod(0o644)
    result = amlstream("check-standard", str(readable))
    assert result.returncode == 0, result.stdout
    summary, *warnings = result.stdout.splitlines()
    assert summary.endswith("2 warnings")
    assert warnings == [
        "warning: patterns.night_burst.night_end: equal to night_start: no night hours, the rule never fires",
        "warning: the file is readable by other users: a worker refuses it (chmod 600, or AMLSTREAM_ALLOW_READABLE_MODEL=1)",
    ]


def test_check_standard_on_a_missing_file(tmp_path):
    result = amlstream("check-standard", str(tmp_path / "nope.toml"))
    assert result.returncode == 2 and result.stdout.startswith("error: model config ") and "cannot read" in result.stdout


@pytest.mark.parametrize("command", ["worker", "replay", "backtest", "rescore-all"])
def test_no_traceback_from_the_entry_point(command, tmp_path):
    bad = private(tmp_path / "bad.toml", mutated(*MUTATIONS))
    result = amlstream(*commands(bad, tmp_path)[command], AMLSTREAM_MODEL_CONFIG=str(bad))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == len(MUTATIONS) and all(line.startswith(f"amlstream: model config {bad}: ") for line in lines), result.stderr


def test_a_bad_timezone_setting_is_one_line_not_a_traceback():
    result = amlstream("worker", AMLSTREAM_TIMEZONE="Asia/Beijing")
    assert result.returncode == 2 and result.stderr == "amlstream: AMLSTREAM_TIMEZONE='Asia/Beijing': expected an IANA timezone name such as Asia/Shanghai\n"


def test_check_standard_warns_of_a_misspelt_variable_without_its_value():
    result = amlstream("check-standard", str(DEFAULT_STANDARD_PATH), AMLSTREAM_BATCHSIZE="secret-ish-500")
    assert result.returncode == 0, result.stdout
    summary, *warnings = result.stdout.splitlines()
    assert summary.endswith("1 warning")
    assert warnings == ["warning: AMLSTREAM_BATCHSIZE: unknown variable (did you mean AMLSTREAM_BATCH_SIZE?); a worker refuses to start with it"]
    assert "secret-ish" not in result.stdout + result.stderr
