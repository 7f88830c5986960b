"""The Grafana dashboard and its provisioning, against the worker's metrics registry."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ops.helpers import GRAFANA, amlstream_metrics_in, dashboard, exported_series, load_yaml, promtool

REQUIRED_SERIES = {
    "amlstream_transactions_total",
    "amlstream_batch_processing_seconds_bucket",
    "amlstream_event_time_lag_seconds",
    "amlstream_consumer_lag",
    "amlstream_events_emitted_total",
    "amlstream_dead_letters_total",
    "amlstream_customers_by_level",
    "amlstream_redis_script_seconds_bucket",
    "amlstream_redis_errors_total",
}


@pytest.fixture(scope="module")
def board() -> dict[str, Any]:
    return dashboard()


@pytest.fixture(scope="module")
def datasource_uid() -> str:
    (datasource,) = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")["datasources"]
    assert datasource["type"] == "prometheus"
    return datasource["uid"]


def exprs(board: dict[str, Any]) -> list[tuple[str, str]]:
    return [(panel["title"], target["expr"]) for panel in board["panels"] for target in panel.get("targets", [])]


def test_dashboard_identity(board: dict[str, Any]) -> None:
    assert board["uid"] == "amlstream"
    assert board["title"].strip()
    assert 36 <= board["schemaVersion"] <= 41


def rows(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [panel for panel in board["panels"] if panel["type"] == "row"]


def test_every_panel_has_a_target_and_a_unique_id(board: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["title"].strip()
        if panel["type"] == "row":  # a row header: no query, full width, its panels follow it (not collapsed)
            assert (panel["gridPos"]["h"], panel["gridPos"]["w"], panel["collapsed"], panel["panels"]) == (1, 24, False, []), panel["title"]
            continue
        assert panel.get("targets"), f"panel {panel['title']!r} has no target"
        for target in panel["targets"]:
            assert target["expr"].strip() and target["refId"], panel["title"]


def test_panels_do_not_overlap(board: dict[str, Any]) -> None:
    taken: dict[tuple[int, int], str] = {}
    for panel in board["panels"]:
        g = panel["gridPos"]
        assert g["x"] + g["w"] <= 24, panel["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in taken, f"{panel['title']!r} overlaps {taken[(x, y)]!r}"
                taken[(x, y)] = panel["title"]


def test_every_metric_referenced_is_exported_by_a_worker(board: dict[str, Any]) -> None:
    exported = exported_series()
    used: set[str] = set()
    for title, expr in exprs(board):
        names = amlstream_metrics_in(expr)
        assert not names - exported, f"{title!r}: {sorted(names - exported)} not exported by streams.metrics.Metrics"
        used |= names
    assert used >= REQUIRED_SERIES, f"no panel shows {sorted(REQUIRED_SERIES - used)}"


def test_the_panels_aggregate_as_the_metrics_require(board: dict[str, Any]) -> None:
    by_metric: dict[str, list[str]] = {}
    for _, expr in exprs(board):
        for name in amlstream_metrics_in(expr):
            by_metric.setdefault(name, []).append(expr)
    # deployment-wide gauge exported identically by every worker: max, never sum
    for expr in by_metric["amlstream_customers_by_level"]:
        assert re.match(r"max by \(level\) \(", expr) and "sum" not in expr, expr
    batch = " ".join(by_metric["amlstream_batch_processing_seconds_bucket"])
    for q in ("0.5", "0.95", "0.99"):
        assert f"histogram_quantile({q}," in batch
    assert all("script" in expr for expr in by_metric["amlstream_redis_script_seconds_bucket"])
    assert any("by (outcome)" in expr for expr in by_metric["amlstream_transactions_total"])
    assert any("by (topic)" in expr for expr in by_metric["amlstream_events_emitted_total"])
    assert any("by (error_code)" in expr for expr in by_metric["amlstream_dead_letters_total"])
    assert any("by (partition)" in expr for expr in by_metric["amlstream_consumer_lag"])
    for name, found in by_metric.items():
        if name.endswith(("_total", "_bucket")):
            assert all(re.search(rf"(rate|increase)\({name}\b", expr) for expr in found), f"{name}: counters are shown as rates"


def test_every_expression_is_valid_promql(board: dict[str, Any], tmp_path: Path) -> None:
    # Grafana variables stand in as values, then promtool parses each expression as a recording rule
    rules = []
    for i, (_, expr) in enumerate(exprs(board)):
        concrete = expr.replace("$__rate_interval", "1m").replace("$instance", ".*")
        rules.append({"record": f"dashboard:expr_{i}", "expr": concrete})
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), encoding="utf-8")
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_datasource_reference_is_the_provisioned_one(board: dict[str, Any], datasource_uid: str) -> None:
    refs = [panel["datasource"] for panel in board["panels"] if panel["type"] != "row"]
    refs += [target["datasource"] for panel in board["panels"] for target in panel.get("targets", []) if "datasource" in target]
    refs += [var["datasource"] for var in board.get("templating", {}).get("list", []) if "datasource" in var]
    assert refs
    for ref in refs:
        assert ref == {"type": "prometheus", "uid": datasource_uid}


def test_the_template_variable_is_used_and_comes_from_the_amlstream_job(board: dict[str, Any]) -> None:
    (variable,) = board["templating"]["list"]
    assert variable["name"] == "instance"
    assert 'up{job="amlstream"}' in variable["definition"]
    assert any("$instance" in expr for _, expr in exprs(board))


def test_the_dashboard_provider_loads_this_folder() -> None:
    (provider,) = load_yaml(GRAFANA / "provisioning" / "dashboards" / "amlstream.yml")["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"].startswith("/")
    assert sorted(p.name for p in (GRAFANA / "dashboards").iterdir()) == ["amlstream.json"]


STAGE_ROWS = {
    # row title prefix: (the job its `up` comes from, its metrics' prefix, the series it must show)
    "Network stage": (
        "amlstream-network",
        "amlstream_network_",
        {
            "amlstream_network_edges_total",
            "amlstream_network_detections_total",
            "amlstream_network_consumer_lag",
            "amlstream_network_dead_letters_total",
            "amlstream_network_redis_errors_total",
            "amlstream_network_batch_seconds_bucket",
            "amlstream_network_event_time_lag_seconds",
        },
    ),
    "ISO 20022 adapter": (
        "amlstream-iso20022",
        "amlstream_iso20022_",
        {
            "amlstream_iso20022_messages_total",
            "amlstream_iso20022_legs_total",
            "amlstream_iso20022_consumer_lag",
            "amlstream_iso20022_dead_letters_total",
            "amlstream_iso20022_processing_seconds_bucket",
        },
    ),
}


def test_the_network_stage_and_the_adapter_have_rows_of_their_own(board: dict[str, Any]) -> None:
    headers = sorted(rows(board), key=lambda row: row["gridPos"]["y"])
    for prefix, (job, metric_prefix, required) in STAGE_ROWS.items():
        (row,) = [r for r in headers if r["title"].startswith(prefix)]
        start = row["gridPos"]["y"]
        end = min((r["gridPos"]["y"] for r in headers if r["gridPos"]["y"] > start), default=10**6)
        below = [p for p in board["panels"] if p["type"] != "row" and start < p["gridPos"]["y"] < end]
        assert below, f"row {row['title']!r} has no panels"
        stage_exprs = [target["expr"] for panel in below for target in panel["targets"]]
        assert any(f'up{{job="{job}"}}' in expr for expr in stage_exprs), f"{prefix}: how many are up (the job its alert selects)"
        used = {name for expr in stage_exprs for name in amlstream_metrics_in(expr)}
        assert used >= required, f"{prefix}: no panel shows {sorted(required - used)}"
        others = {name for name in used if not name.startswith(metric_prefix)}
        assert others <= {"amlstream_events_emitted_total"}, f"{prefix}: shows other stages' metrics {sorted(others)}"
        assert all("$instance" not in expr for expr in stage_exprs), f"{prefix}: $instance lists the customer-stage workers only"
    # every panel outside these rows is above the first of them: the customer stage's part is unchanged
    first = min(r["gridPos"]["y"] for r in headers)
    for panel in board["panels"]:
        names = {name for target in panel.get("targets", []) for name in amlstream_metrics_in(target["expr"])}
        if any(name.startswith(("amlstream_network_", "amlstream_iso20022_")) for name in names):
            assert panel["gridPos"]["y"] > first, panel["title"]
