"""The loaded scoring standard and the calendar derived from it, swappable as one unit.

`model_version` (`Model.version`, in every event) is the standard's version plus a digest of its
file and of every setting that changes what the stages compute (`MODEL_SETTINGS`): the same
version means the same outputs for the same inputs. Every other setting (`OPERATIONAL_SETTINGS`)
changes how, where or how fast, never what; a setting must be in one of the two (a unit test
says so when a new one is in neither).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factors.calendar import BusinessCalendar
from factors.errors import StandardError
from factors.standard import DEFAULT_STANDARD_PATH, Standard, parse_standard
from streams.errors import ConfigError
from streams.settings import Settings, env_name

# Settings that change outputs, with what they change: folded into model_version's digest.
MODEL_SETTINGS: dict[str, str] = {
    "timezone": "the business day of day totals, day windows, same-day rules and large-value reports (None: the standard's)",
    "retain_days": "the late-arrival window: whether a late leg revises its day or is dead-lettered too_late (with a manual report)",
    "trail_horizon_hours": "the recent legs the short-window rules and the reversal matching see",
    "trail_max": "the recent legs the short-window rules and the reversal matching see, and evidence lists",
    "max_clock_skew_s": "which legs are set aside as future_timestamp instead of counted",
    "max_message_bytes": "which input messages are dead-lettered instead of processed",
    "network": "whether payment edges are emitted and network detections reach the rater",
    "network_edge_cap": "the edges the network rules search",
    "network_hub_degree": "the accounts the network rules search through",
    "network_late_anchors": "the later edges at which the network rules run again for an edge that arrives late",
}
# Settings that never change outputs: connections, names, sizes and timings of delivery, logging.
OPERATIONAL_SETTINGS = frozenset(
    {
        "bootstrap_servers",
        "redis_url",
        "redis_url_given",
        "redis_cluster",
        "redis_ca_file",
        "redis_retry_max_s",
        "group_id",
        "topics",
        "metrics_port",
        "model_config_file",  # where the file is; its bytes are in the digest
        "allow_readable_model",
        "batch_size",
        "batch_window_ms",
        "network_batch_window_ms",
        "network_redis_url",
        "log_level",
        "session_timeout_s",
        "peer_publish_interval_s",  # baselines are versioned on their own; contributions name theirs
        "model_watch_interval_s",
        "drain_timeout_s",
        "sweep_interval_s",
        "kafka_security_protocol",
        "kafka_sasl_mechanism",
        "kafka_sasl_username",
        "kafka_sasl_password",
        "kafka_ssl_cafile",
        "kafka_ssl_certfile",
        "kafka_ssl_keyfile",
        "network_group_id",
        "network_metrics_port",
    }
)
MODEL_VARIABLES = frozenset(env_name(name) for name in MODEL_SETTINGS)


def model_inputs(settings: Settings) -> dict[str, Any]:
    """The settings that go into model_version's digest with the standard's file."""
    return {name: getattr(settings, name) for name in MODEL_SETTINGS}


def changed_inputs(settings: Settings, standard_timezone: str | None = None) -> dict[str, Any]:
    """The model settings that differ from their defaults (a timezone: from the standard's), by
    environment variable."""
    default = model_inputs(Settings()) | {"timezone": standard_timezone}
    return {env_name(name): value for name, value in model_inputs(settings).items() if value is not None and value != default[name]}


@dataclass(frozen=True, slots=True)
class Model:
    standard: Standard
    calendar: BusinessCalendar
    path: Path

    @property
    def version(self) -> str:
        return self.standard.model_version

    @property
    def high_risk_countries(self) -> frozenset[str]:
        return self.standard.high_risk_countries

    @property
    def dormant_days(self) -> int:
        params = self.standard.patterns.get("dormant_reactivation")
        return params.dormant_days if params is not None else 180  # type: ignore[attr-defined]


def readable_by_others(path: Path) -> bool:
    """Readable or writable by users other than the owner: any "other" bit, or group bits for a
    group the worker itself is not in (a Kubernetes fsGroup mount is the worker's own group)."""
    st = path.stat()
    if st.st_mode & 0o007:
        return True
    return bool(st.st_mode & 0o070) and st.st_gid not in {os.getegid(), *os.getgroups()}


def read_standard(path: Path | None = None) -> tuple[Path, bytes]:
    """The standard's file and bytes (the packaged default when `path` is None)."""
    source = path or DEFAULT_STANDARD_PATH
    try:
        return source, source.read_bytes()
    except OSError as exc:
        raise ConfigError(f"model config {source}: cannot read ({exc.strerror})") from exc


def load_model(path: Path | None = None, timezone_override: str | None = None, *, allow_readable: bool = False, settings: Settings | None = None) -> Model:
    """Load and validate the scoring standard; errors never echo the file's contents.

    The version's digest covers the file and the model settings of `settings` (the defaults when
    None) with `timezone_override` as the timezone: `open_model` passes the worker's settings.

    ConfigError lists every problem of the file, one line each: `model config FILE: <TOML path>:
    <what was expected>`.

    The standard is confidential (保密性): a bank's own file must not be readable by other users
    of the machine, unless `allow_readable` says so explicitly. The packaged default is public.
    """
    source, data = read_standard(path)
    if path is not None and readable_by_others(source) and not allow_readable and source.resolve() != DEFAULT_STANDARD_PATH.resolve():
        raise ConfigError(
            f"model config {source} is readable by other users (mode {source.stat().st_mode & 0o777:o}): the scoring standard is confidential; "
            "chmod 600 it, or set AMLSTREAM_ALLOW_READABLE_MODEL=1"
        )
    inputs: Mapping[str, Any] = model_inputs(settings or Settings()) | {"timezone": timezone_override}
    try:
        standard = parse_standard(data, inputs)
    except StandardError as exc:
        raise ConfigError(*(f"model config {source}: {problem}" for problem in exc.problems)) from None
    return Model(standard, BusinessCalendar(timezone_override or standard.timezone), source)


def open_model(settings: Settings, path: Path | None = None) -> Model:
    """The standard the settings name (or `path`), its version covering the settings that change outputs."""
    return load_model(path or settings.model_config_file, settings.timezone, allow_readable=settings.allow_readable_model, settings=settings)
