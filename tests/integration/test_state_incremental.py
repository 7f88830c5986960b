"""Layout 2's incremental totals against a brute-force recomputation, on the real Redis.

Random sequences of legs (duplicates, late legs, legs past the late-arrival window, watermark
jumps past every window, foreign currency, counterparties) are applied in random batches and
chunks; every snapshot the script returns must equal what a plain recomputation over the legs
applied so far gives. This is the property the whole layout rests on: totals kept by adding and
subtracting buckets are exactly the totals of the legs in each window.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factors.calendar import fine_bucket
from factors.large_value import add_leg, foreign_amounts
from factors.model import DayTotals, WindowStats
from streams.state import CustomerCommit, StateStore
from streams.state.store import TxItem, counterparty_digest
from tests.unit.factors.helpers import tx

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
BASE = 1_790_000_000_000  # 2026-09-21
CP_SPAN_MS = {"1h": HOUR_MS, "24h": DAY_MS, "7d": 7 * DAY_MS, "30d": 30 * DAY_MS, "90d": 90 * DAY_MS}
DAY_SPAN = {"7d": 7, "30d": 30, "90d": 90}


@dataclass(frozen=True)
class Leg:
    item: TxItem
    high_risk: bool


class Recomputation:
    """What the snapshots must say, computed from the applied legs alone, by brute force."""

    def __init__(self, model, retain_days: int, dormant_days: int = 180) -> None:
        self.model = model
        self.retain = retain_days
        self.dormant_ms = dormant_days * DAY_MS
        self.legs: list[Leg] = []
        self.ids: dict[str, int] = {}  # tx_id -> business day of the applied leg
        self.wm: int | None = None
        self.active_since: int | None = None

    def apply(self, leg: Leg) -> str:
        t = leg.item.tx
        wd = self.model.calendar.business_day(self.wm) if self.wm is not None else None
        if t.tx_id in self.ids and (wd is None or (self.ids[t.tx_id] // 30 + 1) * 30 - 1 > wd - self.retain):
            return "done"  # dedup sets cover blocks of 30 business days, dropped when wholly past the window
        if wd is not None and leg.item.day <= wd - self.retain:
            return "late"
        self.ids[t.tx_id] = leg.item.day
        if self.wm is not None and t.ts_ms - self.wm >= self.dormant_ms:
            self.active_since = t.ts_ms
        self.prev = self.wm
        self.wm = t.ts_ms if self.wm is None else max(self.wm, t.ts_ms)
        self.legs.append(leg)
        return "new"

    def windows(self) -> dict[str, WindowStats]:
        assert self.wm is not None
        wf, wd = fine_bucket(self.wm), self.model.calendar.business_day(self.wm)
        out = {}
        for name in ("1h", "24h", "7d", "30d", "90d"):
            if name in DAY_SPAN:
                inside = [g for g in self.legs if wd - DAY_SPAN[name] < g.item.day <= wd]
            else:
                span = 12 if name == "1h" else 288
                inside = [g for g in self.legs if wf - span < g.item.fine <= wf]
            last_seen: dict[tuple[str, str], int] = {}
            for g in self.legs:
                if g.item.counterparty:
                    key = (g.item.tx.direction, g.item.counterparty)
                    last_seen[key] = max(last_seen.get(key, 0), g.item.tx.ts_ms)
            cps = {d: sum(1 for (dd, _), ts in last_seen.items() if dd == d and self.wm - CP_SPAN_MS[name] < ts <= self.wm) for d in ("in", "out")}

            def total(pred, legs=inside):
                return sum(g.item.tx.amount_fen for g in legs if pred(g))

            out[name] = WindowStats(
                len(inside),
                total(lambda g: g.item.tx.direction == "in"),
                total(lambda g: g.item.tx.direction == "out"),
                total(lambda g: g.item.tx.direction == "in" and g.item.tx.is_cash),
                total(lambda g: g.item.tx.direction == "out" and g.item.tx.is_cash),
                total(lambda g: g.item.tx.direction == "in" and g.item.tx.cross_border),
                total(lambda g: g.item.tx.direction == "out" and g.item.tx.cross_border),
                total(lambda g: g.high_risk),
                cps["in"],
                cps["out"],
            )
        return out

    def day(self, day: int) -> DayTotals:
        totals = DayTotals()
        for g in self.legs:
            if g.item.day == day:
                totals = add_leg(totals, g.item.tx, self.model.standard.fx, g.high_risk)
        return totals

    def active_days(self) -> int:
        assert self.wm is not None
        wd = self.model.calendar.business_day(self.wm)
        return len({g.item.day for g in self.legs if wd - 90 < g.item.day <= wd})


def make_leg(model, tx_id: str, ts_ms: int, fen: int, direction: str, cash: bool, xb: bool, hr: bool, usd: bool, cp: str) -> Leg:
    method = "cash" if cash else "transfer"
    if usd:
        t = tx(tx_id, ts_ms=ts_ms, fen=fen * 71 // 10, direction=direction, method=method, cross_border=xb, currency="USD", amount=f"{fen / 100:.2f}")
    else:
        t = tx(tx_id, ts_ms=ts_ms, fen=fen, direction=direction, method=method, cross_border=xb)
    flags = ("c" if cash else "") + ("x" if xb else "") + ("h" if hr else "")
    cal = model.calendar
    foreign = ""
    if usd:
        u, m = foreign_amounts(t, model.standard.fx)
        foreign = f"{u}:{m}"
    item = TxItem(t, fine_bucket(ts_ms), cal.business_day(ts_ms), cal.local_hour(ts_ms), flags, counterparty_digest(cp), foreign)
    return Leg(item, hr)


step = st.one_of(
    st.integers(0, 40 * 60_000),  # minutes apart: fine buckets and the 1 h window
    st.integers(0, 30 * HOUR_MS),  # hours: the 24 h window and business days
    st.integers(-120 * DAY_MS, -HOUR_MS),  # late legs, some past the late-arrival window
    st.integers(5 * DAY_MS, 200 * DAY_MS),  # jumps past windows (and dormancy)
)
leg_strategy = st.tuples(
    st.integers(0, 25),  # tx_id from a small pool: duplicates happen
    step,
    st.integers(1, 9_000_000),
    st.sampled_from(["in", "out"]),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.integers(0, 6),  # USD when 0
    st.sampled_from(["", "A", "B", "C", "D", "E"]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raw=st.lists(leg_strategy, min_size=1, max_size=45), cuts=st.lists(st.integers(1, 12), min_size=1, max_size=20), chunk=st.integers(1, 7))
async def test_snapshots_equal_a_recomputation(redis, model, raw, cuts, chunk):
    await redis.flushdb()
    store = StateStore(redis, retain_days=90, chunk=chunk, trail_max=8, trail_horizon_ms=6 * HOUR_MS)
    ref = Recomputation(model, retain_days=90)
    clock = BASE
    legs = []
    for tid, dt, fen, direction, cash, xb, hr, usd, cp in raw:
        if dt >= 0:
            clock += dt
        # a late leg is stamped before the present and does not move the generator's clock
        legs.append(make_leg(model, f"t{tid}", clock + min(dt, 0), fen, direction, cash, xb, hr, usd == 0, cp))
    position = 0
    for size in cuts * 10:
        if position >= len(legs):
            break
        batch = legs[position : position + size]
        position += size
        applied = (await store.apply({"c1": [g.item for g in batch]}))["c1"]
        assert applied.error is None
        for leg, result in zip(batch, applied.results, strict=True):
            expected = ref.apply(leg)
            assert result.status == expected, leg.item.tx  # copies within a batch too: as if the batch were cut there
            if expected == "new":
                snap = result.snapshot
                assert snap.asof_ms == ref.wm and snap.prev_event_ms == ref.prev
                assert snap.windows == ref.windows()
                assert snap.day == ref.day(leg.item.day)
                assert snap.active_days_90d == ref.active_days()
                assert snap.active_since_ms == ref.active_since
        pending = tuple(r.item.tx.tx_id for r in applied.results if r.status in ("new", "pend"))
        await store.commit([CustomerCommit("c1", pending, None, {"level": "normal"})])
        # what is left of the trail after the commit: bounded by count and by the horizon
        trail = (await store.inspect("c1")).get("T")
        assert not trail or len(trail.split(b"\n")) <= 8
