"""The shape shared by network fan-in and fan-out: a small set of *new* counterparties on one side
over a long window, judged against the population and the account's own history."""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import Field

from factors.money import FEN_PER_YUAN, yuan
from factors.network.graph import DAY_MS, Hop, NetworkHit, NetworkView, all_tx_ids, parties_of
from factors.network.params import RuleParams


class FanParams(RuleParams):
    window_days: float = Field(10, gt=0, le=45, description="window the new counterparties are counted in, days")
    history_days: float = Field(80, ge=0, le=80, description="a counterparty seen this long before the window is not new")
    min_new: int = Field(4, ge=2, le=100, description="new counterparties in the window, at least (absolute floor)")
    peer_quantile: str = Field("p99", pattern=r"^p(50|90|95|99|999)$", description="population quantile of the account's peer group the count must exceed")
    history_multiple: float = Field(3.0, ge=0, description="count must exceed this multiple of the account's own average per window over the history")
    min_total_cny: float = Field(2000, ge=0, description="money with the new counterparties in the window, CNY, at least")
    min_amount_cny: float = Field(100, ge=0, description="smaller transfers are not counted")
    fallback_min_new: int = Field(10, ge=2, le=200, description="the bar while no population quantile is published for the account's peer group")


@dataclass(frozen=True, slots=True)
class NetworkFan:
    id: str
    many: str  # "in": many payers (fan-in, evaluated on the payee copy); "out": many payees (payer copy)

    @property
    def copy(self) -> str:
        return "payee" if self.many == "in" else "payer"

    @property
    def metric(self) -> str:
        return f"new_{'payers' if self.many == 'in' else 'payees'}"


def fan_metric(view: NetworkView, fan: NetworkFan, params: FanParams) -> tuple[int, list[Hop], float]:
    """(new counterparties in the window, their edges, own average per window over the history)."""
    account, end = view.account, view.end
    a = view.of(account)
    floor = round(params.min_amount_cny * FEN_PER_YUAN)
    window_start = view.anchor.ts_ms - round(params.window_days * DAY_MS)
    history_start = window_start - round(params.history_days * DAY_MS)
    hops = a.ins_within(history_start, end) if fan.many == "in" else a.outs_within(history_start, end)
    if view.anchor not in hops:
        hops.append(view.anchor)
    side = (lambda h: h.payer) if fan.many == "in" else (lambda h: h.payee)
    old = {side(h) for h in hops if h.ts_ms < window_start}
    recent = [h for h in hops if h.ts_ms >= window_start and h.amount_fen >= floor and side(h) not in old]
    new = {side(h) for h in recent}
    history = [h for h in hops if h.ts_ms < window_start]
    span = max(view.anchor.ts_ms - window_start, 1)
    known_ms = (window_start - min(h.ts_ms for h in history)) if history else 0
    own_rate = len(old) * span / known_ms if known_ms >= span else 0.0
    return len(new), recent, own_rate


def detect_network_fan(fan: NetworkFan, view: NetworkView, params: FanParams, severity: str) -> NetworkHit | None:
    if view.copy != fan.copy or view.of(view.account).hub or view.customer(view.account) is None:
        return None  # the bank monitors its customers: an outside account's fan is seen from its customers' side
    count, recent, own_rate = fan_metric(view, fan, params)
    quantile = view.quantiles.get(fan.metric, params.peer_quantile) if view.quantiles else None
    population = params.fallback_min_new if quantile is None else math.floor(quantile) + 1
    bar = max(params.min_new, population, math.floor(params.history_multiple * own_rate) + 1)
    total = sum(h.amount_fen for h in recent)
    if count < bar or total < round(params.min_total_cny * FEN_PER_YUAN):
        return None
    side = (lambda h: h.payer) if fan.many == "in" else (lambda h: h.payee)
    if (
        view.anchor in recent
        and len({side(h) for h in recent if h != view.anchor}) >= bar
        and total - view.anchor.amount_fen >= round(params.min_total_cny * FEN_PER_YUAN)
    ):
        return None  # already met before this edge: fired then
    account = view.account
    role = "collector" if fan.many == "in" else "distributor"
    other = "payer" if fan.many == "in" else "payee"
    thresholds = {"min_new": params.min_new, "window_days": params.window_days, "history_days": params.history_days, "bar": bar}
    thresholds |= {"history_multiple": params.history_multiple, "min_total_cny": params.min_total_cny}
    if quantile is not None and view.quantiles is not None:
        thresholds |= {"peer_quantile": params.peer_quantile, "peer_value": quantile, "peer_group": view.quantiles.group, "quantiles_version": view.quantiles.version}
    return NetworkHit(
        pattern=fan.id,
        key=recent[0].edge_id[:16],
        window_start_ms=recent[0].ts_ms,
        window_end_ms=view.anchor.ts_ms,
        metrics={fan.metric: count, "total_cny": yuan(total), "own_rate_per_window": round(own_rate, 3), "transfers": len(recent)},
        thresholds=thresholds,
        parties=parties_of(view, recent, {account: role, **{side(h): other for h in recent}}),
        tx_ids=all_tx_ids(recent),
        severity=severity,
    )
