"""The network rule set: which typology modules exist, their validated parameters from the
standard's `[patterns.<id>]` tables, and one evaluation over a `NetworkView`."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from pydantic import BaseModel

from factors.network.graph import NetworkHit, NetworkView
from factors.patterns import NETWORK_MODULES
from factors.standard import Standard

MODULES: tuple[ModuleType, ...] = NETWORK_MODULES  # the registry lives with the others (factors.patterns)
NETWORK_PATTERNS: frozenset[str] = frozenset(m.ID for m in MODULES)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    module: ModuleType
    params: BaseModel
    severity: str


def load_rules(standard: Standard) -> tuple[Rule, ...]:
    """The enabled network rules of a standard with their parameters (validated with the rest of
    the standard when it was loaded). A rule the standard does not mention runs with its defaults."""
    rules = []
    for module in MODULES:
        params = standard.patterns.get(module.ID) or module.Params()
        if params.enabled:
            rules.append(Rule(module.ID, module, params, params.severity))
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
