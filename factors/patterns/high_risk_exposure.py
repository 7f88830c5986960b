"""Exposure to a high-risk customer (与高风险客户的密切往来, factor b3's "close dealings with
high-risk customers"): customers of the bank drawn into new dealings with a customer rated
`suspicious` or above (a listed customer is `prohibited` at once).

Anchor: the copy of an edge on the side of a customer h that counts as high-risk as of the
anchor's event time since time S: its level is in `HIGH_LEVELS` (the network stage learns levels
from aml.risk-changes.v1), or it fell below them at most `lapsed_days` earlier (the monitoring
period after a suspicious rating: the customer stage's level falls as soon as its windows forget
the activity, the bank's concern does not); the counterparty c being a customer of the bank that
is not high-risk itself. h's account holds every customer's transfers with it, so the counting
reads no other account; a high-risk account with as many counterparties as a hub is not evaluated
(the stage runs no rule at a hub's copies). c is *exposed* when

* the relationship is new: c first dealt with h at or after the earlier of the window's start
  and S, and at least `min_history_days` after the observed history begins
  (`Adjacency.new_since`, as for the other network rules: a relationship first seen in the first
  month of history may be years old — a household, a landlord, a supplier);
* its transfers with h since S within `window_days`, each of at least `min_amount_cny`, number at
  least `min_transfers` and total at least `min_total_cny`. With `before_rating_days` d > 0, S
  moves d days earlier (the customer stage rates a customer after the activity that drew others
  in; on the 4,000-customer tuning bank d = 7 found the one exposed customer d = 0 missed but
  named 8 members of other typologies whose collector was rated for their money: default 0);
* with `circle`, c and h have no counterparty in common other than hubs (`in_circle`, which
  reads c's account and the common counterparties' too): a relative, a friend or a colleague
  of h already deals with the people h deals with (a household's members pay each other), while
  a customer drawn in by h does not.

The rule fires when c is exposed and at least `min_exposed` customers are exposed to h within the
window (c and h's other counterparties, with the same tests): one high-risk customer
drawing several customers into new dealings is the network pattern; a single customer's new
dealing with one is scored by the exposure factor (`high_risk_counterparty_exposure`, from the
stage's exposure measurements) and alerts only with `min_exposed = 1`. Tuning figures (seeds 11,
12 and 14): README, "Network detection".

Key: h and the episode's first counted transfer (a later episode with h is a new case). Parties:
h (`high_risk_party`) and every exposed customer (`exposed`), with their counted transfers.
"""

from __future__ import annotations

from pydantic import Field

from factors.identity import digest
from factors.money import FEN_PER_YUAN, yuan
from factors.network.graph import DAY_MS, Adjacency, Hop, NetworkHit, NetworkView, all_tx_ids, parties_of
from factors.network.params import RuleParams

ID = "high_risk_exposure"
HIGH_LEVELS = ("suspicious", "prohibited")


class Params(RuleParams):
    window_days: float = Field(45, gt=0, le=90, description="transfers with the high-risk customer counted over this many days")
    min_transfers: int = Field(1, ge=1, le=100, description="transfers of an exposed customer with it, at least")
    min_total_cny: float = Field(3000, ge=0, description="their total, CNY, at least")
    min_amount_cny: float = Field(0, ge=0, description="smaller transfers are not counted")
    before_rating_days: float = Field(
        0, ge=0, le=30, description="transfers up to this many days before the counterparty became high-risk count too (its rating follows the activity)"
    )
    min_exposed: int = Field(
        2, ge=1, le=50, description="customers exposed to the same high-risk customer within the window, at least (1: every exposed customer on its own)"
    )
    lapsed_days: float = Field(
        90, ge=0, le=90, description="a customer whose level fell below suspicious still counts as high-risk this many days (the monitoring period, at most 3 months)"
    )
    circle: bool = Field(True, description="a customer that shares a counterparty (not a hub) with the high-risk customer is in its circle, not drawn in")


DEFAULTS = Params()


EARLIER_EPISODES = 8  # ended high-risk episodes a marker keeps besides its newest (net_risk.lua's EARLIER)


