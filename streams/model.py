"""The loaded scoring standard and the calendar derived from it, swappable as one unit."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from factors.calendar import BusinessCalendar
from factors.errors import StandardError
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


def load_model(path: Path | None = None, timezone_override: str | None = None, *, allow_readable: bool = False) -> Model:
    """Load and validate the scoring standard; errors never echo the file's contents.

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
    try:
        standard = parse_standard(data)
    except StandardError as exc:
        raise ConfigError(*(f"model config {source}: {problem}" for problem in exc.problems)) from None
    return Model(standard, BusinessCalendar(timezone_override or standard.timezone), source)
