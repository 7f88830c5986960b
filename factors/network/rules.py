"""The network rule set: which typology modules exist, their validated parameters from the
standard's `[patterns.<id>]` tables, and one evaluation over a `NetworkView`."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ValidationError

from factors.errors import StandardError
from factors.network.graph import NetworkHit, NetworkView
from factors.patterns import (
    closed_group,
    gather_scatter,
    high_risk_exposure,
    layering_chain,
    network_cycle,
    network_fan_in,
    network_fan_out,
    scatter_gather,
    transfer_splitting,
)
from factors.standard import Standard

MODULES: tuple[ModuleType, ...] = (
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
NETWORK_PATTERNS: frozenset[str] = frozenset(m.ID for m in MODULES)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    module: ModuleType
    params: BaseModel
    severity: str


def load_rules(standard: Standard) -> tuple[Rule, ...]:
    """The enabled network rules of a standard, parameters validated (StandardError naming the key).
    A rule the standard does not mention runs with its documented defaults."""
    rules = []
    for module in MODULES:
        setting = standard.patterns.get(module.ID)
        if setting is not None and not setting.enabled:
            continue
        raw: dict[str, Any] = dict(setting.params) if setting else {}
        try:
            params = module.Params(**raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise StandardError(f"patterns.{module.ID}.{where}: {first['msg']}") from None
        rules.append(Rule(module.ID, module, params, setting.severity if setting else "high"))
    return tuple(rules)


def history_days(rules: tuple[Rule, ...]) -> float:
    """How far back (event time) any rule reads an account's edges, days."""
    return max((float(getattr(r.params, "history_days", 0.0)) for r in rules), default=0.0) + max((float(r.params.window_days) for r in rules), default=10.0)  # type: ignore[attr-defined]


def evaluate(view: NetworkView, rules: tuple[Rule, ...]) -> list[NetworkHit]:
    """Every rule that fires at this edge copy, in the registry's order."""
    hits = []
    for rule in rules:
        hit = rule.module.detect(view, rule.params, rule.severity)
        if hit is not None:
            hits.append(hit)
    return hits


__all__ = ["MODULES", "NETWORK_PATTERNS", "Rule", "evaluate", "history_days", "load_rules"]
