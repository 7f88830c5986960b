"""Industry (行业) factors: the customer's industry and, for individuals, occupation.

Both are table lookups in the standard (`[industries]`, `[occupations]`: code = points). A code
the table does not know is flagged in the evidence and scored `unknown_points`, never an error.
"""

from __future__ import annotations

from typing import Any

from factors.standard import Standard
from factors.view import CustomerView, Measurement

GROUP = "industry"


def _lookup(code: str | None, table: dict[str, float], params: dict[str, Any], field: str) -> Measurement:
    if not code:
        return Measurement(float(params.get("missing_points", 0)), {field: None, "reason": "not on the profile"})
    if code not in table:
        return Measurement(float(params.get("unknown_points", 0)), {field: code, "unknown_code": True})
    return Measurement(table[code], {field: code})


def industry(view: CustomerView, params: dict[str, Any], standard: Standard) -> Measurement | None:
    if view.profile is None:
        return None
    return _lookup(view.profile.industry, standard.tables.get("industries", {}), params, "industry")


def occupation(view: CustomerView, params: dict[str, Any], standard: Standard) -> Measurement | None:
    if view.profile is None or view.profile.kind != "individual":
        return None
    return _lookup(view.profile.occupation, standard.tables.get("occupations", {}), params, "occupation")


FACTORS = (
    ("industry", GROUP, "Industry of the customer or its employer (行业)", industry),
    ("occupation", GROUP, "Occupation of an individual (职业)", occupation),
)
