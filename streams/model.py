"""The loaded scoring standard and the calendar derived from it, swappable as one unit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from factors.calendar import BusinessCalendar
from factors.catalog import FACTOR_GROUPS
from factors.errors import StandardError
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


def load_model(path: Path | None = None, timezone_override: str | None = None) -> Model:
    """Load and validate the scoring standard; errors never echo the file's contents."""
    source = path or DEFAULT_STANDARD_PATH
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise ConfigError(f"model config {source}: cannot read ({exc.strerror})") from exc
    try:
        standard = parse_standard(data, known_factors=FACTOR_GROUPS, known_patterns=set(PATTERNS))
    except StandardError as exc:
        raise ConfigError(f"model config {source}: {exc}") from exc
    return Model(standard, BusinessCalendar(timezone_override or standard.timezone), source)
