"""Customer (客户) factors: identity and background flags, completeness, relationship age.

Individuals: politically exposed persons (PEP, senior SOE, judicial and military officials
are PEP occupations in the table), managers or finance staff of high-risk-industry firms, list
hits, investigations, criminal records. Entities: doubtful legality of business or funds,
opaque ownership, close trade with high-risk parties, list hits, investigations, crime.
"""

from __future__ import annotations

from typing import Any

from factors.profile import Profile
from factors.standard import Standard
from factors.view import CustomerView, Measurement

GROUP = "customer"
KEY_FIELDS = ("country", "residence_country", "industry", "onboarded_ms")
MONTH_MS = 30.4375 * 86_400_000


def _flag(name: str, applies_to: tuple[str, ...] = ("individual", "entity")):  # type: ignore[no-untyped-def]
    def measure(view: CustomerView, params: dict[str, Any], standard: Standard) -> Measurement | None:
        profile = view.profile
        if profile is None or profile.kind not in applies_to or not getattr(profile, name):
            return None
        return Measurement(1.0, {name: True})

    measure.__doc__ = f"1 when the profile flags `{name}`."
    return measure


def high_risk_industry_role(view: CustomerView, params: dict[str, Any], standard: Standard) -> Measurement | None:
    """A manager or finance officer (occupation in `roles`) of a firm in a high-risk industry."""
    profile = view.profile
    if profile is None or profile.kind != "individual":
        return None
    roles = set(params.get("roles", ("manager", "finance_officer")))
    min_points = float(params.get("min_industry_points", 20))
    industry_points = standard.tables.get("industries", {}).get(profile.industry or "", 0.0)
    if profile.occupation in roles and industry_points >= min_points:
        return Measurement(1.0, {"occupation": profile.occupation, "industry": profile.industry})
    return None


def _missing(profile: Profile) -> list[str]:
    missing = [f for f in KEY_FIELDS if getattr(profile, f) in (None, "")]
    if profile.kind == "individual" and not profile.occupation:
        missing.append("occupation")
    if profile.declared_annual_fen is None:
        missing.append("declared_annual_income_or_turnover")
    return missing


def profile_completeness(view: CustomerView, params: dict[str, Any], standard: Standard) -> Measurement | None:
    """Number of missing key profile fields; a customer with no profile yet scores
    `no_profile_value` if the standard sets one (otherwise the factor does not apply)."""
    if view.profile is None:
        if "no_profile_value" not in params:
            return None
        return Measurement(float(params["no_profile_value"]), {"profile": None})
    missing = _missing(view.profile)
    return Measurement(float(len(missing)), {"missing": missing})


def relationship_age(view: CustomerView, params: dict[str, Any], standard: Standard) -> Measurement | None:
    """Whole months since onboarding at the event time (new relationships carry more risk)."""
    profile = view.profile
    if profile is None or profile.onboarded_ms is None:
        return None
    months = max(0, int((view.event_ms - profile.onboarded_ms) // MONTH_MS))
    return Measurement(float(months), {"months": months})


FACTORS = (
    ("pep", GROUP, "Politically exposed person (外国政要等)", _flag("pep", ("individual",))),
    ("listed", GROUP, "On a UN/government sanctions or watch list (黑名单)", _flag("listed")),
    ("under_investigation", GROUP, "Under administrative or judicial investigation", _flag("under_investigation")),
    ("criminal_record", GROUP, "Suspected or convicted of crime", _flag("criminal_record")),
    ("doubtful_funds", GROUP, "Legality of business or source of funds doubtful (entity)", _flag("doubtful_funds", ("entity",))),
    ("ownership_opaque", GROUP, "Ownership too complex to identify the beneficial owner (entity)", _flag("ownership_opaque", ("entity",))),
    ("high_risk_partners", GROUP, "Close trade with high-risk countries or customers", _flag("high_risk_partners")),
    ("high_risk_industry_role", GROUP, "Manager or finance staff of a high-risk-industry firm", high_risk_industry_role),
    ("profile_completeness", GROUP, "Missing key profile information", profile_completeness),
    ("relationship_age", GROUP, "Age of the business relationship", relationship_age),
)
