"""The pass-through episode shared by gather-scatter and the small-set fans: money that arrives
at an account from counterparties new to it and leaves, most of it, to other new counterparties.

Evaluated on the payer copy of an edge u -> w (u's partition holds all of u's edges, so the rules
read only their own partition's state). For each candidate start s (the time of a receipt from a
counterparty first seen at or after s, within `window_days` before the anchor), the episode is:

* receipts: edges into u in [s, o1), from counterparties first seen at or after s;
* payments: edges out of u from o1 (the first such payment after s) to the anchor, to counterparties first seen at or after s,
  the anchor among them (the rule fires as money leaves): gathered first, then passed on, the
  first payment at most `max_gap_days` after the last receipt;
* money out between `min_forward_ratio` and `max_forward_ratio` of money in; at most `max_set`
  counterparties per side (a small set); and the episode is at least `min_share` of all the
  account's money in over [s, o1) and out over [o1, anchor] (not a coincidence inside a busy
  account's ordinary flows).

The earliest (s, o1) that passes is the episode. Hubs (as counterparties and as u) and transfers
below `min_amount_cny` are left out. Why "new": a household's, landlord's, employer's or
supplier's money moves along relationships that recur; mules' relationships are fresh. Why
conservation: an account that keeps what it receives (a business's margin, a salary spent by
card) is not passing money on. Why a star: the episode's payers and payees are different parties
that do not pay each other (a relative who sends money and gets some back, or a closed group's
member that receives from one member and pays three others, is no pass-through). Parties: the episode's counterparties and u, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from factors.money import FEN_PER_YUAN
from factors.network.graph import DAY_MS, Hop, NetworkView
from factors.network.params import RuleParams


class PassParams(RuleParams):
    window_days: float = Field(45, gt=0, le=90, description="first receipt to the anchor payment, at most, days")
    min_forward_ratio: float = Field(0.8, gt=0, le=1, description="money out at least this share of money in")
    max_forward_ratio: float = Field(1.02, ge=1, le=2, description="money out at most this multiple of money in")
    min_amount_cny: float = Field(500, ge=0, description="smaller transfers are not part of the episode")
    max_gap_days: float = Field(7, gt=0, le=30, description="last receipt to the first payment of the episode, at most, days")
    max_set: int = Field(8, ge=2, le=50, description="counterparties on either side of the episode, at most (a small set; more is a business)")
    allow_mesh: bool = Field(False, description="count episodes whose counterparties also pay each other directly (a mesh, not a star through the account)")
    min_share: float = Field(0.5, ge=0, le=1, description="the episode's share of all the account's money in (out) over its receipt (payment) phase, at least")


@dataclass(frozen=True, slots=True)
class Episode:
    account: str
    ins: tuple[Hop, ...]
    outs: tuple[Hop, ...]
    fen_in: int
    fen_out: int

    @property
    def sources(self) -> set[str]:
        return {h.payer for h in self.ins}

    @property
    def sinks(self) -> set[str]:
        return {h.payee for h in self.outs}


def episode(view: NetworkView, params: PassParams) -> Episode | None:
    """The pass-through episode completed (so far) by the anchor payment, or None. Cached per view."""
    if view.copy != "payer":
        return None  # as `_episode` says, without building the cache key (the rules ask on every copy)
    key = ("pass", params.window_days, params.min_forward_ratio, params.max_forward_ratio, params.min_amount_cny, params.max_gap_days, params.max_set, params.min_share)
    if key not in view.scratch:
        view.scratch[key] = _episode(view, params)
    return view.scratch[key]


def _episode(view: NetworkView, params: PassParams) -> Episode | None:
    if view.copy != "payer":
        return None
    anchor, end = view.anchor, view.end
    u = view.anchor.payer
    a = view.of(u)
    if a.hub or view.customer(u) is None:
        return None  # the bank monitors its customers: an outside account is seen from its customers' side
    start = a.new_since(anchor.ts_ms - round(params.window_days * DAY_MS), round(params.min_history_days * DAY_MS), view.origin_ms)
    floor = round(params.min_amount_cny * FEN_PER_YUAN)
    if anchor.amount_fen < floor or a.met(anchor.payee, anchor.ts_ms) < start or view.of(anchor.payee).hub:
        return None  # the anchor goes to a long-standing payee (or a hub): not an episode's payment
    all_ins = [h for h in a.ins_within(start, end) if h.amount_fen >= floor and not view.of(h.payer).hub]
    all_outs = [h for h in a.outs_within(start, end) if h.amount_fen >= floor and not view.of(h.payee).hub]
    ins = [h for h in all_ins if a.met(h.payer, h.ts_ms) >= start]
    outs = [h for h in all_outs if a.met(h.payee, h.ts_ms) >= start]
    if anchor not in outs:
        outs.append(anchor)
    if not ins:
        return None
    gap = round(params.max_gap_days * DAY_MS)
    lo, hi = params.min_forward_ratio, params.max_forward_ratio
    for s in sorted({h.ts_ms for h in ins}):
        for o1 in sorted({h.ts_ms for h in outs if h.ts_ms > s})[:1]:  # the phases meet at the first payment after s
            e_in = [h for h in ins if s <= h.ts_ms < o1 and a.met(h.payer, h.ts_ms) >= s]
            e_out = [h for h in outs if h.ts_ms >= o1 and a.met(h.payee, h.ts_ms) >= s]
            if not e_in or anchor not in e_out or o1 - e_in[-1].ts_ms > gap:
                continue
            if len({h.payer for h in e_in}) > params.max_set or len({h.payee for h in e_out}) > params.max_set:
                continue
            fen_in, fen_out = sum(h.amount_fen for h in e_in), sum(h.amount_fen for h in e_out)
            if not lo * fen_in <= fen_out <= hi * fen_in:
                continue
            phase_in = sum(h.amount_fen for h in all_ins if s <= h.ts_ms < o1)
            phase_out = sum(h.amount_fen for h in all_outs if h.ts_ms >= o1)
            if fen_in < params.min_share * phase_in or fen_out < params.min_share * phase_out:
                continue
            sources, sinks = {h.payer for h in e_in}, {h.payee for h in e_out}
            if not params.allow_mesh and (sources & sinks or _meshed(view, u, sources | sinks, start)):
                continue  # money back to where it came from, or counterparties that pay each other: no star
            return Episode(u, tuple(e_in), tuple(e_out), fen_in, fen_out)
    return None


def _meshed(view: NetworkView, u: str, parties: set[str], start_ms: int) -> bool:
    """Whether two of the episode's counterparties paid each other directly (within the window,
    up to the anchor): money that passes through one account runs in a star, sources to the
    account to sinks; a group whose members pay each other in every direction is a mesh (a
    closed group, a family), and a member that happens to receive from one and pay three is no
    distributor."""
    for p in sorted(parties):
        b = view.of(p)
        if b.hub:
            continue
        for h in b.ins_within(start_ms, view.end):
            if h.payer != u and h.payer in parties:
                return True
        for h in b.outs_within(start_ms, view.end):
            if h.payee != u and h.payee in parties:
                return True
    return False
