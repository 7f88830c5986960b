"""The customer profile (客户身份信息) as the risk model sees it."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

CustomerKind = Literal["individual", "entity"]

PRODUCTS: frozenset[str] = frozenset(
    (
        "self_service",
        "e_banking",
        "cross_border_remittance",
        "bills",
        "agency",
        "investment",
        "group_business",
        "bearer",
        "exchange_remittance",
    )
)
FLAGS: tuple[str, ...] = (
    "pep",
    "listed",
    "under_investigation",
    "criminal_record",
    "ownership_opaque",
    "doubtful_funds",
    "high_risk_partners",
    "refused_cdd",
    "anonymous_account_request",
    "false_documents",
)


@dataclass(frozen=True, slots=True)
class Profile:
    customer_id: str
    kind: CustomerKind
    updated_ms: int
    country: str | None = None
    residence_country: str | None = None
    industry: str | None = None
    occupation: str | None = None
    pep: bool = False
    listed: bool = False
    under_investigation: bool = False
    criminal_record: bool = False
    ownership_opaque: bool = False
    doubtful_funds: bool = False
    high_risk_partners: bool = False
    refused_cdd: bool = False
    anonymous_account_request: bool = False
    false_documents: bool = False
    products: tuple[str, ...] = ()
    declared_annual_income_fen: int | None = None
    declared_annual_turnover_fen: int | None = None
    onboarded_ms: int | None = None
    accounts: tuple[str, ...] = ()  # the customer's own account ids: transfers between them are not flows

    @property
    def declared_annual_fen(self) -> int | None:
        """Declared yearly income (individuals) or turnover (entities), whichever is given."""
        if self.kind == "entity":
            return self.declared_annual_turnover_fen or self.declared_annual_income_fen
        return self.declared_annual_income_fen or self.declared_annual_turnover_fen

    def to_dict(self) -> dict[str, Any]:
        """Every field that differs from its default (compact: it is stored with every customer's
        rating state); `from_dict` restores the rest."""
        out: dict[str, Any] = {"customer_id": self.customer_id, "kind": self.kind, "updated_ms": self.updated_ms}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name not in out and value not in (None, False, ()):
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["products"] = tuple(values.get("products") or ())
        values["accounts"] = tuple(values.get("accounts") or ())
        return cls(**values)


@dataclass(frozen=True, slots=True)
class PeerBaseline:
    """Published averages of a peer group (same customer kind x industry) over 30 days.

    Baselines are published at discrete moments and carry a version, so a score that used one
    names exactly which figures it was compared with.
    """

    group: str
    version: str
    customers: int
    avg_cash_fen_30d: float
    avg_count_30d: float
    extra: dict[str, Any] = field(default_factory=dict)


def peer_group(kind: str | None, industry: str | None) -> str:
    return f"{kind or 'individual'}:{industry or 'unknown'}"
