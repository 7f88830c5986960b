"""Industry (行业) factors: the customer's industry and, for individuals, occupation.

Both are table lookups in the standard (`[industries]`, `[occupations]`: code = points). A code
the table does not know is flagged in the evidence and scored `unknown_points`, never an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from factors.catalog.base import FactorDef
from factors.config import FactorParams, Points
from factors.view import CustomerView, Measurement

if TYPE_CHECKING:
    from factors.standard import Standard

GROUP = "industry"


class LookupParams(FactorParams):
    unknown_points: Points = 0.0
    """Points of a code the table does not know (flagged `unknown_code` in the evidence)."""
    missing_points: Points = 0.0
    """Points of a profile without the code."""


def _lookup(code: str | None, table: dict[str, float], params: LookupParams, field: str) -> Measurement:
    if not code:
        return Measurement(params.missing_points, {field: None, "reason": "not on the profile"})
    if code not in table:
        return Measurement(params.unknown_points, {field: code, "unknown_code": True})
    return Measurement(table[code], {field: code})


def industry(view: CustomerView, params: LookupParams, standard: Standard) -> Measurement | None:
    if view.profile is None:
        return None
    return _lookup(view.profile.industry, standard.industries, params, "industry")


def occupation(view: CustomerView, params: LookupParams, standard: Standard) -> Measurement | None:
    if view.profile is None or view.profile.kind != "individual":
        return None
    return _lookup(view.profile.occupation, standard.occupations, params, "occupation")


FACTORS = (
    FactorDef("industry", GROUP, "Industry of the customer or its employer (行业)", industry, "points", LookupParams),
    FactorDef("occupation", GROUP, "Occupation of an individual (职业)", occupation, "points", LookupParams),
)
