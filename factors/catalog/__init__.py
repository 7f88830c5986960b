"""The factor catalogue: every factor the scoring standard may weight, by id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from factors.catalog import behaviour
from factors.view import CustomerView, Measurement

Measure = Callable[[CustomerView, dict[str, Any]], Measurement | None]


@dataclass(frozen=True, slots=True)
class FactorDef:
    id: str
    group: str  # country | industry | customer | business | behaviour
    description: str
    measure: Measure


FACTORS: dict[str, FactorDef] = {spec[0]: FactorDef(*spec) for spec in behaviour.FACTORS}

FACTOR_GROUPS: dict[str, str] = {f.id: f.group for f in FACTORS.values()}

__all__ = ["FACTORS", "FACTOR_GROUPS", "FactorDef", "Measure"]
