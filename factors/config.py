"""Building blocks of the scoring standard's models: one strict base and the bounded number types.

Every table of the standard is a frozen pydantic model with strict types (no "50,000" -> 50000,
no "false" -> False), `extra = "forbid"` (a misspelt key is an error, not a default) and no
NaN or infinity. The bounds are sanity limits, far outside anything a bank would configure,
that turn a slipped digit or a unit in the wrong place into an error:

| type       | range           | used for                                               |
|------------|-----------------|--------------------------------------------------------|
| Cny        | 0 .. 1e12       | amounts in CNY (a trillion: no threshold is larger)    |
| Points     | 0 .. 1,000      | points of a band, a table entry or a list              |
| Weight     | 0 .. 100        | a factor's weight                                      |
| Share      | (0, 1]          | shares and ratios of a part to its whole               |
| Multiple   | (0, 1,000]      | multiples of a baseline, a declared figure or a ratio  |
| Hours      | (0, 2,160]      | windows in hours (at most the 90-day retention)        |
| Days       | (0, 3,650]      | periods in days (ten years)                            |
| Count      | 0 .. 1,000,000  | minimum numbers of transactions, counterparties, peers |
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from factors.iso_codes import is_country

STRICT = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False, use_attribute_docstrings=True)

Cny = Annotated[float, Field(ge=0, le=1e12)]
Points = Annotated[float, Field(ge=0, le=1_000)]
Weight = Annotated[float, Field(ge=0, le=100)]
Share = Annotated[float, Field(gt=0, le=1)]
Multiple = Annotated[float, Field(gt=0, le=1_000)]
Hours = Annotated[float, Field(gt=0, le=2_160)]
Days = Annotated[float, Field(gt=0, le=3_650)]
Count = Annotated[int, Field(ge=0, le=1_000_000)]


def _assigned_country(code: str) -> str:
    if not is_country(code):
        raise ValueError("not an assigned ISO 3166-1 alpha-2 country code (the decoder refuses it in a transaction, so it would never match)")
    return code


Alpha2 = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="an ISO 3166-1 alpha-2 country code (two capital letters)"), AfterValidator(_assigned_country)]
Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Severity = Literal["low", "medium", "high", "critical"]


class Strict(BaseModel):
    """Base of every table of the standard: strict, closed, frozen."""

    model_config = STRICT


class PatternParams(Strict):
    """What every `[patterns.<id>]` table has; each rule's `Params` adds its own parameters."""

    enabled: bool = True
    """false: the rule is configured but does not run."""
    severity: Severity = "medium"
    """Severity of the alerts the rule raises; high and critical count towards the repeated-reports hard rule."""


class FactorParams(Strict):
    """Parameters of a factor (none by default); a factor that takes some declares a subclass next to it."""
