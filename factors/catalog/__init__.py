"""The factor catalogue: every factor the scoring standard may weight, by id, in the material's
four groups plus one: country, industry, customer, business, behaviour (其他).

Each factor is declared next to its measure with its parameter model (`FactorDef`); the
standard's `[[factors]]` entries are validated with `FACTOR_ENTRIES[id]` (its weight, bands and
those parameters), chosen by the entry's `id`.
"""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from factors.catalog import behaviour, business, country, customer, industry
from factors.catalog.base import PROFILE_ONLY, VALUE_MAX, FactorDef, FactorSetting, Measure

GROUPS = ("country", "industry", "customer", "business", "behaviour")


FACTORS: dict[str, FactorDef] = {f.id: f for module in (country, industry, customer, business, behaviour) for f in module.FACTORS}

FACTOR_GROUPS: dict[str, str] = {f.id: f.group for f in FACTORS.values()}

FACTOR_ENTRIES: dict[str, type[FactorSetting]] = {f.id: f.entry_model() for f in FACTORS.values()}

# One `[[factors]]` entry: the model is chosen by its `id`, so each factor's own parameters are checked.
FactorEntry = Annotated[Union[tuple(FACTOR_ENTRIES.values())], Field(discriminator="id")]  # type: ignore[valid-type]  # noqa: UP007

__all__ = ["FACTORS", "FACTOR_ENTRIES", "FACTOR_GROUPS", "GROUPS", "PROFILE_ONLY", "VALUE_MAX", "FactorDef", "FactorEntry", "FactorSetting", "Measure"]
