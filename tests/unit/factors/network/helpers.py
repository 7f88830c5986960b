"""Small hand-made graphs for the network rules: edges in, the view a rule sees out."""

from __future__ import annotations

from factors.network.graph import DAY_MS, Adjacency, Hop, NetworkView, Quantiles, extend_paths
from factors.network.rules import search_bounds

T0 = 1_795_000_000_000
H = 3_600_000


class Graph:
    def __init__(self) -> None:
        self.hops: list[Hop] = []
        self.customers: dict[str, str] = {}

    def pay(self, payer: str, payee: str, cny: float, at_h: float) -> Hop:
        n = len(self.hops)
        hop = Hop(f"e{n:015d}", payer, payee, T0 + round(at_h * H), round(cny * 100), (f"T{n}",))
        self.hops.append(hop)
        for p in (payer, payee):
            if p.startswith("id:C"):
                self.customers[p] = p[3:]
        return hop

    def adjacency(self, hub: set[str] | frozenset[str] = frozenset()) -> dict[str, Adjacency]:
        parties = {p for h in self.hops for p in (h.payer, h.payee)}
        return {
            p: Adjacency(
                p,
                tuple(sorted((h for h in self.hops if h.payee == p), key=Hop.order)),
                tuple(sorted((h for h in self.hops if h.payer == p), key=Hop.order)),
                self.customers.get(p),
                None,
                p in hub,
            )
            for p in parties
        }

    def view(self, anchor: Hop, copy: str, rules=(), hub=frozenset(), quantiles: Quantiles | None = None) -> NetworkView:
        adj = self.adjacency(hub)
        paths: list = []
        if copy == "payee" and rules:
            b = search_bounds(rules)
            frontier = [(anchor,)]
            for _ in range(int(b["max_hops"]) - 1):
                frontier = extend_paths(
                    frontier,
                    adj,
                    start_ms=anchor.ts_ms - round(b["path_window_days"] * DAY_MS),
                    max_gap_ms=round(b["max_gap_days"] * DAY_MS),
                    min_ratio=b["min_forward_ratio"],
                    max_ratio=b["max_forward_ratio"],
                    branching=3,
                    limit=24,
                )
                paths.extend(frontier)
                frontier = [p for p in frontier if p[0].payer != anchor.payee]
        return NetworkView(anchor, copy, adj, tuple(paths), quantiles, {})  # type: ignore[arg-type]
