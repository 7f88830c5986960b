"""Worker settings from `AMLSTREAM_*` environment variables: one frozen object, read once.

Secrets (SASL password, Redis URL credentials) are masked whenever settings are printed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from streams.errors import ConfigError

PREFIX = "AMLSTREAM_"


@dataclass(frozen=True, slots=True)
class Topics:
    transactions: str = "aml.transactions.v1"
    customers: str = "aml.customers.v1"
    risk_changes: str = "aml.risk-changes.v1"
    patterns: str = "aml.suspicious-patterns.v1"
    large_value: str = "aml.large-value-reports.v1"
    dead_letter: str = "aml.dead-letter.v1"
    edges: str = "aml.edges.v1"  # internal: payment edges, one copy keyed by each party (network stage input)
    network_detections: str = "aml.network-detections.v1"  # network stage output, keyed by customer_id
    iso20022_pacs008: str = "aml.iso20022.pacs008.v1"  # ISO 20022 input of the adapter (iso20022/adapter.py)
    iso20022_camt054: str = "aml.iso20022.camt054.v1"

    def by_event_kind(self) -> dict[str, str]:
        return {
            "risk_change": self.risk_changes,
            "suspicious_pattern": self.patterns,
            "large_value_report": self.large_value,
            "dead_letter": self.dead_letter,
            "edge": self.edges,
            "network_detection": self.network_detections,
        }


@dataclass(frozen=True, slots=True)
class Settings:
    bootstrap_servers: str = "127.0.0.1:9092"
    redis_url: str = "redis://127.0.0.1:6379/0"
    group_id: str = "amlstream"
    topics: Topics = Topics()
    metrics_port: int = 9464
    model_config: Path | None = None  # None: the packaged default standard
    timezone: str | None = None  # None: the standard's timezone (default Asia/Shanghai)
    batch_size: int = 500
    batch_window_ms: int = 200
    max_message_bytes: int = 1_048_576
    retain_days: int = 90
    trail_horizon_hours: int = 72
    trail_max: int = 256  # trail entries kept per customer (evidence; events flag truncation)
    max_clock_skew_s: float = 86_400.0  # an event time further ahead of the reference clock is set aside
    log_level: str = "info"
    redis_retry_max_s: float = 5.0
    session_timeout_s: float = 10.0
    allow_readable_model: bool = False
    peer_publish_interval_s: float = 3600.0  # 0: this worker never publishes peer baselines
    model_watch_interval_s: float = 5.0
    drain_timeout_s: float = 20.0  # on SIGTERM, how long the batch in flight may take to finish
    redis_url_given: bool = False  # AMLSTREAM_REDIS_URL was set (replay uses it, else a throwaway server)
    redis_cluster: bool = False
    redis_ca_file: str | None = None  # CA bundle for rediss:// (TLS)
    kafka_security_protocol: str = "PLAINTEXT"  # PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"  # PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    kafka_ssl_cafile: str | None = None
    kafka_ssl_certfile: str | None = None  # client certificate (mutual TLS)
    kafka_ssl_keyfile: str | None = None
    network_group_id: str = "amlstream-network"  # the network stage's consumer group (and faust app id)
    network_metrics_port: int = 9466
    network_edge_cap: int = 150  # edges kept per account and direction (the oldest go first)
    network_hub_degree: int = 40  # distinct counterparties in 30 days that make an account a hub (not searched through)

    def masked(self) -> dict[str, object]:
        """The settings as printable data with any credentials hidden."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "redis_url":
                value = mask_url(value)
            elif f.name == "kafka_sasl_password" and value:
                value = "***"
            out[f.name] = value
        return out


def mask_url(url: str) -> str:
    return re.sub(r"//([^:/@]*):([^@]*)@", r"//\1:***@", url)


_INT_FIELDS = {"metrics_port", "batch_size", "batch_window_ms", "max_message_bytes", "retain_days", "trail_horizon_hours", "trail_max"}
_INT_FIELDS |= {"network_metrics_port", "network_edge_cap", "network_hub_degree"}
_TOPIC_ENV = {
    "TOPIC_TRANSACTIONS": "transactions",
    "TOPIC_CUSTOMERS": "customers",
    "TOPIC_RISK_CHANGES": "risk_changes",
    "TOPIC_PATTERNS": "patterns",
    "TOPIC_LARGE_VALUE": "large_value",
    "TOPIC_DEAD_LETTER": "dead_letter",
    "TOPIC_EDGES": "edges",
    "TOPIC_NETWORK_DETECTIONS": "network_detections",
    "TOPIC_ISO20022_PACS008": "iso20022_pacs008",
    "TOPIC_ISO20022_CAMT054": "iso20022_camt054",
}


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the environment; a bad value raises ConfigError naming the variable."""
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    for f in fields(Settings):
        name = PREFIX + f.name.upper()
        if f.name in ("topics", "redis_url_given") or name not in env:
            continue
        raw = env[name].strip()
        if f.name in _INT_FIELDS:
            try:
                number = int(raw)
            except ValueError:
                raise ConfigError(f"{name}={raw!r}: expected an integer") from None
            if number <= 0 or (f.name in ("metrics_port", "network_metrics_port") and number > 65535):
                raise ConfigError(f"{name}={raw!r}: out of range")
            values[f.name] = number
        elif f.name in ("allow_readable_model", "redis_cluster"):
            values[f.name] = raw.lower() in ("1", "true", "yes")
        elif f.name in ("redis_retry_max_s", "session_timeout_s", "peer_publish_interval_s", "model_watch_interval_s", "drain_timeout_s", "max_clock_skew_s"):
            try:
                values[f.name] = float(raw)
            except ValueError:
                raise ConfigError(f"{name}={raw!r}: expected a number of seconds") from None
        elif f.name == "model_config":
            values[f.name] = Path(raw) if raw else None
        elif f.name == "kafka_security_protocol":
            if raw.upper() not in ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"):
                raise ConfigError(f"{name}={raw!r}: one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL")
            values[f.name] = raw.upper()
        elif f.name == "kafka_sasl_mechanism":
            if raw.upper() not in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
                raise ConfigError(f"{name}={raw!r}: one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512")
            values[f.name] = raw.upper()
        elif f.name == "log_level":
            if raw.lower() not in ("debug", "info", "warning", "error"):
                raise ConfigError(f"{name}={raw!r}: one of debug, info, warning, error")
            values[f.name] = raw.lower()
        else:
            if not raw:
                raise ConfigError(f"{name} is empty")
            values[f.name] = raw
    topics = {attr: env[PREFIX + var] for var, attr in _TOPIC_ENV.items() if env.get(PREFIX + var)}
    if topics:
        values["topics"] = Topics(**topics)
    if not str(values.get("redis_url", "redis://")).startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"{PREFIX}REDIS_URL: expected a redis://, rediss:// or unix:// URL")
    values["redis_url_given"] = PREFIX + "REDIS_URL" in env
    settings = Settings(**values)  # type: ignore[arg-type]
    if settings.kafka_security_protocol.startswith("SASL_") and not (settings.kafka_sasl_username and settings.kafka_sasl_password):
        raise ConfigError(f"{PREFIX}KAFKA_SASL_USERNAME and {PREFIX}KAFKA_SASL_PASSWORD are required with {settings.kafka_security_protocol}")
    for name in ("redis_ca_file", "kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile"):
        path = getattr(settings, name)
        if path and not Path(path).is_file():
            raise ConfigError(f"{PREFIX}{name.upper()}: no such file {path}")
    return settings
