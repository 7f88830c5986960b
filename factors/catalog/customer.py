"""Customer (客户) factors: identity and background flags, completeness, relationship age.

Individuals: politically exposed persons (PEP, senior SOE, judicial and military officials
are PEP occupations in the table), managers or finance staff of high-risk-industry firms, list
hits, investigations, criminal records. Entities: doubtful legality of business or funds,
opaque ownership, close trade with high-risk parties, list hits, investigations, crime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from factors.catalog.base import FactorDef
from factors.config import Code, FactorParams, Points
from factors.profile import Profile
from factors.view import CustomerView, Measurement

if TYPE_CHECKING:
    from factors.standard import Standard

GROUP = "customer"
KEY_FIELDS = ("country", "residence_country", "industry", "onboarded_ms")
MONTH_MS = 30.4375 * 86_400_000


def _flag(name: str, applies_to: tuple[str, ...] = ("individual", "entity")):  # type: ignore[no-untyped-def]
    def measure(view: CustomerView, params: FactorParams, standard: Standard) -> Measurement | None:
        profile = view.profile
        if profile is None or profile.kind not in applies_to or not getattr(profile, name):
            return None
        return Measurement(1.0, {name: True})

    measure.__doc__ = f"1 when the profile flags `{name}`."
    return measure


class HighRiskIndustryRoleParams(FactorParams):
    roles: tuple[Code, ...] = ("manager", "finance_officer")
    """Occupation codes that count as a manager or finance officer of the employer."""
    min_industry_points: Points = 20.0
    """An industry is high-risk when its points in `[industries]` are at least this."""


def high_risk_industry_role(view: CustomerView, params: HighRiskIndustryRoleParams, standard: Standard) -> Measurement | None:
    """A manager or finance officer (occupation in `roles`) of a firm in a high-risk industry."""
    profile = view.profile
    if profile is None or profile.kind != "individual":
        return None
    industry_points = standard.industries.get(profile.industry or "", 0.0)
    if profile.occupation in params.roles and industry_points >= params.min_industry_points:
        return Measurement(1.0, {"occupation": profile.occupation, "industry": profile.industry})
    return None


def _missing(profile: Profile) -> list[str]:
    missing = [f for f in KEY_FIELDS if getattr(profile, f) in (None, "")]
    if profile.kind == "individual" and not profile.occupation:
        missing.append("occupation")
    if profile.declared_annual_fen is None:
        missing.append("declared_annual_income_or_turnover")
    return missing


class ProfileCompletenessParams(FactorParams):
    no_profile_value: Annotated[float, Field(ge=0, le=len(KEY_FIELDS) + 2)] | None = None
    """Value (number of missing fields) of a customer with no profile yet; none: the factor does not apply."""


def profile_completeness(view: CustomerView, params: ProfileCompletenessParams, standard: Standard) -> Measurement | None:
    """Number of missing key profile fields; a customer with no profile yet scores
    `no_profile_value` if the standard sets one (otherwise the factor does not apply)."""
    if view.profile is None:
        if params.no_profile_value is None:
            return None
        return Measurement(params.no_profile_value, {"profile": None})
    missing = _missing(view.profile)
    return Measurement(float(len(missing)), {"missing": missing})


def relationship_age(view: CustomerView, params: FactorParams, standard: Standard) -> Measurement | None:
    """Whole months since onboarding at the event time (new relationships carry more risk)."""
    profile = view.profile
    if profile is None or profile.onboarded_ms is None:
        return None
    months = max(0, int((view.event_ms - profile.onboarded_ms) // MONTH_MS))
    return Measurement(float(months), {"months": months})


FACTORS = (
    FactorDef("pep", GROUP, "Politically exposed person (外国政要等)", _flag("pep", ("individual",)), "flag"),
    FactorDef("listed", GROUP, "On a UN/government sanctions or watch list (黑名单)", _flag("listed"), "flag"),
    FactorDef("under_investigation", GROUP, "Under administrative or judicial investigation", _flag("under_investigation"), "flag"),
    FactorDef("criminal_record", GROUP, "Suspected or convicted of crime", _flag("criminal_record"), "flag"),
    FactorDef("doubtful_funds", GROUP, "Legality of business or source of funds doubtful (entity)", _flag("doubtful_funds", ("entity",)), "flag"),
    FactorDef("ownership_opaque", GROUP, "Ownership too complex to identify the beneficial owner (entity)", _flag("ownership_opaque", ("entity",)), "flag"),
    FactorDef("high_risk_partners", GROUP, "Close trade with high-risk countries or customers", _flag("high_risk_partners"), "flag"),
    FactorDef("high_risk_industry_role", GROUP, "Manager or finance staff of a high-risk-industry firm", high_risk_industry_role, "flag", HighRiskIndustryRoleParams),
    FactorDef("profile_completeness", GROUP, "Missing key profile information", profile_completeness, "count", ProfileCompletenessParams),
    FactorDef("relationship_age", GROUP, "Age of the business relationship", relationship_age, "months"),
)
