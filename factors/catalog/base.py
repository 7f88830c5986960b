"""What a factor of the catalogue is: its id, group, measure, parameters and the kind of value
it measures; and the standard's entry for it (weight, bands and the factor's own parameters)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, create_model

from factors.bands import Bands
from factors.config import FactorParams, Strict, Weight
from factors.view import CustomerView, Measurement

if TYPE_CHECKING:
    from factors.standard import Standard

Measure = Callable[[CustomerView, Any, "Standard"], Measurement | None]

# What a factor's measured value is: "points" (table-driven: the value is already points), "flag"
# (1 when it applies), or a quantity its bands map to points. Quantities need bands.
ValueKind = Literal["points", "flag", "CNY", "count", "months", "share", "multiple"]
VALUE_MAX: dict[str, float] = {"flag": 1.0, "share": 1.0}  # the largest value a factor of the kind can measure


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


class FactorSetting(Strict):
    """The standard's `[[factors]]` entry: common to every factor; each factor's entry adds its parameters."""

    group: ClassVar[str] = ""
    value_kind: ClassVar[str] = "points"
    id: str
    """The factor's id in the catalogue."""
    weight: Weight = 1.0
    """Points (from the bands, or the value itself when there are none) are multiplied by this."""
    bands: Bands | None = None
    """`[{min, points}, ...]`, inclusive lower limits, ascending; required for quantities, optional for flags and points."""


class _Entry(FactorSetting):
    # the entries are built by create_model: no source to read attribute docstrings from (and
    # looking for it costs a scan of every module); their fields keep their parents' descriptions
    model_config = ConfigDict(use_attribute_docstrings=False)


@dataclass(frozen=True, slots=True)
class FactorDef:
    id: str
    group: str
    description: str
    measure: Measure
    value: ValueKind
    params: type[FactorParams] = FactorParams

    @property
    def profile_only(self) -> bool:
        return self.id in PROFILE_ONLY

    def entry_model(self) -> type[FactorSetting]:
        """The model of this factor's `[[factors]]` entry: id, weight, bands and its own parameters."""
        name = "".join(part.title() for part in self.id.split("_")) + "Factor"
        model = create_model(
            name,
            __base__=(self.params, _Entry),
            __doc__=f"{self.description} (group {self.group}; measures: {self.value}).",
            id=(Literal[self.id], Field(description=f"{self.description}")),  # type: ignore[valid-type]
        )
        model.group = self.group
        model.value_kind = self.value
        return model
