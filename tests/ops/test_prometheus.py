"""Prometheus config and alert rules: promtool checks and unit tests, and the metric names against
the worker's registry. promtool comes from Debian's `prometheus` package (set-up installs it)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ops.helpers import COMPOSE, PROMETHEUS, amlstream_metrics_in, check_filing_settings, check_settings, exported_series, load_yaml, promtool

EXPECTED_ALERTS = {
    "AmlstreamWorkerDown",
    "AmlstreamNoTransactionsProcessed",
    "AmlstreamConsumerLagGrowing",
    "AmlstreamEventTimeLagHigh",
    "AmlstreamDeadLettersHigh",
    "AmlstreamRedisErrors",
    "AmlstreamScoringStandardRefused",
    "AmlstreamPeerBaselinesNotPublished",
    "AmlstreamFilingWorkerDown",
    "AmlstreamFilingOverdue",
    "AmlstreamFirstRatingOverdue",
    "AmlstreamFilingDeadLetters",
    "AmlstreamFilingCalendarGap",
    "AmlstreamNetworkWorkerDown",
    "AmlstreamNetworkEdgesUnread",
    "AmlstreamNetworkConsumerLagGrowing",
    "AmlstreamNetworkDeadLetters",
    "AmlstreamNetworkRedisErrors",
    "AmlstreamIso20022AdapterDown",
    "AmlstreamIso20022ConsumerLagGrowing",
    "AmlstreamIso20022DeadLettersHigh",
}


@pytest.fixture(scope="module")
def rules() -> list[dict[str, Any]]:
    groups = load_yaml(PROMETHEUS / "alerts.yml")["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_promtool_accepts_the_config() -> None:
    result = promtool("check", "config", "deploy/prometheus/prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_rules() -> None:
    result = promtool("check", "rules", "deploy/prometheus/alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_unit_tests_pass() -> None:
    result = promtool("test", "rules", "deploy/prometheus/alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_expected_alerts_exist_with_severity_and_runbook(rules: list[dict[str, Any]]) -> None:
    alerts = {rule["alert"]: rule for rule in rules if "alert" in rule}
    assert set(alerts) == EXPECTED_ALERTS
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        for annotation in ("summary", "description", "runbook"):
            assert rule["annotations"].get(annotation, "").strip(), f"{name}: no {annotation} annotation"


def test_alert_thresholds_and_durations(rules: list[dict[str, Any]]) -> None:
    alerts = {rule["alert"]: rule for rule in rules if "alert" in rule}
    assert (alerts["AmlstreamWorkerDown"]["expr"], alerts["AmlstreamWorkerDown"]["for"]) == ('up{job="amlstream"} == 0', "2m")
    assert "deriv(amlstream_consumer_lag[10m]) > 0" in alerts["AmlstreamConsumerLagGrowing"]["expr"]
    assert "amlstream_consumer_lag > 1000" in alerts["AmlstreamConsumerLagGrowing"]["expr"]
    assert (alerts["AmlstreamEventTimeLagHigh"]["expr"], alerts["AmlstreamEventTimeLagHigh"]["for"]) == ("amlstream_event_time_lag_seconds > 300", "10m")
    assert "rate(amlstream_dead_letters_total[5m])" in alerts["AmlstreamDeadLettersHigh"]["expr"]
    assert alerts["AmlstreamDeadLettersHigh"]["expr"].endswith("> 1")
    assert "increase(amlstream_redis_errors_total[5m])" in alerts["AmlstreamRedisErrors"]["expr"]
    assert "sum(increase(amlstream_transactions_total[15m]))" in alerts["AmlstreamNoTransactionsProcessed"]["expr"]
    assert alerts["AmlstreamNoTransactionsProcessed"]["for"] == "15m"


def test_every_metric_in_the_rules_is_exported_by_a_worker(rules: list[dict[str, Any]]) -> None:
    exported = exported_series()
    used = set()
    for rule in rules:
        names = amlstream_metrics_in(rule["expr"])
        missing = names - exported
        assert not missing, f"{rule.get('alert', rule.get('record'))}: {sorted(missing)} not exported by streams.metrics.Metrics"
        used |= names
    assert used, "the rules use no amlstream metric"


def test_every_alert_has_a_firing_and_a_quiet_unit_test(rules: list[dict[str, Any]]) -> None:
    fires: set[str] = set()
    quiet: set[str] = set()
    tests = load_yaml(PROMETHEUS / "alerts_test.yml")
    assert tests["rule_files"] == ["alerts.yml"]
    for case in tests["tests"]:
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else quiet).add(check["alertname"])
    alerts = {rule["alert"] for rule in rules if "alert" in rule}
    assert alerts - fires == set(), f"no test where these fire: {sorted(alerts - fires)}"
    assert alerts - quiet == set(), f"no test where these stay quiet: {sorted(alerts - quiet)}"


def test_the_scrape_config_covers_the_compose_workers() -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    assert config["global"]["scrape_interval"] == "15s"
    job = next(job for job in config["scrape_configs"] if job["job_name"] == "amlstream")  # the job the alerts select
    targets = {target for static in job["static_configs"] for target in static["targets"]}
    services = load_yaml(COMPOSE)["services"]
    workers = {name: service for name, service in services.items() if service.get("command") == ["worker"]}
    assert len(workers) == 2
    expected = {f"{name}:{check_settings(service['environment'], name).metrics_port}" for name, service in workers.items()}
    assert targets == expected
    assert job.get("metrics_path", "/metrics") == "/metrics"


def test_the_scrape_config_covers_the_filing_worker_in_its_own_job(rules: list[dict[str, Any]]) -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    job = next(job for job in config["scrape_configs"] if job["job_name"] == "amlstream-filings")
    targets = {target for static in job["static_configs"] for target in static["targets"]}
    service = load_yaml(COMPOSE)["services"]["filings"]
    assert service["command"] == ["filings", "worker"]
    assert targets == {f"filings:{check_filing_settings(service['environment'], 'filings').metrics_port}"}
    down = next(rule for rule in rules if rule.get("alert") == "AmlstreamFilingWorkerDown")
    assert down["expr"] == 'up{job="amlstream-filings"} == 0', "the alert must select the job that scrapes the filing worker"


def test_network_and_iso20022_alerts_mirror_the_workers(rules: list[dict[str, Any]]) -> None:
    from streams.settings import Topics

    alerts = {rule["alert"]: rule for rule in rules if "alert" in rule}
    assert (alerts["AmlstreamNetworkWorkerDown"]["expr"], alerts["AmlstreamNetworkWorkerDown"]["for"]) == ('up{job="amlstream-network"} == 0', "2m")
    assert (alerts["AmlstreamIso20022AdapterDown"]["expr"], alerts["AmlstreamIso20022AdapterDown"]["for"]) == ('up{job="amlstream-iso20022"} == 0', "2m")
    for name, metric, threshold in (
        ("AmlstreamNetworkConsumerLagGrowing", "amlstream_network_consumer_lag", 100),
        ("AmlstreamIso20022ConsumerLagGrowing", "amlstream_iso20022_consumer_lag", 1000),
    ):
        assert alerts[name]["expr"] == f"{metric} > {threshold} and deriv({metric}[10m]) > 0" and alerts[name]["for"] == "10m", name
    assert "increase(amlstream_network_redis_errors_total[5m])" in alerts["AmlstreamNetworkRedisErrors"]["expr"]
    assert "increase(amlstream_network_dead_letters_total[15m])" in alerts["AmlstreamNetworkDeadLetters"]["expr"]
    assert "rate(amlstream_iso20022_dead_letters_total[5m])" in alerts["AmlstreamIso20022DeadLettersHigh"]["expr"]
    # the edges the customer stage emits (its counter's topic label is the topic name) against what the network stage reads
    unread = alerts["AmlstreamNetworkEdgesUnread"]["expr"]
    assert f'amlstream_events_emitted_total{{topic="{Topics().edges}"}}' in unread and "unless" in unread and "amlstream_network_edges_total" in unread


def test_the_scrape_config_covers_the_network_worker_and_the_adapter_in_their_own_jobs(rules: list[dict[str, Any]]) -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    services = load_yaml(COMPOSE)["services"]
    network = check_settings(services["network-worker"]["environment"], "network-worker")
    adapter = check_settings(services["iso20022-adapter"]["environment"], "iso20022-adapter")
    down = {rule["alert"]: rule["expr"] for rule in rules if rule.get("alert", "").endswith("Down")}
    for job_name, service, port, alert in (
        ("amlstream-network", "network-worker", network.network_metrics_port, "AmlstreamNetworkWorkerDown"),
        ("amlstream-iso20022", "iso20022-adapter", adapter.metrics_port, "AmlstreamIso20022AdapterDown"),
    ):
        job = next(job for job in config["scrape_configs"] if job["job_name"] == job_name)
        assert {target for static in job["static_configs"] for target in static["targets"]} == {f"{service}:{port}"}
        assert job.get("metrics_path", "/metrics") == "/metrics"
        assert down[alert] == f'up{{job="{job_name}"}} == 0', "the alert must select the job that scrapes the service"
