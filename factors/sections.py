"""The standard's tables other than factors and patterns: levels, hard rules, hysteresis, review
periods, alert consolidation, large-value overrides, peer groups and the country lists."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from factors.config import Alpha2, Code, Count, Days, Points, Strict
from factors.patterns import PARAMS

LevelName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,31}$", description="a level name: a letter, then letters, digits, _ or -")]
HardRuleLevel = Annotated[str, Field(pattern=r"^([A-Za-z][A-Za-z0-9_-]{0,31})?$", description='a level of this standard, or "" to disable the rule')]
Months = Annotated[float, Field(gt=0, le=120)]
IsoDate = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="a date, YYYY-MM-DD")]
PatternOrAll = Literal[("*", *PARAMS)]  # type: ignore[valid-type]


class LevelCut(Strict):
    """One `[[levels]]` entry: a risk level and the lowest score that reaches it."""

    level: LevelName
    """Level name carried in events (normal, watch, suspicious, prohibited; or high/medium/low, ...)."""
    min_score: Annotated[float, Field(ge=0, le=100_000)]
    """Inclusive lower limit of the score; the first level starts at 0, the others ascend strictly."""
    display: Annotated[str, Field(max_length=64)] = ""
    """Name shown to people (正常, 关注, ...); the level name when not given."""
    code: Annotated[str, Field(pattern=r"^\d{1,4}$")] | None = None
    """Report code of the level where the scheme has one (10-14), a string of digits."""

    @model_validator(mode="before")
    @classmethod
    def _display_defaults_to_level(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("display") and isinstance(data.get("level"), str):
            return {**data, "display": data["level"]}
        return data


class HardRules(Strict):
    """`[hard_rules]`: minimum levels regardless of score ("" disables a rule)."""

    listed: HardRuleLevel = "prohibited"
    """UN/government list or sanctions hit."""
    pep: HardRuleLevel = "watch"
    """Politically exposed person."""
    ownership_opaque: HardRuleLevel = "watch"
    """Beneficial owner cannot be identified."""
    repeated_reports: HardRuleLevel = "suspicious"
    """Repeated high/critical suspicious-pattern alerts ..."""
    repeated_min_alerts: Count = 2
    """... at least this many distinct alerts ..."""
    repeated_within_days: Days = 90.0
    """... within this many days of event time."""

    def level_refs(self) -> dict[str, str]:
        return {"listed": self.listed, "pep": self.pep, "ownership_opaque": self.ownership_opaque, "repeated_reports": self.repeated_reports}


class Hysteresis(Strict):
    """`[hysteresis]`: an upgrade applies at once; a downgrade only after the cooling period."""

    downgrade_cooling_days: Annotated[float, Field(ge=0, le=3_650)] = 30.0
    """Days a customer must stay below its level before the downgrade applies."""


class Review(Strict):
    """`[review]`: periodic review of each level."""

    months: dict[LevelName, Months] = Field(default_factory=dict)
    """Review period per level, months (0 < months <= 120); a level not named: 12."""


class Alerts(Strict):
    """`[alerts]`: consolidation of further hits of a pattern into the open alert."""

    monitoring_days: Days = 90.0
    """Further hits of a pattern within this period update the open alert instead of opening a new one."""
    consolidate: tuple[PatternOrAll, ...] = ("*",)
    """Patterns that consolidate ("*" = all)."""


# Bounds of a large-value threshold: below one fen (cent) it is finer than any amount counted
# (amounts are whole fen, USD equivalents whole cents), so it can only be a unit slip; above 500
# times the largest line of PBoC Order [2016] No. 3 art. 5 (CNY 2,000,000 / USD 200,000) no
# customer's day is a report any more: a digit too many, not a policy. Between them, a threshold
# other than the PBoC's is legal and check-standard warns (factors.lint).
LARGE_VALUE_MIN = 0.01
LARGE_VALUE_MAX_CNY = 1e9
LARGE_VALUE_MAX_USD = 1e8


class LargeValueThresholds(Strict):
    cny: Annotated[float, Field(ge=LARGE_VALUE_MIN, le=LARGE_VALUE_MAX_CNY)] | None = None
    """Threshold for CNY amounts, CNY, 0.01 to 1e9 (the PBoC figure when not given; another one draws a check-standard warning)."""
    usd: Annotated[float, Field(ge=LARGE_VALUE_MIN, le=LARGE_VALUE_MAX_USD)] | None = None
    """Threshold for foreign-currency amounts, USD equivalent, 0.01 to 1e8 (the PBoC figure when not given; another one draws a check-standard warning)."""


class LargeValue(Strict):
    """`[large_value]`: large-value transaction reports (大额交易报告)."""

    unknown_profile_kind: Literal["individual", "entity"] = "individual"
    """Customers without a profile are treated as this kind."""
    rules: dict[Literal["0501", "0502", "0503", "0504"], LargeValueThresholds] = Field(default_factory=dict)
    """Overrides of the PBoC thresholds per report code, e.g. `rules.0501 = { cny = 50000, usd = 10000 }`."""
    own_bank: tuple[Annotated[str, Field(min_length=1, max_length=512)], ...] = ()
    """This bank as transactions' `counterparty_bank` may name it (BIC, CNAPS code, name). A leg to
    an account the profile lists as the customer's own is an own-account move (not reported:
    Order 2016 No. 3 art. 10 (1), another account of the same name at the same institution)
    only when `counterparty_bank` is absent or one of these; compared after normalisation."""


class Peer(Strict):
    """`[peer]`: peer groups (customer kind x industry)."""

    min_customers: Count = 20
    """A peer group smaller than this has no baseline."""


class CountryList(Strict):
    """One `[lists.countries.<name>]` table."""

    points: Points = 0.0
    """Points of a customer whose nationality/registration or residence is on the list."""
    high_risk_flows: bool = False
    """true: counterparties in these countries are high-risk jurisdictions for transaction flows."""
    countries: tuple[Alpha2, ...]
    """ISO 3166-1 alpha-2 codes."""


class Lists(Strict):
    """`[lists]`: country/region (地域) lists with their as-of date."""

    as_of: IsoDate | Literal[""] = ""
    """Date the lists were last checked against their sources, YYYY-MM-DD."""
    countries: dict[Code, CountryList] = Field(default_factory=dict)
    """Named lists (sanctioned, fatf_call_for_action, ...)."""


Table = dict[Code, Points]
