"""The network rule set: which typology modules exist, their validated parameters from the
standard's `[patterns.<id>]` tables, and one evaluation over a `NetworkView`."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from pydantic import BaseModel

from factors.network.graph import NetworkHit, NetworkView
from factors.patterns import closed_group, gather_scatter, layering_chain, network_cycle, network_fan_in, network_fan_out, scatter_gather, transfer_splitting
from factors.patterns._network_fan import NetworkFan, fan_metric
from factors.standard import Standard

MODULES: tuple[ModuleType, ...] = (network_cycle, layering_chain, scatter_gather, gather_scatter, closed_group, network_fan_in, network_fan_out, transfer_splitting)
NETWORK_PATTERNS: frozenset[str] = frozenset(m.ID for m in MODULES)
FANS = (NetworkFan(network_fan_in.ID, "in"), NetworkFan(network_fan_out.ID, "out"))


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


def search_bounds(rules: tuple[Rule, ...]) -> dict[str, float]:
    """What the stage must gather for these rules: longest window, hops, widest conservation band."""
    window = max((float(r.params.window_days) for r in rules), default=10.0)  # type: ignore[attr-defined]
    path_rules = [r.params for r in rules if r.id in (network_cycle.ID, layering_chain.ID)]
    return {
        "window_days": window,
        "history_days": max((float(getattr(r.params, "history_days", 0)) for r in rules), default=0.0),
        "max_hops": max((p.max_hops for p in path_rules), default=0),  # type: ignore[attr-defined]
        "path_window_days": max((p.window_days for p in path_rules), default=0.0),  # type: ignore[attr-defined]
        "max_gap_days": max((p.max_gap_days for p in path_rules), default=0.0),  # type: ignore[attr-defined]
        "min_forward_ratio": min((p.min_forward_ratio for p in path_rules), default=1.0),  # type: ignore[attr-defined]
        "max_forward_ratio": max((p.max_forward_ratio for p in path_rules), default=1.0),  # type: ignore[attr-defined]
    }


def evaluate(view: NetworkView, rules: tuple[Rule, ...]) -> list[NetworkHit]:
    """Every rule that fires at this edge copy, in the registry's order."""
    hits = []
    for rule in rules:
        hit = rule.module.detect(view, rule.params, rule.severity)
        if hit is not None:
            hits.append(hit)
    return hits


def observations(view: NetworkView, rules: tuple[Rule, ...]) -> dict[str, int]:
    """The population metrics this edge copy contributes to its peer group's quantiles."""
    out = {}
    for rule in rules:
        for fan in FANS:
            if rule.id == fan.id and view.copy == fan.copy:
                out[fan.metric] = fan_metric(view, fan, rule.params)[0]  # type: ignore[arg-type]
    return out


__all__ = ["MODULES", "NETWORK_PATTERNS", "Rule", "evaluate", "load_rules", "observations", "search_bounds"]
