"""The loaded scoring standard and the calendar derived from it, swappable as one unit."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from factors.calendar import BusinessCalendar
from factors.catalog import FACTOR_GROUPS
from factors.errors import StandardError
from factors.network.rules import NETWORK_PATTERNS, load_rules
from factors.patterns import PATTERNS
from factors.standard import DEFAULT_STANDARD_PATH, Standard, parse_standard
from streams.errors import ConfigError


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
        setting = self.standard.patterns.get("dormant_reactivation")
        return int(setting.params.get("dormant_days", 180)) if setting else 180


def _readable_by_others(path: Path) -> bool:
    """Readable or writable by users other than the owner: any "other" bit, or group bits for a
    group the worker itself is not in (a Kubernetes fsGroup mount is the worker's own group)."""
    st = path.stat()
    if st.st_mode & 0o007:
        return True
    return bool(st.st_mode & 0o070) and st.st_gid not in {os.getegid(), *os.getgroups()}


def load_model(path: Path | None = None, timezone_override: str | None = None, *, allow_readable: bool = False) -> Model:
    """Load and validate the scoring standard; errors never echo the file's contents.

    The standard is confidential (保密性): a bank's own file must not be readable by other users
    of the machine, unless `allow_readable` says so explicitly. The packaged default is public.
    """
    source = path or DEFAULT_STANDARD_PATH
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise ConfigError(f"model config {source}: cannot read ({exc.strerror})") from exc
    if path is not None and _readable_by_others(source) and not allow_readable:
        raise ConfigError(
            f"model config {source} is readable by other users (mode {source.stat().st_mode & 0o777:o}): the scoring standard is confidential; "
            "chmod 600 it, or set AMLSTREAM_ALLOW_READABLE_MODEL=1"
        )
    try:
        standard = parse_standard(data, known_factors=FACTOR_GROUPS, known_patterns=set(PATTERNS) | NETWORK_PATTERNS)
        load_rules(standard)  # network rule parameters validated when the standard is loaded
    except StandardError as exc:
        raise ConfigError(f"model config {source}: {exc}") from exc
    return Model(standard, BusinessCalendar(timezone_override or standard.timezone), source)
