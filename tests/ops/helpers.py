"""Shared readers for the operations files (compose, Dockerfile, Prometheus, Grafana, Kubernetes).

Everything here is offline: the files are parsed and checked against the application itself
(its settings, its CLI parser, its metrics registry), never against a running Docker or cluster.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from filings.errors import FilingConfigError
from filings.settings import PREFIX as FILINGS_PREFIX
from filings.settings import VARIABLES as FILING_VARIABLES
from filings.settings import FilingSettings, load_filing_settings
from iso20022.settings import AdapterSettings, load_adapter_settings
from streams import cli
from streams.errors import ConfigError
from streams.metrics import Metrics
from streams.settings import _TOPIC_ENV, OTHER_VARIABLES, PREFIX, Settings, env_name, load_settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
PROMETHEUS = ROOT / "deploy" / "prometheus"
GRAFANA = ROOT / "deploy" / "grafana"
K8S = ROOT / "deploy" / "k8s"
IMAGE_ENTRYPOINT = "amlstream"
ISO20022_PREFIX = PREFIX + "ISO20022_"  # the ISO 20022 adapter's own variables (iso20022/settings.py)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# --- settings ------------------------------------------------------------------------------------


# "0" for a boolean that defaults to true (AMLSTREAM_NETWORK)
_PROBES = ("7", "1", "0", "debug", "/etc/amlstream/probe.toml", "redis://probe:6379/0", "probe")


def _reads(name: str, changed: Callable[[Settings], bool]) -> bool:
    for value in _PROBES:
        try:
            if changed(load_settings({name: value})):
                return True
        except ConfigError:
            continue
    return False


@functools.cache
def setting_names() -> frozenset[str]:
    """Every AMLSTREAM_* variable load_settings actually reads (it silently ignores any other name).

    Candidates are PREFIX + each Settings field and the topic variables of _TOPIC_ENV; a candidate
    counts only if setting it changes the loaded Settings (derived fields are not variables)."""
    default = load_settings({})
    names = set()
    for field in Settings.model_fields:
        name = env_name(field)
        if _reads(name, lambda s, attr=field: getattr(s, attr) != getattr(default, attr)):
            names.add(name)
    for var in _TOPIC_ENV:
        if _reads(PREFIX + var, lambda s: s.topics != default.topics):
            names.add(PREFIX + var)
    return frozenset(names)


def check_settings(env: Mapping[str, object], where: str) -> Settings:
    """The AMLSTREAM_* part of `env` must be known names that load_settings accepts (the filing
    stage's AMLSTREAM_FILINGS_* ones by check_filing_settings, the ISO 20022 adapter's AMLSTREAM_ISO20022_*
    ones by check_adapter_settings)."""
    ours = {k: str(v) for k, v in env.items() if k.startswith(PREFIX) and not k.startswith((FILINGS_PREFIX, ISO20022_PREFIX))}
    unknown = sorted(set(ours) - setting_names())
    assert not unknown, f"{where}: {unknown} are not settings of streams.settings (load_settings would ignore them)"
    return load_settings(ours)


def check_filing_settings(env: Mapping[str, object], where: str) -> FilingSettings:
    """The AMLSTREAM_FILINGS_* part of `env` must be variables filings.settings reads, with values it accepts."""
    ours = {k: str(v) for k, v in env.items() if k.startswith(FILINGS_PREFIX)}
    unknown = sorted(set(ours) - {FILINGS_PREFIX + name for name, _ in FILING_VARIABLES})
    assert not unknown, f"{where}: {unknown} are not settings of filings.settings (load_filing_settings would ignore them)"
    try:
        return load_filing_settings({**ours, **{k: str(v) for k, v in env.items() if k == "AMLSTREAM_TOPIC_CASE_DECISIONS"}})
    except FilingConfigError as exc:
        pytest.fail(f"{where}: {exc}")


def check_adapter_settings(env: Mapping[str, object], where: str) -> AdapterSettings:
    """The AMLSTREAM_ISO20022_* part of `env` must be variables iso20022.settings reads, with values it accepts."""
    ours = {k: str(v) for k, v in env.items() if k.startswith(ISO20022_PREFIX)}
    known = {name for name in OTHER_VARIABLES if name.startswith(ISO20022_PREFIX)}
    unknown = sorted(set(ours) - known)
    assert not unknown, f"{where}: {unknown} are not settings of iso20022.settings (load_adapter_settings would ignore them)"
    try:
        return load_adapter_settings(ours)
    except ConfigError as exc:
        pytest.fail(f"{where}: {exc}")


# --- the amlstream CLI ---------------------------------------------------------------------------


class _Parser(Exception):
    def __init__(self, parser: argparse.ArgumentParser) -> None:
        super().__init__("parser captured")
        self.parser = parser


def amlstream_parser() -> argparse.ArgumentParser:
    """The parser streams.cli.main builds, captured at its parse_args call (nothing runs)."""

    def capture(self: argparse.ArgumentParser, args: object = None, namespace: object = None) -> None:
        raise _Parser(self)

    with mock.patch.object(argparse.ArgumentParser, "parse_args", capture):
        try:
            cli.main(["--help"])
        except _Parser as captured:
            return captured.parser
    raise AssertionError("streams.cli.main did not parse its arguments with argparse")


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = amlstream_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("the amlstream parser has no subcommands")


def check_cli(argv: list[str], where: str) -> argparse.Namespace:
    """`argv` (without the program name) is a valid amlstream command line."""
    assert argv, f"{where}: no amlstream subcommand"
    known = subcommands()
    assert argv[0] in known, f"{where}: `amlstream {argv[0]}` is not a subcommand (known: {sorted(known)})"
    try:
        return amlstream_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"{where}: `amlstream {shlex.join(argv)}` is rejected by the CLI parser")


def amlstream_calls(script: str) -> list[list[str]]:
    """The `amlstream ...` command lines of a shell script; shell variables stand in as 1."""
    calls = []
    for line in script.splitlines():
        match = re.search(r"(?:^|[\s;&|(])amlstream\s+(.*)", line)
        if not match:
            continue
        words = re.split(r"\|\||&&|;|\|", match.group(1))[0]
        words = re.sub(r'"?\$+\{?[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}?"?', "1", words)
        calls.append(shlex.split(words))
    return calls


# --- metrics -------------------------------------------------------------------------------------


@functools.cache
def exported_series() -> frozenset[str]:
    """The sample (series) names the workers (customer, filing and network stages, ISO 20022 adapter) export: what PromQL can select.
    Every labelled metric is touched once so its children exist; counters appear as *_total, histograms as *_bucket/_sum/_count.
    Family names such as `amlstream_transactions` are not series and are not included."""
    from filings.metrics import FilingMetrics  # the filing worker's metrics (amlstream filings worker)
    from iso20022.metrics import IsoMetrics  # amlstream iso20022 adapter
    from streams.network.metrics import NetworkMetrics  # amlstream network-worker

    names: set[str] = set()
    for metrics in (Metrics(), FilingMetrics(), NetworkMetrics(), IsoMetrics()):
        for metric in vars(metrics).values():
            if isinstance(metric, MetricWrapperBase) and metric._labelnames:
                metric.labels(*("x" for _ in metric._labelnames))
        names |= {sample.name for family in metrics.registry.collect() for sample in family.samples}
    return frozenset(names)


def amlstream_metrics_in(expr: str) -> set[str]:
    return set(re.findall(r"\bamlstream_[A-Za-z0-9_]*[A-Za-z0-9]", expr))


# --- promtool ------------------------------------------------------------------------------------


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run promtool (Debian package `prometheus`); a missing promtool fails, never skips."""
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail("promtool is not on PATH: install Debian's `prometheus` package (apt-get install -y prometheus); the ops tests need it")
    return subprocess.run([exe, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def dashboard() -> dict[str, Any]:
    return json.loads((GRAFANA / "dashboards" / "amlstream.json").read_text(encoding="utf-8"))
