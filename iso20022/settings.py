"""Settings of the ISO 20022 adapter beyond the worker's (`AMLSTREAM_ISO20022_*`); the topics, Kafka
and metrics settings are the worker's (streams.settings)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from streams.errors import ConfigError

_BANK_ID = re.compile(r"[A-Za-z0-9]{1,35}")


@dataclass(frozen=True, slots=True)
class AdapterSettings:
    group_id: str = "amlstream-iso20022"  # the adapter's own consumer group
    bank_ids: frozenset[str] = frozenset()  # the bank's BICs (first 8 letters compared) and clearing member ids; empty: accounts alone decide
    bank_country: str = "CN"  # the bank's country when a camt.054 does not name the account servicer


def load_adapter_settings(env: Mapping[str, str] | None = None) -> AdapterSettings:
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    if env.get("AMLSTREAM_ISO20022_GROUP_ID", "").strip():
        values["group_id"] = env["AMLSTREAM_ISO20022_GROUP_ID"].strip()
    raw = env.get("AMLSTREAM_ISO20022_BANK_IDS", "").strip()
    if raw:
        ids = [part.strip() for part in raw.split(",") if part.strip()]
        bad = [i for i in ids if not _BANK_ID.fullmatch(i)]
        if bad:
            raise ConfigError(f"AMLSTREAM_ISO20022_BANK_IDS: {bad[0]!r} is not a BIC or clearing member id")
        # a BIC11 is compared on its first 8 letters (the institution), like any BIC8
        values["bank_ids"] = frozenset(i.upper()[:8] if len(i) == 11 and i[:6].isalpha() else i for i in ids)
    country = env.get("AMLSTREAM_ISO20022_BANK_COUNTRY", "").strip()
    if country:
        if not re.fullmatch(r"[A-Z]{2}", country):
            raise ConfigError(f"AMLSTREAM_ISO20022_BANK_COUNTRY={country!r}: an ISO 3166 alpha-2 code")
        values["bank_country"] = country
    return AdapterSettings(**values)  # type: ignore[arg-type]
