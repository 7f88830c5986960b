"""The factor catalogue: every factor the scoring standard may weight, by id, in the material's
four groups plus one: country, industry, customer, business, behaviour (其他)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from factors.catalog import behaviour, business, country, customer, industry
from factors.standard import Standard
from factors.view import CustomerView, Measurement

Measure = Callable[[CustomerView, dict[str, Any], Standard], Measurement | None]
GROUPS = ("country", "industry", "customer", "business", "behaviour")


@dataclass(frozen=True, slots=True)
class FactorDef:
    id: str
    group: str
    description: str
    measure: Measure


FACTORS: dict[str, FactorDef] = {spec[0]: FactorDef(*spec) for module in (country, industry, customer, business, behaviour) for spec in module.FACTORS}

FACTOR_GROUPS: dict[str, str] = {f.id: f.group for f in FACTORS.values()}

__all__ = ["FACTORS", "FACTOR_GROUPS", "GROUPS", "FactorDef", "Measure"]
