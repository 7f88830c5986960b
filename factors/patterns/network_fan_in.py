"""Network fan-in (小额多头汇入): a small set of new payers whose money is collected and passed on
to one or two payees.

A pass-through episode (`factors.patterns._pass_through`) with at least `min_sources` new payers
and at most `max_sinks` new payees: the collection account of a scam or an underground bank that
gathers retail-scale sums (a handful of payers, thousands of CNY, over days or weeks) and
forwards them. The customer-level `fan_in` keeps its absolute lines (10 payers, CNY 100,000 in
7 days); this one is relative: the account's own relationships (new ones only) and conservation.
Evaluated on the payer copy of the forwarding payment. Key: the episode's first payment (family `pass_through`).
Parties: the payers (`payer`), the account (`collector`), the payees (`beneficiary`).
"""

from __future__ import annotations

from pydantic import Field

from factors.network.graph import NetworkHit, NetworkView
from factors.patterns._network_fan import ShapeParams, detect_shape

ID = "network_fan_in"


class Params(ShapeParams):
    min_sources: int = Field(3, ge=2, le=50, description="distinct new payers into the account, at least")
    max_sinks: int = Field(2, ge=1, le=50, description="distinct new payees of the episode, at most (more is gather-scatter)")


DEFAULTS = Params()


def detect(view: NetworkView, params: Params, severity: str = "medium") -> NetworkHit | None:
    return detect_shape(ID, view, params, severity, ("payer", "collector", "beneficiary"))
