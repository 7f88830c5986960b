"""The state records the late-arrival window it was built with; a worker or replay with a larger
one refuses to start (one line, exit 2), a smaller one is accepted and recorded (finding: raising
AMLSTREAM_RETAIN_DAYS on live state counted a resend twice and revised a day to a partial total).
On the real Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.errors import StateLayoutError
from streams.state import StateStore
from streams.state.store import LAYOUT, LAYOUT_KEY, RETAIN_KEY

ROOT = Path(__file__).resolve().parents[2]
TEST_DB = 15  # the integration tests' database (tests/integration/conftest.py)


async def recorded(redis) -> int | None:
    raw = await redis.get(RETAIN_KEY)
    return None if raw is None else int(raw)


async def test_a_fresh_state_records_the_window_it_is_built_with(redis):
    await StateStore(redis, retain_days=120).ensure_layout()
    assert await redis.get(LAYOUT_KEY) == LAYOUT.encode() and await recorded(redis) == 120
    await StateStore(redis, retain_days=120).ensure_layout()  # a restart with the same window
    assert await recorded(redis) == 120


async def test_a_larger_window_is_refused_and_a_smaller_one_recorded(redis):
    await StateStore(redis, retain_days=90).ensure_layout()
    with pytest.raises(StateLayoutError) as err:
        await StateStore(redis, retain_days=180).ensure_layout()
    [line] = err.value.lines
    assert line.startswith("Redis holds amlstream state built with AMLSTREAM_RETAIN_DAYS=90; this process has 180: ") and "rebuild the state" in line
    assert await recorded(redis) == 90  # a refusal changes nothing
    await StateStore(redis, retain_days=30).ensure_layout()
    assert await recorded(redis) == 30  # beyond 30 days the state now goes as days move ...
    with pytest.raises(StateLayoutError, match="AMLSTREAM_RETAIN_DAYS=30; this process has 90"):
        await StateStore(redis, retain_days=90).ensure_layout()  # ... so even the old 90 is a raise now


async def test_state_from_before_the_record_counts_as_built_with_the_default(redis):
    await redis.set(LAYOUT_KEY, LAYOUT)  # layout 2 state without a recorded window
    with pytest.raises(StateLayoutError, match="AMLSTREAM_RETAIN_DAYS=90; this process has 91"):
        await StateStore(redis, retain_days=91).ensure_layout()
    assert await recorded(redis) is None
    await StateStore(redis, retain_days=90).ensure_layout()
    assert await recorded(redis) == 90


def amlstream(args: list[str], redis_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AMLSTREAM_")} | {"AMLSTREAM_REDIS_URL": redis_url}
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], env=base | env, capture_output=True, text=True, timeout=120, cwd=ROOT)


async def test_replay_and_worker_with_a_larger_window_exit_2_in_one_line(redis, local_services, tmp_path):
    url = local_services["redis_url"].rsplit("/", 1)[0] + f"/{TEST_DB}"
    leg = '{"tx_id":"RR-1","customer_id":"C-RR","ts":"2026-08-01T10:00:00+08:00","direction":"in","amount":"80000","currency":"CNY","method":"cash"}\n'
    (tmp_path / "tx.jsonl").write_text(leg)
    first = amlstream(["replay", "--transactions", str(tmp_path / "tx.jsonl"), "--out", str(tmp_path / "one")], url)
    assert first.returncode == 0, first.stderr
    assert await recorded(redis) == 90

    again = amlstream(["replay", "--transactions", str(tmp_path / "tx.jsonl"), "--out", str(tmp_path / "two")], url, AMLSTREAM_RETAIN_DAYS="180")
    worker = amlstream(["worker"], url, AMLSTREAM_RETAIN_DAYS="180", AMLSTREAM_METRICS_PORT="1")  # refused before Kafka or the metrics port
    for result in (again, worker):
        assert result.returncode == 2 and "Traceback" not in result.stderr
        [line] = result.stderr.splitlines()
        assert line.startswith("amlstream: Redis holds amlstream state built with AMLSTREAM_RETAIN_DAYS=90; this process has 180: ")
    reports = tmp_path / "two" / "large-value-reports.jsonl"
    assert not reports.exists() or not reports.read_text()  # the resend was not counted again
    assert await recorded(redis) == 90
