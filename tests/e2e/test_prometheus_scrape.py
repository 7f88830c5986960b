"""Debian's Prometheus scrapes a running worker: the amlstream series arrive in Prometheus."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import orjson
import pytest

from tests.e2e.harness import produce, wait_until_committed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def query(port: int, expr: str) -> list[dict]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as response:
        body = orjson.loads(response.read())
    assert body["status"] == "success"
    return body["data"]["result"]


async def test_prometheus_scrapes_the_worker(pipeline_env, tmp_path):
    if shutil.which("prometheus") is None:
        pytest.fail("prometheus is not installed: deploy/local/setup.sh installs Debian's prometheus package")
    env = pipeline_env
    worker = env["start_worker"]()
    doc = {"tx_id": "P1", "customer_id": "prom-1", "ts": "2026-11-27T10:00:00+08:00", "direction": "in", "amount": "10", "currency": "CNY", "method": "card"}
    await produce(env["topics"].transactions, [(b"prom-1", orjson.dumps(doc))])
    await wait_until_committed(env["topics"], env["group"])

    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(f"global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: amlstream\n    static_configs:\n      - targets: ['127.0.0.1:{worker.port}']\n")
    prom = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        series: list[dict] = []
        while time.monotonic() < deadline:
            try:
                series = query(port, 'amlstream_transactions_total{job="amlstream"}')
                if series and query(port, 'up{job="amlstream"}'):
                    break
            except OSError:
                pass
            await asyncio.sleep(1)
        assert series, "Prometheus never scraped amlstream_transactions_total"
        assert {s["metric"]["outcome"] for s in series} == {"applied"} and float(series[0]["value"][1]) == 1
        assert query(port, 'up{job="amlstream"}')[0]["value"][1] == "1"
        names = {s["metric"]["__name__"] for s in query(port, '{__name__=~"amlstream_.+", job="amlstream"}')}
        assert {
            "amlstream_batch_processing_seconds_count",
            "amlstream_events_emitted_total",
            "amlstream_redis_script_seconds_count",
            "amlstream_model_info",
            "amlstream_consumer_lag",
        } <= names
    finally:
        prom.terminate()
        prom.wait(timeout=30)
