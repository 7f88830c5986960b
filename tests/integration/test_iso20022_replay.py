"""Replaying a generated stream as ISO 20022 messages gives exactly the outputs of replaying the
JSON stream: every event, event_id and content (but emitted_at)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]
OUTPUTS = ("risk-changes.jsonl", "suspicious-patterns.jsonl", "large-value-reports.jsonl", "dead-letter.jsonl")


def amlstream(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMLSTREAM_")}  # replay starts a throwaway redis-server
    result = subprocess.run([sys.executable, "-m", "streams.cli", *args], env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return result.stdout


def events(directory: Path) -> list[bytes]:
    out = []
    for name in OUTPUTS:
        for line in (directory / name).read_bytes().splitlines():
            event = orjson.loads(line)
            event.pop("emitted_at")
            out.append(orjson.dumps(event, option=orjson.OPT_SORT_KEYS))
    return sorted(out)


def test_replay_of_the_iso20022_rendering_equals_replay_of_the_json_stream(tmp_path):
    gen, iso = tmp_path / "gen", tmp_path / "iso"
    amlstream("generate", "--customers", "150", "--days", "8", "--seed", "5", "--out", str(gen))
    amlstream("iso20022", "render", "--from", str(gen), "--out", str(iso))
    common = ["--customers", str(gen / "customers.jsonl"), "--peer-baselines", "daily"]
    amlstream("replay", "--transactions", str(gen / "transactions.jsonl"), "--out", str(tmp_path / "json"), *common)
    iso_input = ["--format", "iso20022", "--transactions", str(iso / "messages"), "--accounts", str(iso / "accounts.jsonl")]
    amlstream("replay", *iso_input, "--out", str(tmp_path / "xml"), *common)

    summary = orjson.loads((tmp_path / "xml" / "iso20022-summary.json").read_bytes())
    legs = len((gen / "transactions.jsonl").read_bytes().splitlines())
    assert summary["legs"] == legs and summary["dead_letters"] == {}
    assert set(summary["messages"]) == {"pacs.008:mapped", "camt.054:mapped"}
    from_json, from_iso = events(tmp_path / "json"), events(tmp_path / "xml")
    kinds = {orjson.loads(e)["event_type"] for e in from_json}
    assert {"risk_change", "suspicious_pattern"} <= kinds  # the comparison covers more than first ratings
    assert from_iso == from_json
