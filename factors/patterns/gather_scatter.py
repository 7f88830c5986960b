"""Gather-scatter (集中转入、分散转出 through one account): money converges from several new
sources on one account, which passes most of it on to several new sinks.

A pass-through episode (`factors.patterns._pass_through`: receipts and payments with
counterparties new to the account, money out `min_forward_ratio`..`max_forward_ratio` of money in,
paid only after it arrived) with at least `min_sources` sources and `min_sinks` sinks. A business
paying suppliers keeps its margin and pays recurring suppliers from recurring clients' money; a
household's transfers recur; a landlord's tenants recur and the mortgage goes to a hub. Source:
AMLSim "gather-scatter"; FATF money-mule typologies. Key: the episode's first payment (family `pass_through`). Parties:
the episode's sources (`source`), the account (`collector`) and its sinks (`sink`).
"""

from __future__ import annotations

from pydantic import Field

from factors.network.graph import NetworkHit, NetworkView
from factors.patterns._network_fan import ShapeParams, detect_shape

ID = "gather_scatter"


class Params(ShapeParams):
    min_sources: int = Field(3, ge=2, le=50, description="distinct new payers into the account, at least")
    min_sinks: int = Field(3, ge=2, le=50, description="distinct new payees of the account, at least")


DEFAULTS = Params()


def detect(view: NetworkView, params: Params, severity: str = "high") -> NetworkHit | None:
    return detect_shape(ID, view, params, severity, ("source", "collector", "sink"))
