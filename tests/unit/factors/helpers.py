"""Builders of plain core records for unit tests."""

from __future__ import annotations

from factors.model import WINDOWS, RecentTx, Snapshot, Transaction, WindowStats
from factors.profile import PeerBaseline, Profile
from factors.view import CustomerView

T0 = 1_795_000_000_000  # 2026-11-18T11:06:40Z, a Wednesday


def tx(tx_id: str = "t1", *, ts_ms: int = T0, direction: str = "in", fen: int = 100_00, method: str = "transfer", **kw) -> Transaction:
    return Transaction(
        tx_id=tx_id,
        customer_id=kw.pop("customer_id", "c1"),
        ts_ms=ts_ms,
        direction=direction,  # type: ignore[arg-type]
        amount_fen=fen,
        amount=kw.pop("amount", str(fen / 100)),
        currency=kw.pop("currency", "CNY"),
        method=method,  # type: ignore[arg-type]
        **kw,
    )


def snapshot(
    *,
    seq: int = 1,
    asof_ms: int = T0,
    tx_day: WindowStats | None = None,
    active_days: int = 1,
    prev_event_ms: int | None = None,
    active_since_ms: int | None = None,
    **windows: WindowStats,
) -> Snapshot:
    """Windows are given as w1h=..., w24h=..., w7d=..., w30d=..., w90d=... (default: empty)."""
    all_windows = {name: windows.get(f"w{name}", WindowStats()) for name in WINDOWS}
    return Snapshot(
        seq=seq,
        asof_ms=asof_ms,
        windows=all_windows,
        tx_day=tx_day or WindowStats(),
        active_days_90d=active_days,
        prev_event_ms=prev_event_ms,
        active_since_ms=active_since_ms,
    )


def recent(t: Transaction, seq: int, business_day: int = 20_000, local_hour: int = 12, high_risk: bool = False, counterparty: str = "") -> RecentTx:
    """The trail entry of a transaction (round_amount: a multiple of 1,000 in its currency)."""
    round_amount = float(t.amount) % 1000 == 0
    return RecentTx(
        seq, t.ts_ms, t.direction, t.amount_fen, t.is_cash, business_day, t.tx_id, local_hour, t.cross_border, high_risk, round_amount, counterparty, t.currency, t.amount
    )


def profile(kind: str = "individual", **kw) -> Profile:
    return Profile(customer_id=kw.pop("customer_id", "c1"), kind=kind, updated_ms=kw.pop("updated_ms", T0), **kw)  # type: ignore[arg-type]


def peer(customers: int = 50, avg_cash_fen: float = 10_000_00, avg_count: float = 20.0) -> PeerBaseline:
    return PeerBaseline("individual:unknown", "pb-test", customers, avg_cash_fen, avg_count)


def view(
    t: Transaction | None,
    snap: Snapshot,
    trail: tuple[RecentTx, ...] = (),
    business_day: int = 20_000,
    profile: Profile | None = None,
    peer: PeerBaseline | None = None,
    detections: dict[str, int] | None = None,
) -> CustomerView:
    return CustomerView(t.customer_id if t else "c1", profile, t, snap, trail, business_day, peer, detections or {})
