"""Country/region (地域) factors: the customer's countries and its counterparties' flows.

The country lists (FATF call-for-action and increased monitoring, sanctions, drug, fraud and
corruption hot spots, tax havens) are data in the standard, with their as-of date.
"""

from __future__ import annotations

from typing import Any

from factors.money import yuan
from factors.standard import Standard
from factors.view import CustomerView, Measurement

GROUP = "country"


def customer_country(view: CustomerView, params: dict[str, Any], standard: Standard) -> Measurement | None:
    """Points of the riskiest list holding the customer's nationality/registration or residence."""
    profile = view.profile
    if profile is None:
        return None
    countries = {c for c in (profile.country, profile.residence_country) if c}
    if not countries:
        points = float(params.get("missing_points", 0))
        return Measurement(points, {"country": None, "reason": "no country on the profile"})
    hits = [(lst.points, lst.name, code) for lst in standard.country_lists for code in sorted(countries) if code in lst.countries]
    if not hits:
        return Measurement(0.0, {"countries": sorted(countries)})
    points, name, code = max(hits)
    return Measurement(points, {"country": code, "list": name, "lists_as_of": standard.lists_as_of, "all_hits": sorted({f"{c}:{n}" for _, n, c in hits})})


def counterparty_high_risk_flows(view: CustomerView, params: dict[str, Any], standard: Standard) -> Measurement | None:
    """CNY over 90 days exchanged with counterparties in high-risk jurisdictions."""
    window = view.snapshot.windows["90d"]
    amount = yuan(window.hr_fen)
    return Measurement(amount, {"high_risk_flows_90d_cny": amount, "turnover_90d_cny": yuan(window.sum_fen), "lists_as_of": standard.lists_as_of})


FACTORS = (
    ("customer_country", GROUP, "Nationality/registration or residence on a high-risk country list", customer_country),
    ("counterparty_high_risk_flows", GROUP, "Flows with counterparties in high-risk jurisdictions (90 days)", counterparty_high_risk_flows),
)