def episodes(marker: str) -> list[tuple[str, int, int | None]]:
    """A risk marker's high-risk episodes, newest first: (level, since ms, until ms or None).

    The marker (net_risk.lua, `record_change`) is the episodes joined by ';', newest first, each
    "level@since" while the customer is high-risk (only the newest can be) or "level@since@until"
    once it fell below the high levels at `until` (`level`: the level it fell to, or is at now)."""
    out = []
    for text in marker.split(";"):
        level, _, rest = text.partition("@")
        since, _, until = rest.partition("@")
        out.append((level, int(since or 0), int(until) if until else None))
    return out


def record_change(marker: str | None, level: str, ts_ms: int, keep_ms: int) -> str | None:
    """The customer's marker after a risk change to `level` at `ts_ms` (event time), None when it
    stays as it was; the pure twin of net_risk.lua (network-replay keeps its markers with it).

    A new episode starts when a customer that fell below the high levels (or never had a marker)
    becomes high-risk; an escalation or a de-escalation within the high levels keeps `since`. The
    ended episodes are kept while they ended (or began, for a late posting's odd order) no more
    than `keep_ms` before the new one begins, at most `EARLIER_EPISODES`: the edge and risk topics
    are consumed independently, so an edge of an earlier episode may be judged after a new one
    began, and is judged as of its own event time (`episode_at`)."""
    if marker is None:
        return f"{level}@{ts_ms}" if level in HIGH_LEVELS else None
    head, sep, tail = marker.partition(";")
    tail = sep + tail
    was, _, rest = head.partition("@")
    since, _, fell = rest.partition("@")
    if level in HIGH_LEVELS:
        if fell:
            kept = [e for e in marker.split(";") if max(int(x) for x in e.split("@")[1:]) >= ts_ms - keep_ms][:EARLIER_EPISODES]
            return ";".join([f"{level}@{ts_ms}", *kept])
        return f"{level}@{since}{tail}" if was != level else None
    if not fell:
        return f"{level}@{since}@{ts_ms}{tail}"
    return f"{level}@{since}@{fell}{tail}" if was != level else None


def episode_at(view: NetworkView, customer_id: str | None) -> tuple[str, int, int | None] | None:
    """The customer's high-risk episode as of the anchor: the newest that began at or before it,
    (level, since ms, until ms or None); None if it has none then."""
    marker = view.risk.get(customer_id) if customer_id else None
    if marker is None:
        return None
    return next((e for e in episodes(marker) if e[1] <= view.anchor.ts_ms), None)


def risk_since(view: NetworkView, customer_id: str | None) -> int | None:
    """Since when (event time, ms) the customer has been high-risk as of the anchor, or None."""
    m = episode_at(view, customer_id)
    if m is None:
        return None
    level, since, until = m
    if until is None:
        return since if level in HIGH_LEVELS else None
    return since if view.anchor.ts_ms < until else None  # it fell after the anchor: high-risk then


def counted_since(view: NetworkView, customer_id: str | None, lapsed_days: float) -> int | None:
    """`risk_since`, or for a customer whose level fell below the high levels at most `lapsed_days`
    before the anchor, since when it had been high-risk: after a suspicious rating the bank keeps
    the customer under a monitoring period (可疑交易报告后的监控期, at most 3 months), while the
    customer stage's level falls as soon as its windows forget the activity."""
    m = episode_at(view, customer_id)
    if m is None:
        return None
    level, since, until = m
    if until is None:
        return since if level in HIGH_LEVELS else None
    return since if view.anchor.ts_ms < max(until, since) + round(lapsed_days * DAY_MS) else None  # a late posting may date the fall earlier


def in_circle(view: NetworkView, party: str, other: str) -> bool:
    """Whether `party` and `other` both dealt with a third party that is not a hub, up to the anchor
    (over what the stage retains): a household, friends, a small workplace. A customer drawn into
    dealings with a high-risk one has no such tie; a relative or a friend of it does."""
    a, b = view.of(party), view.of(other)
    mine = {h.payer for h in a.ins_within(0, view.end)} | {h.payee for h in a.outs_within(0, view.end)}
    theirs = {h.payer for h in b.ins_within(0, view.end)} | {h.payee for h in b.outs_within(0, view.end)}
    return any(not view.of(x).hub for x in sorted((mine & theirs) - {party, other}))


