"""ISO code tables the inputs are checked against: currencies' minor units (ISO 4217) and country
codes (ISO 3166-1 alpha-2).

The tables come from maintained packages, not from this project: `iso4217` (the ISO 4217
maintenance agency's list, versioned by its publication date) and `pycountry` (the Debian
iso-codes database). Pure lookups, no I/O beyond reading the packages' own data once.
"""

from __future__ import annotations

from functools import cache

import pycountry
from iso4217 import Currency

# Kosovo: a user-assigned code (not ISO's), yet the one SWIFT, the EU and the IBAN registry use for
# it; a transfer to Kosovo must not be set aside for its country code.
EXTRA_COUNTRIES = frozenset(("XK",))


@cache
def minor_unit(currency: str) -> int | None:
    """Digits after the decimal point of `currency` (ISO 4217 "minor unit": CNY 2, JPY 0, KWD 3),
    or None when the code is not an ISO 4217 currency or has no minor unit (gold XAU, SDR XDR)."""
    try:
        return Currency(currency).exponent
    except ValueError:
        return None


@cache
def is_country(code: str) -> bool:
    """True for an assigned ISO 3166-1 alpha-2 code (upper case, e.g. CN, HK) and for XK (Kosovo)."""
    if code in EXTRA_COUNTRIES:
        return True
    if len(code) != 2 or not code.isascii() or not code.isupper():
        return False
    return pycountry.countries.get(alpha_2=code) is not None
