"""The scoring standard (评分标准): one versioned config file, loaded into frozen, validated data.

The file is the bank's confidential scoring standard: factor parameters, points, weights,
level cut-offs, FX rates, timezone and pattern thresholds. `model_version` (its declared
version plus a digest of its bytes) goes into every event so an auditor can tell exactly
which standard produced a figure, without the standard itself ever leaving the worker.
"""

from __future__ import annotations

import hashlib
import itertools
import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from factors.bands import Bands
from factors.errors import StandardError
from factors.money import FxTable

DEFAULT_STANDARD_PATH = Path(__file__).parent / "standards" / "default.toml"


@dataclass(frozen=True, slots=True)
class LevelCut:
    level: str
    min_score: float
    display: str


@dataclass(frozen=True, slots=True)
class FactorSetting:
    """The standard's entry for one factor: its weight, bands and free parameters."""

    id: str
    group: str
    weight: float
    bands: Bands
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PatternSetting:
    id: str
    enabled: bool
    severity: str
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Standard:
    version: str
    model_version: str
    timezone: str
    fx: FxTable
    levels: tuple[LevelCut, ...]  # ascending by min_score
    factors: tuple[FactorSetting, ...]
    patterns: dict[str, PatternSetting]

    def level_for(self, score: float) -> str:
        level = self.levels[0].level
        for cut in self.levels:
            if score >= cut.min_score:
                level = cut.level
        return level

    def rank(self, level: str) -> int:
        """Position of a level from lowest risk (0) upwards."""
        for i, cut in enumerate(self.levels):
            if cut.level == level:
                return i
        raise StandardError(f"unknown level {level!r}")


def _require(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise StandardError(f"{where}: missing '{key}'")
    value = table[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise StandardError(f"{where}.{key}: expected {kind}, got {type(value).__name__}")
    return value


def _parse_fx(raw: dict[str, Any]) -> FxTable:
    as_of = _require(raw, "as_of", str, "fx")
    rates_raw = _require(raw, "cny_per_unit", dict, "fx")
    rates: dict[str, Decimal] = {}
    for code, rate in rates_raw.items():
        if not (isinstance(code, str) and len(code) == 3 and code.isupper()):
            raise StandardError(f"fx.cny_per_unit: {code!r} is not an ISO 4217 code")
        try:
            value = Decimal(str(rate))
        except InvalidOperation as exc:
            raise StandardError(f"fx.cny_per_unit.{code}: {rate!r} is not a number") from exc
        if not value.is_finite() or value <= 0:
            raise StandardError(f"fx.cny_per_unit.{code}: rate must be positive")
        rates[code] = value
    if rates.get("CNY") != Decimal(1):
        raise StandardError("fx.cny_per_unit: CNY must be present with rate 1")
    if "USD" not in rates:
        raise StandardError("fx.cny_per_unit: USD is required (USD-denominated thresholds)")
    return FxTable(as_of=as_of, cny_per_unit=rates)


def _parse_levels(raw: list[Any]) -> tuple[LevelCut, ...]:
    cuts = []
    for i, item in enumerate(raw):
        where = f"levels[{i}]"
        if not isinstance(item, dict):
            raise StandardError(f"{where}: expected a table")
        cuts.append(
            LevelCut(
                level=_require(item, "level", str, where),
                min_score=float(_require(item, "min_score", (int, float), where)),
                display=str(item.get("display", item["level"])),
            )
        )
    if len(cuts) < 2:
        raise StandardError("levels: at least two levels are needed")
    if cuts[0].min_score != 0:
        raise StandardError("levels: the lowest level must start at min_score = 0")
    if any(a.min_score >= b.min_score for a, b in itertools.pairwise(cuts)):
        raise StandardError("levels: min_score must be strictly ascending")
    if len({c.level for c in cuts}) != len(cuts):
        raise StandardError("levels: level names must be unique")
    return tuple(cuts)


def _parse_factors(raw: list[Any], known: dict[str, str]) -> tuple[FactorSetting, ...]:
    settings = []
    for i, item in enumerate(raw):
        where = f"factors[{i}]"
        if not isinstance(item, dict):
            raise StandardError(f"{where}: expected a table")
        factor_id = _require(item, "id", str, where)
        if factor_id not in known:
            raise StandardError(f"{where}: unknown factor {factor_id!r} (known: {', '.join(sorted(known))})")
        weight = float(item.get("weight", 1.0))
        if weight < 0:
            raise StandardError(f"{where}: weight must be >= 0")
        params = {k: v for k, v in item.items() if k not in ("id", "weight", "bands")}
        settings.append(FactorSetting(factor_id, known[factor_id], weight, Bands.parse(item.get("bands"), f"{where}.bands"), params))
    if len({s.id for s in settings}) != len(settings):
        raise StandardError("factors: each factor may appear once")
    return tuple(settings)


def _parse_patterns(raw: dict[str, Any], known: set[str]) -> dict[str, PatternSetting]:
    patterns = {}
    for pattern_id, item in raw.items():
        where = f"patterns.{pattern_id}"
        if pattern_id not in known:
            raise StandardError(f"{where}: unknown pattern (known: {', '.join(sorted(known))})")
        if not isinstance(item, dict):
            raise StandardError(f"{where}: expected a table")
        severity = str(item.get("severity", "medium"))
        if severity not in ("low", "medium", "high", "critical"):
            raise StandardError(f"{where}.severity: one of low, medium, high, critical")
        params = {k: v for k, v in item.items() if k not in ("enabled", "severity")}
        patterns[pattern_id] = PatternSetting(pattern_id, bool(item.get("enabled", True)), severity, params)
    return patterns


def parse_standard(data: bytes, *, known_factors: dict[str, str], known_patterns: set[str]) -> Standard:
    """Parse and validate a standard from the bytes of its TOML file."""
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise StandardError(f"not valid TOML: {exc}") from exc
    version = _require(raw, "version", str, "standard")
    timezone = _require(raw, "timezone", str, "standard")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise StandardError(f"standard.timezone: unknown timezone {timezone!r}") from exc
    digest = hashlib.sha256(data).hexdigest()[:12]
    return Standard(
        version=version,
        model_version=f"{version}+{digest}",
        timezone=timezone,
        fx=_parse_fx(_require(raw, "fx", dict, "standard")),
        levels=_parse_levels(_require(raw, "levels", list, "standard")),
        factors=_parse_factors(raw.get("factors", []), known_factors),
        patterns=_parse_patterns(raw.get("patterns", {}), known_patterns),
    )