def _window(view: NetworkView, since_ms: int, params: Params) -> tuple[int, int]:
    """(window start, when the counterparty counts as high-risk: `before_rating_days` before its
    rating), event time ms. Transfers count from the later of the two; a relationship is new
    from the earlier."""
    return view.anchor.ts_ms - round(params.window_days * DAY_MS), since_ms - round(params.before_rating_days * DAY_MS)


def _by_counterparty(account: Adjacency, lo_ms: int, view: NetworkView) -> dict[str, list[Hop]]:
    """The account's transfers from `lo_ms` up to the anchor, by counterparty."""
    out: dict[str, list[Hop]] = {}
    for h in account.ins_within(lo_ms, view.end):
        out.setdefault(h.payer, []).append(h)
    for h in account.outs_within(lo_ms, view.end):
        out.setdefault(h.payee, []).append(h)
    return out


def exposed_hops(view: NetworkView, account: Adjacency, counterparty: str, hops: list[Hop], since_ms: int, params: Params) -> list[Hop]:
    """The transfers (`hops`: those between `account` and `counterparty` since the counted start)
    that make one side exposed to the other, high-risk since `since_ms`, as of the anchor; or []
    (see the module docstring)."""
    start, rated = _window(view, since_ms, params)
    new_from = account.new_since(min(start, rated), round(params.min_history_days * DAY_MS), view.origin_ms)
    if account.met(counterparty, view.anchor.ts_ms) < new_from:
        return []  # a long-standing relationship (or one first seen before the history says anything)
    floor = round(params.min_amount_cny * FEN_PER_YUAN)
    hops = [h for h in hops if h.amount_fen >= floor]
    if len(hops) < params.min_transfers or sum(h.amount_fen for h in hops) < round(params.min_total_cny * FEN_PER_YUAN):
        return []
    return hops


def detect(view: NetworkView, params: Params, severity: str = "high") -> NetworkHit | None:
    if not view.risk:
        return None
    own = view.account  # the high-risk customer's copy: its account holds every exposed customer's transfers
    other = view.anchor.payee if view.copy == "payer" else view.anchor.payer
    me, them = view.customer(own), view.customer(other)
    since = counted_since(view, me, params.lapsed_days)
    if since is None or them is None or risk_since(view, them) is not None:
        return None
    h = view.of(own)
    start, rated = _window(view, since, params)
    by_party = _by_counterparty(h, max(start, rated), view)
    mine = exposed_hops(view, h, other, by_party.get(other, []), since, params)
    if not mine or (params.circle and in_circle(view, own, other)):
        return None  # the anchor's counterparty is not (newly) exposed: nothing changed
    exposed: dict[str, list[Hop]] = {other: mine}
    for party, run in sorted(by_party.items()):
        customer = view.customer(party)
        if party == other or customer is None or risk_since(view, customer) is not None:
            continue
        hops = exposed_hops(view, h, party, run, since, params)
        if hops and not (params.circle and in_circle(view, own, party)):
            exposed[party] = hops
    if len(exposed) < params.min_exposed:
        return None
    hops = [x for run in exposed.values() for x in run]
    first = min(hops, key=Hop.order)
    level, _, until = episode_at(view, me)  # type: ignore[misc]
    lapsed = until is not None and until <= view.anchor.ts_ms
    total = sum(x.amount_fen for x in hops)
    roles = {p: "exposed" for p in exposed} | {own: "high_risk_party"}
    return NetworkHit(
        pattern=ID,
        key=digest(f"{own}|{first.edge_id}", 16),
        window_start_ms=first.ts_ms,
        window_end_ms=view.anchor.ts_ms,
        metrics={
            "exposed_customers": len(exposed),
            "transfers": len(hops),
            "total_cny": yuan(total),
            "high_risk_level": level,
            "high_risk_lapsed": lapsed,
        },
        thresholds={
            "window_days": params.window_days,
            "min_history_days": params.min_history_days,
            "min_transfers": params.min_transfers,
            "min_total_cny": params.min_total_cny,
            "min_amount_cny": params.min_amount_cny,
            "before_rating_days": params.before_rating_days,
            "min_exposed": params.min_exposed,
            "lapsed_days": params.lapsed_days,
            "circle": params.circle,
            "levels": list(HIGH_LEVELS),
        },
        parties=parties_of(view, hops, roles),
        tx_ids=all_tx_ids(hops),
        severity=severity,
    )
