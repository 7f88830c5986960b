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


# Factors that depend on the profile (and the standard) alone: measured once per profile.
PROFILE_ONLY = frozenset(
    (
        "customer_country",
        "industry",
        "occupation",
        "pep",
        "listed",
        "under_investigation",
        "criminal_record",
        "doubtful_funds",
        "ownership_opaque",
        "high_risk_partners",
        "high_risk_industry_role",
        "profile_completeness",
        "products",
        "e_banking_use",
        "anonymous_account_request",
        "refused_cdd",
        "false_documents",
    )
)


@dataclass(frozen=True, slots=True)
class FactorDef:
    id: str
    group: str
    description: str
    measure: Measure

    @property
    def profile_only(self) -> bool:
        return self.id in PROFILE_ONLY


FACTORS: dict[str, FactorDef] = {spec[0]: FactorDef(*spec) for module in (country, industry, customer, business, behaviour) for spec in module.FACTORS}

FACTOR_GROUPS: dict[str, str] = {f.id: f.group for f in FACTORS.values()}

__all__ = ["FACTORS", "FACTOR_GROUPS", "GROUPS", "PROFILE_ONLY", "FactorDef", "Measure"]
