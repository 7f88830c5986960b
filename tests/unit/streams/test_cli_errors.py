"""An operator's mistake or an unreachable service ends every command with one line on stderr and
exit 2 (settings, arguments, files named on the command line) or 1 (a service at run time), never
a traceback. In-process (`cli.main`) for each case, one real subprocess for the entry point.
Nothing here needs Kafka or Redis: the unreachable ones are ports nothing listens on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from streams import cli
from streams.errors import ConfigError
from streams.settings import OTHER_VARIABLES, load_settings, variables

ROOT = Path(__file__).resolve().parents[3]
NOWHERE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1
LEG = {"tx_id": "T-1", "customer_id": "C-1", "ts": "2026-11-02T10:00:00+08:00", "direction": "in", "amount": "100.00", "currency": "CNY", "method": "cash"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("AMLSTREAM_"):
            monkeypatch.delenv(name)


@pytest.fixture
def legs(tmp_path) -> Path:
    path = tmp_path / "legs.jsonl"
    path.write_bytes(orjson.dumps(LEG) + b"\n")
    return path


def run(argv: list[str], capsys) -> tuple[int, list[str]]:
    try:
        code = cli.main(argv)
    except SystemExit as exited:  # argparse's own exit
        code = exited.code  # type: ignore[assignment]
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return code, captured.err.splitlines()


def test_replay_with_an_unreachable_redis_is_one_line_exit_1(legs, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AMLSTREAM_REDIS_URL", NOWHERE_REDIS)
    code, lines = run(["replay", "--transactions", str(legs), "--out", str(tmp_path / "out")], capsys)
    assert code == 1 and len(lines) == 1 and lines[0].startswith(f"amlstream: Redis at {NOWHERE_REDIS}: ConnectionError"), lines


def test_reviews_due_with_an_unreachable_redis_is_one_line_exit_1(monkeypatch, capsys):
    monkeypatch.setenv("AMLSTREAM_REDIS_URL", "redis://svc:hunter2@127.0.0.1:1/0")
    code, lines = run(["reviews-due"], capsys)
    assert code == 1 and len(lines) == 1 and lines[0].startswith("amlstream: Redis at redis://svc:***@127.0.0.1:1/0: "), lines


def test_replay_out_naming_a_file_is_a_usage_error(legs, tmp_path, capsys):
    out = tmp_path / "a-file"
    out.write_text("x")
    code, lines = run(["replay", "--transactions", str(legs), "--out", str(out)], capsys)
    assert (code, lines) == (2, [f"amlstream: {out}: File exists (a directory is expected here)"])


def test_replay_without_redis_server_says_what_to_install(legs, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    code, lines = run(["replay", "--transactions", str(legs), "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and len(lines) == 1 and "no redis-server on PATH" in lines[0] and "AMLSTREAM_REDIS_URL" in lines[0], lines


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["generate", "--customers", "-3", "--days", "2"], "amlstream generate: error: argument --customers: expected an integer of at least 1, got -3"),
        (["generate", "--customers", "3", "--days", "0"], "amlstream generate: error: argument --days: expected an integer of at least 1, got 0"),
        (["generate", "--customers", "many", "--days", "2"], "amlstream generate: error: argument --customers: expected an integer, got 'many'"),
        (["generate", "--customers", "3", "--days", "100000"], "amlstream: --days 100000 from 2026-08-01 runs past 2100-12-31"),
        (["create-topics", "--partitions", "0"], "amlstream create-topics: error: argument --partitions: expected an integer of at least 1, got 0"),
        (["produce", "--from", ".", "--rate", "-5"], "amlstream produce: error: argument --rate: expected a number above 0, got -5"),
        (["replay", "--out", "x"], "amlstream replay: error: one of the arguments --transactions --messages is required"),
        *(
            (["network-replay", "--transactions", "t.jsonl", "--out", "o", *extra], f"amlstream network-replay: error: argument {expected}")
            for extra, expected in (
                (["--map", "cycle"], "--map: expected GEN=PATTERN (a label typology name = a network pattern id), got 'cycle'"),
                (["--map", "cycle=nonexistent_rule"], "--map: 'nonexistent_rule' is not a network pattern id; expected one of closed_group, "),
                (["--map", "cycle=network_cycel"], "--map: 'network_cycel' is not a network pattern id (did you mean network_cycle?)"),
                (["--warmup-days", "-3"], "--warmup-days: expected a number of at least 0, got -3"),
                (["--warmup-days", "nan"], "--warmup-days: expected a number of at least 0, got nan"),
            )
        ),
        *(
            (
                ["check-standard", "s.toml", f"--trail-horizon-hours={hours}"],
                f"amlstream check-standard: error: argument --trail-horizon-hours: {expected}, got '{hours}'",
            )
            for hours, expected in (
                ("0", "out of range: expected a value at least 1"),
                ("-5", "out of range: expected a value at least 1"),
                ("100000", "out of range: expected a value at most 2160"),  # AMLSTREAM_TRAIL_HORIZON_HOURS's bounds
                ("1.5", "expected an integer"),
            )
        ),
    ],
)
def test_bad_arguments_are_one_line_exit_2(argv, expected, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative --out paths, should a case get that far, land here
    argv = [*argv, "--out", str(tmp_path / "g")] if argv[0] == "generate" else argv
    code, lines = run(argv, capsys)
    assert code == 2 and len(lines) == 1 and lines[0].startswith(expected), lines
    assert not (tmp_path / "g" / "transactions.jsonl").exists()


@pytest.mark.parametrize(
    ("name", "line", "problem"),
    [
        ("customers.jsonl", b'{"customer_id": "X"', "customers.jsonl line 2: not JSON (unexpected end of data"),
        ("customers.jsonl", b"[1, 2]", "customers.jsonl line 2: not a JSON object but list"),
        ("transactions.jsonl", orjson.dumps({**LEG, "customer_id": None}), "transactions.jsonl line 2: no customer_id string (the message key)"),
        ("transactions.jsonl", orjson.dumps({**LEG, "customer_id": 17}), "transactions.jsonl line 2: no customer_id string (the message key)"),
    ],
)
def test_produce_checks_every_line_before_it_sends_anything(name, line, problem, tmp_path, monkeypatch, capsys):
    """The broker is unreachable: a bad line must be found before produce connects to it, so
    nothing of either file was sent (before the check: the customers up to the bad line were)."""
    monkeypatch.setenv("AMLSTREAM_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    good = {"customers.jsonl": orjson.dumps({"customer_id": "C-1", "kind": "individual"}), "transactions.jsonl": orjson.dumps(LEG)}
    for file, first in good.items():
        (tmp_path / file).write_bytes(first + b"\n" + (line + b"\n" if file == name else b""))
    code, lines = run(["produce", "--from", str(tmp_path)], capsys)
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"amlstream: {tmp_path}/{problem}"), lines


@pytest.mark.parametrize(
    ("line", "problem"), [(b'{"customer_id": "X"', "not JSON"), (b"[1]", "not a JSON object but list"), (b'{"tx_id": 1}', "'customer_id' is missing")]
)
def test_iso20022_render_of_a_bad_leg_is_one_line_exit_2(line, problem, tmp_path, capsys):
    source = tmp_path / "legs.jsonl"
    source.write_bytes(orjson.dumps(LEG) + b"\n" + line + b"\n")
    code, lines = run(["iso20022", "render", "--transactions", str(source), "--out", str(tmp_path / "iso")], capsys)
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"amlstream: cannot render: {source} line 2: {problem}"), lines


def test_a_value_error_of_a_command_is_one_line_not_a_traceback(monkeypatch, capsys):
    """A ValueError (orjson's JSONDecodeError is one) outside the argument checks is a defect: one line, exit 1."""

    async def broken(*args):
        raise orjson.JSONDecodeError("unexpected end of data", '{"x"', 4)

    monkeypatch.setattr(cli, "create_topics", broken)
    code, lines = run(["create-topics"], capsys)
    assert (code, lines) == (
        1,
        ["amlstream: create-topics failed: JSONDecodeError: unexpected end of data: line 1 column 5 (char 4) (AMLSTREAM_LOG_LEVEL=debug shows the traceback)"],
    )


def test_produce_from_a_directory_without_the_files_is_one_line_exit_2(tmp_path, capsys):
    code, lines = run(["produce", "--from", str(tmp_path)], capsys)
    assert (code, lines) == (2, [f"amlstream: {tmp_path}: has neither customers.jsonl nor transactions.jsonl"])


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"AMLSTREAM_BATCHSIZE": "100"}, ["amlstream: AMLSTREAM_BATCHSIZE: unknown variable (did you mean AMLSTREAM_BATCH_SIZE?)"]),
        ({"AMLSTREAM_RETAIN_DAY": "30"}, ["amlstream: AMLSTREAM_RETAIN_DAY: unknown variable (did you mean AMLSTREAM_RETAIN_DAYS?)"]),
        ({"AMLSTREAM_KAFKA_SASL_PASWORD": "hunter2"}, ["amlstream: AMLSTREAM_KAFKA_SASL_PASWORD: unknown variable (did you mean AMLSTREAM_KAFKA_SASL_PASSWORD?)"]),
        ({"AMLSTREAM_FILINGS_OUTBXO": "out"}, ["amlstream: AMLSTREAM_FILINGS_OUTBXO: unknown variable (did you mean AMLSTREAM_FILINGS_OUTBOX?)"]),
        (
            {"AMLSTREAM_TOPIC_TRANSACTIONS": "bad topic!"},
            ["amlstream: AMLSTREAM_TOPIC_TRANSACTIONS='bad topic!': expected a Kafka topic name: 1-249 characters of a-z, A-Z, 0-9, '.', '_' and '-'"],
        ),
    ],
)
@pytest.mark.parametrize("command", [["reviews-due"], ["worker"], ["generate", "--customers", "1", "--days", "1", "--out", "OUT"]])
def test_unknown_variables_and_bad_topic_names_are_refused_by_every_command(env, expected, command, tmp_path, monkeypatch, capsys):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, lines = run([str(tmp_path / "g") if a == "OUT" else a for a in command], capsys)
    assert (code, lines) == (2, expected)
    assert "hunter2" not in "\n".join(lines)


