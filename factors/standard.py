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
from dataclasses import dataclass, field, replace
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
    code: str | None = None  # report code of the level where the scheme has one (10-14)


@dataclass(frozen=True, slots=True)
class CountryList:
    name: str
    points: float
    countries: frozenset[str]
    high_risk_flows: bool  # counts as a high-risk jurisdiction for transaction flows


@dataclass(frozen=True, slots=True)
class FactorSetting:
    """The standard's entry for one factor: its weight, bands and free parameters."""

    id: str
    group: str
    weight: float
    bands: Bands | None  # None: the factor's value is already points (table-driven factors)
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
    lists_as_of: str = ""
    country_lists: tuple[CountryList, ...] = ()
    tables: dict[str, dict[str, float]] = field(default_factory=dict)  # industries, occupations, products
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)  # review, hysteresis, hard_rules, alerts, large_value, ...

    def settings(self, section: str) -> dict[str, Any]:
        return self.sections.get(section, {})

    def review_months(self, level: str) -> float:
        return float(self.settings("review").get("months", {}).get(level, 12))

    @property
    def high_risk_countries(self) -> frozenset[str]:
        return frozenset().union(*(c.countries for c in self.country_lists if c.high_risk_flows))

    def max_level(self, *levels: str) -> str:
        return max(levels, key=self.rank)

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
                code=str(item["code"]) if "code" in item else None,
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
        bands = Bands.parse(item["bands"], f"{where}.bands") if "bands" in item else None
        settings.append(FactorSetting(factor_id, known[factor_id], weight, bands, params))
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


SECTIONS = ("review", "hysteresis", "hard_rules", "alerts", "large_value", "detections", "peer")
TABLES = ("industries", "occupations", "products")


def _parse_lists(raw: dict[str, Any]) -> tuple[str, tuple[CountryList, ...]]:
    as_of = str(raw.get("as_of", ""))
    lists = []
    for name, item in raw.get("countries", {}).items():
        where = f"lists.countries.{name}"
        if not isinstance(item, dict):
            raise StandardError(f"{where}: expected a table with points and countries")
        codes = _require(item, "countries", list, where)
        bad = [c for c in codes if not (isinstance(c, str) and len(c) == 2 and c.isupper())]
        if bad:
            raise StandardError(f"{where}.countries: not ISO 3166-1 alpha-2: {bad[:5]}")
        lists.append(CountryList(name, float(item.get("points", 0)), frozenset(codes), bool(item.get("high_risk_flows", False))))
    return as_of, tuple(lists)


def _parse_tables(raw: dict[str, Any]) -> dict[str, dict[str, float]]:
    tables = {}
    for name in TABLES:
        table = raw.get(name, {})
        if not isinstance(table, dict) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in table.values()):
            raise StandardError(f"{name}: expected a table of code = points")
        tables[name] = {str(k): float(v) for k, v in table.items()}
    return tables


HARD_RULE_DEFAULTS = {"listed": "prohibited", "pep": "watch", "ownership_opaque": "watch", "repeated_reports": "suspicious"}


def _check_sections(sections: dict[str, dict[str, Any]], levels: tuple[LevelCut, ...]) -> None:
    names = {c.level for c in levels}
    rules = sections.get("hard_rules", {})
    for rule, default in HARD_RULE_DEFAULTS.items():
        level = rules.get(rule, default)
        if level and level not in names:
            raise StandardError(f'hard_rules.{rule}: {level!r} is not a level of this standard (set it, or "" to disable)')
    for level in sections.get("review", {}).get("months", {}):
        if level not in names:
            raise StandardError(f"review.months: {level!r} is not a level of this standard")


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
    levels = _parse_levels(_require(raw, "levels", list, "standard"))
    sections = {name: raw.get(name, {}) for name in SECTIONS}
    _check_sections(sections, levels)
    lists_as_of, country_lists = _parse_lists(raw.get("lists", {}))
    patterns = _parse_patterns(raw.get("patterns", {}), known_patterns)
    flows = sorted(frozenset().union(*(c.countries for c in country_lists if c.high_risk_flows)))
    jurisdiction = patterns.get("high_risk_jurisdiction")
    if jurisdiction is not None and "countries" not in jurisdiction.params:
        # the pattern follows the standard's high-risk lists unless it names its own
        patterns["high_risk_jurisdiction"] = replace(jurisdiction, params={**jurisdiction.params, "countries": flows})
    return Standard(
        version=version,
        model_version=f"{version}+{digest}",
        timezone=timezone,
        fx=_parse_fx(_require(raw, "fx", dict, "standard")),
        levels=levels,
        factors=_parse_factors(raw.get("factors", []), known_factors),
        patterns=patterns,
        lists_as_of=lists_as_of,
        country_lists=country_lists,
        tables=_parse_tables(raw),
        sections=sections,
    )
