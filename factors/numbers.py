"""Exact ratios for configured thresholds (parsed once: rules run per transaction)."""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache


@lru_cache(maxsize=256)
def ratio(value: object) -> Fraction:
    """`value` (a number or decimal string from the standard) as an exact fraction: 0.8 is 4/5."""
    return Fraction(str(value))
