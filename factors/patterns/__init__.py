"""The suspicious-pattern library: one module per typology, each a pure `detect` rule with its
`Params` model (defaults and field docs) next to it; the standard's `[patterns.<id>]` tables
enable and parameterise them, validated with that model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, Field, PrivateAttr, ValidationInfo, create_model, model_validator

from factors.config import PatternParams, Strict
from factors.model import PatternHit
from factors.patterns import (
    closed_group,
    dormant_reactivation,
    fan_in,
    fan_out,
    frequent_one_off,
    gather_scatter,
    high_risk_exposure,
    high_risk_jurisdiction,
    layering_chain,
    network_cycle,
    network_fan_in,
    network_fan_out,
    night_burst,
    peer_cash_outlier,
    peer_frequency_outlier,
    profile_mismatch,
    rapid_in_out,
    round_amounts,
    same_day_cash,
    scatter_gather,
    structuring,
    transfer_splitting,
)
from factors.view import CustomerView

if TYPE_CHECKING:
    from factors.standard import Standard

Detect = Callable[[CustomerView, Any], PatternHit | None]

MODULES = (
    same_day_cash,
    structuring,
    rapid_in_out,
    fan_in,
    fan_out,
    dormant_reactivation,
    high_risk_jurisdiction,
    peer_cash_outlier,
    peer_frequency_outlier,
    frequent_one_off,
    profile_mismatch,
    round_amounts,
    night_burst,
)
# Network typologies: their detect runs in the network stage over a graph view
# (factors.network.rules); their parameters live in the same [patterns.<id>] tables.
NETWORK_MODULES = (
    network_cycle,
    layering_chain,
    scatter_gather,
    gather_scatter,
    closed_group,
    network_fan_in,
    network_fan_out,
    transfer_splitting,
    high_risk_exposure,
)
PATTERNS: dict[str, Detect] = {m.ID: m.detect for m in MODULES}
PARAMS: dict[str, type[PatternParams]] = {m.ID: m.Params for m in (*MODULES, *NETWORK_MODULES)}


class PatternTables(Strict):
    """`[patterns]`: one optional table per rule; a rule without a table does not run. The rules run
    in the order of the file's tables (the order of their alerts in a batch)."""

    model_config = ConfigDict(use_attribute_docstrings=False)  # Patterns is built by create_model: no source to read
    _order: tuple[str, ...] = PrivateAttr(())

    @model_validator(mode="after")
    def _keep_order(self, info: ValidationInfo) -> PatternTables:
        given = (info.context or {}).get("pattern_order") or list(PARAMS)  # the file's order, as parse_standard read it
        self._order = tuple(k for k in given if k in PARAMS and getattr(self, k) is not None)
        return self

    def configured(self) -> dict[str, PatternParams]:
        """Every configured rule's parameters, enabled or not, in the file's order."""
        return {k: getattr(self, k) for k in self._order}

    def __getitem__(self, pattern_id: str) -> PatternParams:
        params = getattr(self, pattern_id, None) if pattern_id in PARAMS else None
        if params is None:
            raise KeyError(pattern_id)
        return params

    def get(self, pattern_id: str) -> PatternParams | None:
        return getattr(self, pattern_id) if pattern_id in PARAMS else None

    def __contains__(self, pattern_id: str) -> bool:
        return self.get(pattern_id) is not None

    def items(self) -> Iterator[tuple[str, PatternParams]]:
        return iter(self.configured().items())


Patterns: type[PatternTables] = create_model(  # type: ignore[call-overload]
    "Patterns",
    __base__=PatternTables,
    **{m.ID: (m.Params | None, Field(None, description=(m.__doc__ or m.ID).strip().splitlines()[0])) for m in (*MODULES, *NETWORK_MODULES)},
)


def detect_all(view: CustomerView, standard: Standard) -> list[PatternHit]:
    """Every enabled pattern that fires at this event, in the standard's order."""
    hits = []
    for detect, params in standard.active_patterns:
        hit = detect(view, params)
        if hit is not None:
            hits.append(hit)
    return hits


__all__ = ["MODULES", "PARAMS", "PATTERNS", "Detect", "PatternTables", "Patterns", "detect_all"]