def test_topic_names_follow_kafkas_rules():
    for good in ("aml.transactions.v1", "A_b-C.9", "x" * 249):
        assert load_settings({"AMLSTREAM_TOPIC_TRANSACTIONS": good}).topics.transactions == good
    for bad in ("x" * 250, ".", "..", "aml/transactions", "aml:tx", "交易"):
        with pytest.raises(ConfigError, match=r"Kafka topic name|at most 249"):
            load_settings({"AMLSTREAM_TOPIC_TRANSACTIONS": bad})


def test_every_amlstream_variable_the_repository_reads_is_known():
    """The allow-list is derived from the code: each AMLSTREAM_* name in the sources, scripts and
    manifests is a setting or one of OTHER_VARIABLES (the deliberately wrong names of the error
    tests aside), and every allow-listed name is still read somewhere."""
    import re

    wrong = {"AMLSTREAM_TOPIC_TRANSACTION", "AMLSTREAM_TOPIC_DEADLETTER", "AMLSTREAM_BATCHSIZE", "AMLSTREAM_RETAIN_DAY"}
    wrong |= {"AMLSTREAM_KAFKA_SASL_PASWORD", "AMLSTREAM_FILINGS_OUTBXO"}
    skip = {".git", ".venv", "amlstream.egg-info", ".local", ".ruff_cache", ".hypothesis", "__pycache__"}
    found: dict[str, set[str]] = {}
    for path in ROOT.rglob("*"):
        if not path.is_file() or skip & set(path.relative_to(ROOT).parts) or path.suffix in (".pyc", ".jar", ".gz", ".zip"):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for name in re.findall(r"AMLSTREAM_[A-Z0-9_]*[A-Z0-9]", text):
            found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    prefixes = {n for n in found if any(other.startswith(n + "_") for other in variables())}  # "AMLSTREAM_TOPIC_*"-style mentions
    unknown = {n: sorted(where) for n, where in found.items() if n not in variables() and n not in wrong and n not in prefixes}
    assert not unknown, f"AMLSTREAM_* names that load_settings would refuse: {unknown}"
    elsewhere = {n for n, where in found.items() if where - {"streams/settings.py"}}
    assert not OTHER_VARIABLES - elsewhere, f"allow-listed but read nowhere: {sorted(OTHER_VARIABLES - elsewhere)}"


def test_the_entry_point_prints_one_line_not_a_traceback(legs, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMLSTREAM_")} | {"AMLSTREAM_REDIS_URL": NOWHERE_REDIS}
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", "replay", "--transactions", str(legs), "--out", str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr
