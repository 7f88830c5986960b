"""Currency conversion to CNY fen with a configured FX table (exact decimal arithmetic)."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from pydantic import BeforeValidator, Field, field_validator
from pydantic.dataclasses import dataclass

from factors.config import STRICT
from factors.iso_codes import minor_unit

FEN_PER_YUAN = 100

PLAIN_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
"""An amount as a string: digits, optionally a point and more digits (no sign, exponent, spaces,
separators or underscores; the transaction schema's pattern)."""


def _plain_rate(value: object) -> object:
    # Decimal itself reads "7_10" as 710 and " 7.10 ", "+7.1", "1e1" or full-width digits too: a rate
    # written as a string must be a plain decimal, as an amount must
    if isinstance(value, str):
        if not PLAIN_DECIMAL.fullmatch(value.removeprefix("-")):  # a negative one is told it must be above 0
            raise ValueError('expected a plain decimal string such as "7.10" (digits and one point: no sign, exponent, spaces or underscores)')
        return Decimal(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))  # the shortest decimal that reads back as the same float ("7.1", not 7.0999...)
    return value


Rate = Annotated[Decimal, Field(gt=0, le=10_000, allow_inf_nan=False), BeforeValidator(_plain_rate)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="an ISO 4217 currency code (three capital letters)")]


@dataclass(slots=True, config=STRICT)  # frozen by STRICT
class FxTable:
    """Units of CNY per one unit of each currency, as of a date (the config records it).

    `[fx]` of the standard: rates are plain decimal strings ("7.10"; not "7_10" or " 7.10 ") or numbers, positive and at most
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
        # an amount is checked against its currency's minor unit: a code without one cannot be read exactly
        unknown = sorted(c for c in rates if minor_unit(c) is None)
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not an ISO 4217 currency with a minor unit (gold, SDR and test codes have none)")
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


def decimal_places(amount: str | int | float) -> int:
    """Digits after the point: of a string as written ("100.50" has 2), of a JSON number by its value
    (a parser keeps no trailing zeros: 100.50 is 100.5, 1 place; 100.0 is integral, 0)."""
    if isinstance(amount, str):
        point = amount.find(".")
        return 0 if point < 0 else len(amount) - point - 1
    value = Decimal(amount) if isinstance(amount, int) else Decimal(repr(amount))
    if value == value.to_integral_value():
        return 0
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def minor_unit_problem(amount: str | int | float, currency: str) -> str | None:
    """Why `amount` cannot be an amount of `currency` exactly, or None: more decimal places than
    the currency's ISO 4217 minor unit (CNY 25000.005, JPY 100.5) would have to be rounded away,
    and a currency without a minor unit cannot be checked. Shared by the decoder and the ISO 20022
    adapter, so both inputs take the same amounts."""
    places = minor_unit(currency)
    if places is None:
        return f"{currency[:8]!r} is not an ISO 4217 currency with a minor unit"
    written = decimal_places(amount)
    if written > places:
        return f"{str(amount)[:40]} {currency} has {_places(written)}; {currency} has {_places(places)} (ISO 4217 minor unit): it would have to be rounded"
    return None


def _places(n: int) -> str:
    return "no decimal places" if n == 0 else f"{n} decimal place{'s' if n > 1 else ''}"


def yuan(fen: int) -> float:
    """Fen as yuan for evidence and thresholds shown to people (exact to the fen in JSON)."""
    return fen / FEN_PER_YUAN
