"""Country/region (地域) factors: the customer's countries and its counterparties' flows.

The country lists (FATF call-for-action and increased monitoring, sanctions, drug, fraud and
corruption hot spots, tax havens) are data in the standard, with their as-of date.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from factors.catalog.base import FactorDef
from factors.config import FactorParams, Points
from factors.money import yuan
from factors.view import CustomerView, Measurement

if TYPE_CHECKING:
    from factors.standard import Standard

GROUP = "country"


class CustomerCountryParams(FactorParams):
    missing_points: Points = 0.0
    """Points of a profile with neither a nationality/registration nor a residence country."""


def customer_country(view: CustomerView, params: CustomerCountryParams, standard: Standard) -> Measurement | None:
    """Points of the riskiest list holding the customer's nationality/registration or residence."""
    profile = view.profile
    if profile is None:
        return None
    countries = {c for c in (profile.country, profile.residence_country) if c}
    if not countries:
        return Measurement(params.missing_points, {"country": None, "reason": "no country on the profile"})
    hits = [(lst.points, lst.name, code) for lst in standard.country_lists for code in sorted(countries) if code in lst.countries]
    if not hits:
        return Measurement(0.0, {"countries": sorted(countries)})
    points, name, code = max(hits)
    return Measurement(points, {"country": code, "list": name, "lists_as_of": standard.lists_as_of, "all_hits": sorted({f"{c}:{n}" for _, n, c in hits})})


def counterparty_high_risk_flows(view: CustomerView, params: FactorParams, standard: Standard) -> Measurement | None:
    """CNY over 90 days exchanged with counterparties in high-risk jurisdictions."""
    window = view.snapshot.windows["90d"]
    amount = yuan(window.hr_fen)
    return Measurement(amount, {"high_risk_flows_90d_cny": amount, "turnover_90d_cny": yuan(window.sum_fen), "lists_as_of": standard.lists_as_of})


FACTORS = (
    FactorDef("customer_country", GROUP, "Nationality/registration or residence on a high-risk country list", customer_country, "points", CustomerCountryParams),
    FactorDef("counterparty_high_risk_flows", GROUP, "Flows with counterparties in high-risk jurisdictions (90 days)", counterparty_high_risk_flows, "CNY"),
)
