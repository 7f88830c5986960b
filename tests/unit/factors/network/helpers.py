"""Small hand-made graphs for the network rules: edges in, the view a rule sees out."""

from __future__ import annotations

from factors.network.graph import Adjacency, Hop, NetworkView

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
        adj = {
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
        for a in adj.values():  # every account has been observed for 60 days before the first edge here
            a.known_since = T0 - 60 * 24 * H
        return adj

    def view(self, anchor: Hop, copy: str, rules=(), hub=frozenset(), risk=None) -> NetworkView:
        """What a rule sees at `anchor` (the rules run their own bounded search over `adj`)."""
        return NetworkView(anchor, copy, self.adjacency(hub), {}, risk or {})  # type: ignore[arg-type]
