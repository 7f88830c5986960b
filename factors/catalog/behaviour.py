"""Behaviour (其他因素) factors measured from the rolling aggregates.

Each factor is a pure function (view, params) -> Measurement | None; None means the factor
does not apply (e.g. too little history) and contributes nothing.
"""

from __future__ import annotations

from typing import Any

from factors.money import yuan
from factors.view import CustomerView, Measurement

GROUP = "behaviour"


def cash_volume_30d(view: CustomerView, params: dict[str, Any]) -> Measurement | None:
    """Cash deposited and withdrawn over the last 30 business days, in CNY."""
    window = view.snapshot.windows["30d"]
    cash = yuan(window.cash_fen)
    return Measurement(cash, {"cash_30d_cny": cash, "cash_tx_share_of_turnover": _share(window.cash_fen, window.sum_fen)})


def activity_vs_baseline(view: CustomerView, params: dict[str, Any]) -> Measurement | None:
    """Transactions in the last 7 days as a multiple of the customer's own weekly average.

    The baseline is the 90-day count minus the last 7 days, spread over the remaining 83 days;
    a customer with fewer than `min_active_days` active days in 90 has no baseline yet.
    """
    windows = view.snapshot.windows
    if view.snapshot.active_days_90d < int(params.get("min_active_days", 14)):
        return None
    earlier = windows["90d"].count - windows["7d"].count
    weekly_baseline = max(earlier * 7 / 83, float(params.get("min_weekly_baseline", 1.0)))
    ratio = round(windows["7d"].count / weekly_baseline, 3)
    return Measurement(ratio, {"count_7d": windows["7d"].count, "weekly_baseline": round(weekly_baseline, 3), "ratio": ratio})


def cross_border_share(view: CustomerView, params: dict[str, Any]) -> Measurement | None:
    """Share of the 30-day turnover that crossed a border; ignored below a minimum turnover."""
    window = view.snapshot.windows["30d"]
    if yuan(window.sum_fen) < float(params.get("min_turnover_cny", 10_000)):
        return None
    share = _share(window.cross_border_fen, window.sum_fen)
    evidence = {"cross_border_30d_cny": yuan(window.cross_border_fen), "turnover_30d_cny": yuan(window.sum_fen), "share": share}
    return Measurement(share, evidence)


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


FACTORS = (
    ("cash_volume_30d", GROUP, "Cash volume over 30 days (现金交易累计金额)", cash_volume_30d),
    ("activity_vs_baseline", GROUP, "Transaction frequency against the customer's own 90-day baseline", activity_vs_baseline),
    ("cross_border_share", GROUP, "Share of turnover that is cross-border (跨境)", cross_border_share),
)
