"""A live worker refuses a changed standard with mistakes: the metric counts it, the log lists
the TOML paths, and the running standard stays in force."""

from __future__ import annotations

import asyncio
import re
import time

from factors.standard import DEFAULT_STANDARD_PATH
from tests.standard_mutations import MUTATIONS, mutated


async def wait_for(predicate, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)


async def test_a_refused_reload_is_counted_and_the_running_standard_stays(pipeline_env, tmp_path):
    standard = tmp_path / "standard.toml"
    standard.write_text(DEFAULT_STANDARD_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    standard.chmod(0o600)
    worker = pipeline_env["start_worker"](AMLSTREAM_MODEL_CONFIG=str(standard), AMLSTREAM_MODEL_WATCH_INTERVAL_S="0.5")
    await wait_for(lambda: "amlstream_model_info{" in worker.metrics())
    running = re.search(r'amlstream_model_info\{model_version="([^"]+)"\} 1', worker.metrics())
    assert running and running.group(1).startswith("default-2026.11+")
    assert worker.counter("amlstream_model_reload_failures_total") == 0

    standard.write_text(mutated(*MUTATIONS), encoding="utf-8")
    await wait_for(lambda: worker.counter("amlstream_model_reload_failures_total") == 1)
    assert f'amlstream_model_info{{model_version="{running.group(1)}"}} 1' in worker.metrics()
    assert worker.proc is not None and worker.proc.poll() is None  # still running
    log = worker.log()
    assert "new model config refused" in log and f"{len(MUTATIONS)} problem(s)" in log
    assert "patterns.structuring.treshold_cny: unknown key" in log and "Traceback" not in log
