"""Settings of the filing stage: `AMLSTREAM_FILINGS_*` variables, read once (the connection
settings are the worker's own, streams.settings)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from filings.errors import FilingConfigError

PREFIX = "AMLSTREAM_FILINGS_"


@dataclass(frozen=True, slots=True)
class FilingSettings:
    config: Path | None = None  # None: the packaged default
    outbox: Path = Path("filings-outbox")
    inbox: Path = Path("filings-inbox")
    group_id: str = "amlstream-filings"
    decisions_topic: str = "aml.case-decisions.v1"
    metrics_port: int = 9465
    # leg archive, days of event time: revisions of large-value reports (7 days) and the evidence of
    # alerts an analyst confirms within the 90-day monitoring period
    archive_days: int = 100
    pack_interval_s: float = 60.0
    lease_ttl_s: float = 30.0


# the variables read, AMLSTREAM_FILINGS_<NAME>, and their types (the case-decisions topic is the
# worker's AMLSTREAM_TOPIC_CASE_DECISIONS)
VARIABLES: tuple[tuple[str, type], ...] = (
    ("CONFIG", Path),
    ("OUTBOX", Path),
    ("INBOX", Path),
    ("GROUP_ID", str),
    ("METRICS_PORT", int),
    ("ARCHIVE_DAYS", int),
    ("PACK_INTERVAL_S", float),
    ("LEASE_TTL_S", float),
)


def load_filing_settings(env: Mapping[str, str] | None = None) -> FilingSettings:
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    for name, conv in VARIABLES:
        raw = env.get(PREFIX + name, "").strip()
        if raw:
            try:
                values[name.lower()] = conv(raw)
            except ValueError:
                raise FilingConfigError(f"{PREFIX}{name}={raw!r}: expected {conv.__name__}") from None
    topic = env.get("AMLSTREAM_TOPIC_CASE_DECISIONS", "").strip()
    if topic:
        values["decisions_topic"] = topic
    settings = FilingSettings(**values)  # type: ignore[arg-type]
    if settings.archive_days < 1 or not 0 < settings.metrics_port < 65536 or settings.lease_ttl_s < 3:
        raise FilingConfigError(f"{PREFIX}ARCHIVE_DAYS >= 1, METRICS_PORT 1-65535 and LEASE_TTL_S >= 3 are required")
    return settings
