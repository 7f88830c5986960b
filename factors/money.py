"""Currency conversion to CNY fen with a configured FX table (exact decimal arithmetic)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from pydantic import Field, field_validator
from pydantic.dataclasses import dataclass

from factors.config import STRICT

FEN_PER_YUAN = 100

Rate = Annotated[Decimal, Field(gt=0, le=10_000, allow_inf_nan=False)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="an ISO 4217 currency code (three capital letters)")]


@dataclass(slots=True, config=STRICT)  # frozen by STRICT
class FxTable:
    """Units of CNY per one unit of each currency, as of a date (the config records it).

    `[fx]` of the standard: rates are decimal strings ("7.10") or numbers, positive and at most
    10,000; CNY must be present with rate 1 and USD is required (USD-denominated thresholds).
    """

    as_of: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    """Date of the rates, YYYY-MM-DD."""
    cny_per_unit: dict[Currency, Rate]
    """CNY per one unit of each currency accepted in transactions; others are dead-lettered `unknown_currency`."""

    @field_validator("cny_per_unit")
    @classmethod
    def _cny_and_usd(cls, rates: dict[str, Decimal]) -> dict[str, Decimal]:
        if rates.get("CNY") != Decimal(1):
            raise ValueError("CNY must be present with rate 1")
        if "USD" not in rates:
            raise ValueError("USD is required (USD-denominated thresholds)")
        return rates

    def __contains__(self, currency: str) -> bool:
        return currency in self.cny_per_unit

    def to_fen(self, amount: Decimal, currency: str) -> int:
        """CNY fen of an amount in `currency`, rounded half-even to the fen."""
        fen = amount * self.cny_per_unit[currency] * FEN_PER_YUAN
        return int(fen.to_integral_value(rounding=ROUND_HALF_EVEN))

    def usd_fen_to_cny_fen(self, usd_fen: int) -> int:
        """CNY fen equivalent of an amount given in US cents (for USD-denominated thresholds)."""
        return int((Decimal(usd_fen) * self.cny_per_unit["USD"]).to_integral_value(rounding=ROUND_HALF_EVEN))


def yuan(fen: int) -> float:
    """Fen as yuan for evidence and thresholds shown to people (exact to the fen in JSON)."""
    return fen / FEN_PER_YUAN
