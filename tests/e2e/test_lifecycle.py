"""Health endpoints, JSON logs and a graceful SIGTERM drain."""

from __future__ import annotations

import asyncio
import signal
import time
import urllib.error
import urllib.request

import orjson

from tests.e2e.harness import produce, wait_until_committed
from tests.e2e.test_crash_recovery import generated_stream, wait_for_progress


def status(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except OSError:
        return 0, ""


async def wait_ready(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while status(port, "/readyz")[0] != 200:
        assert time.monotonic() < deadline, status(port, "/readyz")
        await asyncio.sleep(0.2)


async def test_health_readiness_and_a_graceful_sigterm_drain(pipeline_env):
    env = pipeline_env
    topics = env["topics"]
    stream = list(dict.fromkeys(generated_stream(seed=5, customers=60, count=1500)))  # without the resent copies
    first = env["start_worker"](AMLSTREAM_BATCH_SIZE="25", AMLSTREAM_BATCH_WINDOW_MS="20", AMLSTREAM_LOG_LEVEL="info")
    await wait_ready(first.port)
    assert status(first.port, "/healthz") == (200, "ok\n")
    assert status(first.port, "/nope")[0] == 404

    await produce(topics.transactions, stream)
    await wait_for_progress(first, 400)
    started = time.monotonic()
    assert first.kill(signal.SIGTERM) == 0  # drained and left the group cleanly
    assert time.monotonic() - started < 30

    processed_by_first = None
    for line in first.log().splitlines():
        if line.startswith("{"):
            entry = orjson.loads(line)  # every log line is one JSON object
            assert {"ts", "level", "logger", "msg"} <= set(entry)
            processed_by_first = True
    assert processed_by_first, "the worker logged JSON lines"

    second = env["start_worker"]()
    await wait_until_committed(topics, env["group"])
    # the first worker committed exactly what it applied: nothing comes back to the second one
    assert second.counter("amlstream_transactions_total", outcome="redelivered") == 0
    assert second.counter("amlstream_transactions_total", outcome="duplicate") == 0
    assert second.counter("amlstream_transactions_total") > 0
