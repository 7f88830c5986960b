"""Network fan-out (小额多头转出): money from one or two new payers distributed to a small set of
new payees.

The mirror of `network_fan_in`: a pass-through episode (`factors.patterns._pass_through`) with
at most `max_sources` new payers and at least `min_sinks` new payees (a distributor that receives
a lump and pays it out in pieces over days or weeks, keeping a cut). Key: the episode's first
payment (family `pass_through`). Parties: the payers (`origin`), the account (`distributor`), the payees (`payee`).
"""

from __future__ import annotations

from pydantic import Field

from factors.network.graph import NetworkHit, NetworkView
from factors.patterns._network_fan import ShapeParams, detect_shape

ID = "network_fan_out"


class Params(ShapeParams):
    max_sources: int = Field(2, ge=1, le=50, description="distinct new payers of the episode, at most (more is gather-scatter)")
    min_sinks: int = Field(3, ge=2, le=50, description="distinct new payees of the account, at least")
    max_gap_days: float = Field(40, gt=0, le=90, description="the lump's arrival to the first payment out, at most, days (a distributor pays out over weeks)")


DEFAULTS = Params()


def detect(view: NetworkView, params: Params, severity: str = "medium") -> NetworkHit | None:
    return detect_shape(ID, view, params, severity, ("origin", "distributor", "payee"))
