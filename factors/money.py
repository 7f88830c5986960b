"""Currency conversion to CNY fen with a configured FX table (exact decimal arithmetic)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

FEN_PER_YUAN = 100


@dataclass(frozen=True, slots=True)
class FxTable:
    """Units of CNY per one unit of each currency, as of a date (the config records it)."""

    as_of: str
    cny_per_unit: dict[str, Decimal]

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
