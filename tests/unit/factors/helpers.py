"""Builders of plain core records for unit tests."""

from __future__ import annotations

from factors.model import WINDOWS, RecentTx, Snapshot, Transaction, WindowStats
from factors.view import CustomerView


def tx(tx_id: str = "t1", *, ts_ms: int = 1_795_000_000_000, direction: str = "in", fen: int = 100_00, method: str = "transfer", **kw) -> Transaction:
    return Transaction(
        tx_id=tx_id,
        customer_id=kw.pop("customer_id", "c1"),
        ts_ms=ts_ms,
        direction=direction,  # type: ignore[arg-type]
        amount_fen=fen,
        amount=str(fen / 100),
        currency="CNY",
        method=method,  # type: ignore[arg-type]
        **kw,
    )


def snapshot(*, seq: int = 1, asof_ms: int = 1_795_000_000_000, tx_day: WindowStats | None = None, active_days: int = 1, **windows: WindowStats) -> Snapshot:
    all_windows = {name: windows.get(f"w{name}", WindowStats()) for name in WINDOWS}
    return Snapshot(seq=seq, asof_ms=asof_ms, windows=all_windows, tx_day=tx_day or WindowStats(), active_days_90d=active_days)


def view(t: Transaction, snap: Snapshot, recent: tuple[RecentTx, ...] = (), business_day: int = 20_000, profile: dict | None = None) -> CustomerView:
    return CustomerView(t.customer_id, profile, t, snap, recent, business_day)
