"""The scoring standard (评分标准): one versioned TOML file, loaded into typed, frozen, validated models.

The file is the bank's confidential scoring standard: factor parameters, points, weights,
level cut-offs, FX rates, timezone and pattern thresholds. `model_version` (its declared
version plus a digest of its bytes and of the deployment settings that change outputs, see
`version_digest`) goes into every event so an auditor can tell exactly which standard, under
which settings, produced a figure, without the standard itself ever leaving the worker.

Every table is a strict model (`factors.config`): wrong types, units in strings, unknown keys
or sections, out-of-range numbers and quoted booleans are errors, each reported with its TOML
path and what was expected, all of a file at once (`parse_standard` raises `StandardError`).
The JSON Schema of the file (`standard_schema()`) is generated from the same models.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Annotated, Any, ClassVar, NamedTuple

from pydantic import Field, PrivateAttr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from factors.bands import Band
from factors.calendar import is_timezone
from factors.catalog import FACTORS, FactorEntry, FactorSetting, Measure
from factors.config import PatternParams, Strict
from factors.errors import Problem, StandardError
from factors.money import FxTable
from factors.patterns import PATTERNS, Detect, Patterns, PatternTables
from factors.problems import problems_from
from factors.sections import Alerts, HardRules, Hysteresis, LargeValue, LevelCut, Lists, Peer, Review, Table
from factors.thresholds import Relative

DEFAULT_STANDARD_PATH = Path(__file__).parent / "standards" / "default.toml"
SCHEMA_PATH = Path(__file__).parent / "standards" / "standard.schema.json"
DEFAULT_REVIEW_MONTHS = 12.0
SECTIONS = ("review", "hysteresis", "hard_rules", "alerts", "large_value", "peer")


class FactorStep(NamedTuple):
    """One weighted factor, ready for scoring: `table` is its bands as (min, points, band) tuples."""

    id: str
    group: str
    weight: float
    table: tuple[tuple[float, float, Band], ...] | None
    measure: Measure
    profile_only: bool
    setting: FactorSetting


@dataclass(frozen=True, slots=True)
class NamedList:
    """A country list as the factors use it: its name (the table's key), points and codes."""

    name: str
    points: float
    countries: frozenset[str]
    high_risk_flows: bool


def _errors(*details: tuple[tuple[str | int, ...], str]) -> ValidationError:
    """A validation error with one entry per (location, message); the messages name no value."""
    return ValidationError.from_exception_data(
        "Standard", [InitErrorDetails(type=PydanticCustomError("standard", message), loc=loc, input=None) for loc, message in details]
    )


def _level_names(info: ValidationInfo) -> set[str]:
    """The standard's level names: from its validated levels, or, when those have errors of their
    own, from the file as given (so references to levels are still checked in the same run)."""
    if "levels" in info.data:
        return {c.level for c in info.data["levels"]}
    return set((info.context or {}).get("level_names", ()))


class Standard(Strict):
    """The scoring standard: the root of the TOML file."""

    version: Annotated[str, Field(pattern=r"^[^\s+]{1,64}$")]
    """The standard's version, bumped on every change (1-64 characters, no spaces, no +); events carry it with a digest of the file."""
    timezone: str
    """IANA timezone of the business day (same-day totals, day windows, reports), e.g. Asia/Shanghai."""
    fx: FxTable
    levels: Annotated[tuple[LevelCut, ...], Field(min_length=2, max_length=10)]
    """Risk levels from lowest to highest, 2 to 10 of them."""
    hard_rules: Annotated[HardRules, Field(validate_default=True)] = HardRules()
    hysteresis: Hysteresis = Hysteresis()
    review: Annotated[Review, Field(validate_default=True)] = Review()
    alerts: Alerts = Alerts()
    large_value: LargeValue = LargeValue()
    peer: Peer = Peer()
    lists: Lists = Lists()
    industries: Table = Field(default_factory=dict)
    """Industry code = points (行业)."""
    occupations: Table = Field(default_factory=dict)
    """Occupation code = points (职业)."""
    products: Table = Field(default_factory=dict)
    """Product code = points (业务)."""
    factors: tuple[FactorEntry, ...] = ()
    """The weighted factors, each at most once."""
    patterns: Patterns = Patterns()  # type: ignore[valid-type]
    """The suspicious-pattern rules that run, with their parameters."""

    _digest: str = PrivateAttr("")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        if not is_timezone(name):
            raise ValueError("expected an IANA timezone name such as Asia/Shanghai")
        return name

    @field_validator("levels")
    @classmethod
    def _levels_ascend(cls, levels: tuple[LevelCut, ...]) -> tuple[LevelCut, ...]:
        problems = []
        if levels[0].min_score != 0:
            problems.append(((0, "min_score"), "the lowest level must start at min_score = 0"))
        for i, (a, b) in enumerate(itertools.pairwise(levels), start=1):
            if a.min_score >= b.min_score:
                problems.append(((i, "min_score"), "min_score must be strictly ascending"))
        seen: set[str] = set()
        for i, cut in enumerate(levels):
            if cut.level in seen:
                problems.append(((i, "level"), "level names must be unique"))
            seen.add(cut.level)
        if problems:
            raise _errors(*problems)
        return levels

    @field_validator("hard_rules")
    @classmethod
    def _hard_rule_levels(cls, rules: HardRules, info: ValidationInfo) -> HardRules:
        names = _level_names(info)
        if names:
            bad = [
                ((rule,), 'not a level of this standard (name one of its levels, or "" to disable)')
                for rule, level in rules.level_refs().items()
                if level and level not in names
            ]
            if bad:
                raise _errors(*bad)
        return rules

    @field_validator("review")
    @classmethod
    def _review_levels(cls, review: Review, info: ValidationInfo) -> Review:
        names = _level_names(info)
        if names:
            bad = [(("months", level), "not a level of this standard") for level in review.months if level not in names]
            if bad:
                raise _errors(*bad)
        return review

    @field_validator("patterns")
    @classmethod
    def _known_peer_groups(cls, patterns: Any, info: ValidationInfo) -> Any:
        """A relative threshold's peer_groups name industries of this standard (or "unknown")."""
        known = set(info.data.get("industries") or ()) | {"unknown"}
        bad = [
            ((rule, key, "peer_groups", i), 'unknown peer group: the industry is not one of the standard\'s [industries] (nor "unknown")')
            for rule, params in patterns.configured().items()
            for key, value in params
            if isinstance(value, Relative) and value.peer_groups
            for i, group in enumerate(value.peer_groups)
            if group.split(":", 1)[1] not in known
        ]
        if bad:
            raise _errors(*bad)
        return patterns

    @field_validator("factors")
    @classmethod
    def _factors_once_with_bands(cls, factors: tuple[FactorSetting, ...]) -> tuple[FactorSetting, ...]:
        problems = []
        seen: set[str] = set()
        for i, setting in enumerate(factors):
            if setting.id in seen:
                problems.append(((i, "id"), "each factor may appear once"))
            seen.add(setting.id)
            if setting.bands is None and setting.value_kind not in ("points", "flag"):
                problems.append(((i, "bands"), f"required: the factor measures {setting.value_kind}, which its bands turn into points"))
        if problems:
            raise _errors(*problems)
        return factors

    @model_validator(mode="after")
    def _derive(self, info: ValidationInfo) -> Standard:
        flows = self.high_risk_countries
        jurisdiction = self.patterns.get("high_risk_jurisdiction")
        if jurisdiction is not None and "countries" not in jurisdiction.model_fields_set:
            # the rule follows the standard's high-risk lists unless it names its own
            injected = jurisdiction.model_copy(update={"countries": tuple(sorted(flows))})
            object.__setattr__(self, "patterns", self.patterns.model_copy(update={"high_risk_jurisdiction": injected}))
        self._digest = (info.context or {}).get("digest", "")
        return self

    # Derived once, on first use, into the instance's dict: read per transaction, they must cost a
    # plain attribute lookup (a pydantic private attribute or property costs microseconds).
    DERIVED: ClassVar[tuple[str, ...]] = ("model_version", "country_lists", "high_risk_countries", "active_patterns", "ranks", "lists_as_of", "scoring_plan")

    @cached_property
    def model_version(self) -> str:
        return f"{self.version}+{self._digest}" if self._digest else self.version

    @cached_property
    def country_lists(self) -> tuple[NamedList, ...]:
        return tuple(NamedList(name, c.points, frozenset(c.countries), c.high_risk_flows) for name, c in self.lists.countries.items())

    @cached_property
    def lists_as_of(self) -> str:
        return self.lists.as_of

    @cached_property
    def high_risk_countries(self) -> frozenset[str]:
        return frozenset().union(*(c.countries for c in self.country_lists if c.high_risk_flows))

    @cached_property
    def active_patterns(self) -> tuple[tuple[Detect, PatternParams], ...]:
        """(detect, params) of every enabled rule, in the file's order."""
        return tuple((PATTERNS[k], p) for k, p in self.patterns.configured().items() if p.enabled and k in PATTERNS)  # network rules: factors.network.rules

    @cached_property
    def ranks(self) -> dict[str, int]:
        return {cut.level: i for i, cut in enumerate(self.levels)}

    @cached_property
    def scoring_plan(self) -> tuple[FactorStep, ...]:
        """The factors as plain tuples for the per-transaction loop of `factors.scoring.assess`."""
        return tuple(
            FactorStep(s.id, s.group, s.weight, s.bands.table if s.bands is not None else None, FACTORS[s.id].measure, FACTORS[s.id].profile_only, s)
            for s in self.factors
        )

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Standard:
        """A copy with `update` applied; its derived values are computed afresh."""
        copy = super().model_copy(update=update, deep=deep)
        for name in self.DERIVED:
            copy.__dict__.pop(name, None)
        return copy

    @property
    def tables(self) -> dict[str, dict[str, float]]:
        return {"industries": self.industries, "occupations": self.occupations, "products": self.products}

    def settings(self, section: str) -> dict[str, Any]:
        """A section as a plain dict, for code written against the untyped standard; new code reads
        the typed attributes (`standard.hysteresis.downgrade_cooling_days`): this copies."""
        return getattr(self, section).model_dump() if section in SECTIONS else {}

    def review_months(self, level: str) -> float:
        return self.review.months.get(level, DEFAULT_REVIEW_MONTHS)

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
        try:
            return self.ranks[level]
        except KeyError:
            raise StandardError(f"unknown level {level!r}") from None


def read_toml(data: bytes) -> dict[str, Any]:
    """The TOML document as plain data; StandardError if it is not UTF-8 TOML."""
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise StandardError([Problem("", "not UTF-8 text")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise StandardError([Problem("", f"not valid TOML: {exc}")]) from None


def as_json(raw: dict[str, Any]) -> str:
    """TOML data as JSON text (dates and times as ISO strings), validated in pydantic's JSON mode:
    strict there means a TOML array is an array, a string never becomes a number."""
    return json.dumps(raw, default=str, ensure_ascii=False)


def version_digest(data: bytes, inputs: Mapping[str, Any] | None = None) -> str:
    """12 hex characters of the SHA-256 of the file's bytes and, when given, of `inputs` (the
    deployment's settings that change outputs, as canonical JSON: sorted keys, no spaces)."""
    digest = hashlib.sha256(data)
    if inputs:
        digest.update(b"\0" + json.dumps(dict(inputs), sort_keys=True, separators=(",", ":"), default=str).encode())
    return digest.hexdigest()[:12]


def parse_standard(data: bytes, inputs: Mapping[str, Any] | None = None) -> Standard:
    """Parse and validate a standard from the bytes of its TOML file.

    `inputs`: the deployment settings that change outputs (`streams.model.MODEL_SETTINGS`), folded
    into `model_version`'s digest with the file; a `timezone` of None there stands for the file's
    own, so an override equal to it gives the same version.

    Raises StandardError listing every problem of the file (TOML path and what was expected).
    """
    raw = read_toml(data)
    if inputs is not None and "timezone" in inputs and inputs["timezone"] is None:
        inputs = {**inputs, "timezone": raw.get("timezone")}
    digest = version_digest(data, inputs)
    levels = raw.get("levels")
    names = [c["level"] for c in levels if isinstance(c, dict) and isinstance(c.get("level"), str)] if isinstance(levels, list) else []
    try:
        patterns = raw.get("patterns")
        order = list(patterns) if isinstance(patterns, dict) else []
        return Standard.model_validate_json(as_json(raw), context={"digest": digest, "level_names": names, "pattern_order": order})
    except ValidationError as exc:
        raise StandardError(problems_from(exc, raw, standard_schema())) from None


@cache
def standard_schema() -> dict[str, Any]:
    """The JSON Schema of the standard's TOML file (shipped as `standards/standard.schema.json`)."""
    schema = Standard.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "amlstream scoring standard (评分标准)"
    return schema


__all__ = [
    "DEFAULT_STANDARD_PATH",
    "FACTORS",
    "SCHEMA_PATH",
    "FactorSetting",
    "NamedList",
    "PatternParams",
    "PatternTables",
    "Standard",
    "parse_standard",
    "read_toml",
    "standard_schema",
    "version_digest",
]
