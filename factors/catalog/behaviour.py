"""Behaviour (其他因素) factors: conduct flags from the profile and quantities measured from the
rolling aggregates, the published peer-group baselines and the recent pattern detections.

Each factor is a pure function (view, params, standard) -> Measurement | None; None means the
factor does not apply (e.g. too little history, no peer baseline) and contributes nothing.
"""

from __future__ import annotations

from typing import Any

from factors.catalog.customer import _flag
from factors.money import yuan
from factors.standard import Standard
from factors.view import CustomerView, Measurement

GROUP = "behaviour"
DAY_MS = 86_400_000


def cash_volume_30d(view: CustomerView, params: dict[str, Any], standard: Standard) -> Measurement | None:
    """Cash deposited and withdrawn over the last 30 business days, in CNY."""
    window = view.snapshot.windows["30d"]
    cash = yuan(window.cash_fen)
    return Measurement(cash, {"cash_30d_cny": cash, "cash_tx_share_of_turnover": _share(window.cash_fen, window.sum_fen)})


def activity_vs_baseline(view: CustomerView, params: dict[str, Any], standard: Standard) -> Measurement | None:
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


def cross_border_share(view: CustomerView, params: dict[str, Any], standard: Standard) -> Measurement | None:
    """Share of the 30-day turnover that crossed a border; ignored below a minimum turnover."""
    window = view.snapshot.windows["30d"]
    if yuan(window.sum_fen) < float(params.get("min_turnover_cny", 10_000)):
        return None
    share = _share(window.cross_border_fen, window.sum_fen)
    evidence = {"cross_border_30d_cny": yuan(window.cross_border_fen), "turnover_30d_cny": yuan(window.sum_fen), "share": share}
    return Measurement(share, evidence)


def turnover_vs_declared(view: CustomerView, params: dict[str, Any], standard: Standard) -> Measurement | None:
    """90-day turnover, annualised, as a multiple of the declared yearly income or turnover
    (资金收付金额与业务规模不符); needs a declared figure and a minimum turnover."""
    declared = view.profile.declared_annual_fen if view.profile else None
    window = view.snapshot.windows["90d"]
    if not declared or yuan(window.sum_fen) < float(params.get("min_turnover_cny", 100_000)):
        return None
    multiple = round(window.sum_fen * 365 / 90 / declared, 3)
    return Measurement(multiple, {"turnover_90d_cny": yuan(window.sum_fen), "declared_annual_cny": yuan(declared), "annualised_multiple": multiple})


def _peer(view: CustomerView, params: dict[str, Any]):  # type: ignore[no-untyped-def]
    peer = view.peer
    if peer is None or peer.customers < int(params.get("min_peers", 20)):
        return None
    return peer


def peer_cash_multiple(view: CustomerView, params: dict[str, Any], standard: Standard) -> Measurement | None:
    """30-day cash as a multiple of the peer group's average (现金累计金额超过同类客户平均值的倍数)."""
    peer = _peer(view, params)
    if peer is None or peer.avg_cash_fen_30d <= 0:
        return None
    cash = view.snapshot.windows["30d"].cash_fen
    multiple = round(cash / peer.avg_cash_fen_30d, 3)
    return Measurement(
        multiple,
        {
            "cash_30d_cny": yuan(cash),
            "peer_avg_cash_30d_cny": round(peer.avg_cash_fen_30d / 100, 2),
            "peer_group": peer.group,
            "peer_customers": peer.customers,
            "baseline": peer.version,
            "multiple": multiple,
        },
    )


def peer_frequency_multiple(view: CustomerView, params: dict[str, Any], standard: Standard) -> Measurement | None:
    """30-day transaction count as a multiple of the peer group's average (交易频率超过同类客户平均值的倍数)."""
    peer = _peer(view, params)
    if peer is None or peer.avg_count_30d <= 0:
        return None
    count = view.snapshot.windows["30d"].count
    multiple = round(count / peer.avg_count_30d, 3)
    return Measurement(
        multiple,
        {
            "count_30d": count,
            "peer_avg_count_30d": round(peer.avg_count_30d, 3),
            "peer_group": peer.group,
            "peer_customers": peer.customers,
            "baseline": peer.version,
            "multiple": multiple,
        },
    )


def e_banking_use(view: CustomerView, params: dict[str, Any], standard: Standard) -> Measurement | None:
    """Uses e-banking (办理电子银行业务)."""
    if view.profile is None or "e_banking" not in view.profile.products:
        return None
    return Measurement(1.0, {"e_banking": True})


def recent_detections(view: CustomerView, params: dict[str, Any], standard: Standard) -> Measurement | None:
    """Points of the suspicious patterns detected for the customer, each decaying linearly to
    zero over `decay_days` of event time; the value is already points (no bands)."""
    if not view.detections:
        return None
    decay_ms = float(params.get("decay_days", 90)) * DAY_MS
    table: dict[str, Any] = params.get("points", {})
    default = float(table.get("default", 10))
    now = view.event_ms
    detail = {}
    total = 0.0
    for pattern, at in sorted(view.detections.items()):
        weight = max(0.0, 1 - max(0, now - at) / decay_ms)
        points = round(float(table.get(pattern, default)) * weight, 2)
        if points > 0:
            detail[pattern] = {"points": points, "detected_ms": at}
            total += points
    if not detail:
        return None
    return Measurement(round(total, 2), {"patterns": detail, "decay_days": float(params.get("decay_days", 90))})


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


FACTORS = (
    ("cash_volume_30d", GROUP, "Cash volume over 30 days (现金交易累计金额)", cash_volume_30d),
    ("activity_vs_baseline", GROUP, "Transaction frequency against the customer's own 90-day baseline", activity_vs_baseline),
    ("cross_border_share", GROUP, "Share of turnover that is cross-border (跨境)", cross_border_share),
    ("turnover_vs_declared", GROUP, "Turnover inconsistent with declared income or business size", turnover_vs_declared),
    ("peer_cash_multiple", GROUP, "Cash against the peer-group average", peer_cash_multiple),
    ("peer_frequency_multiple", GROUP, "Transaction frequency against the peer-group average", peer_frequency_multiple),
    ("e_banking_use", GROUP, "Uses e-banking (电子银行)", e_banking_use),
    ("anonymous_account_request", GROUP, "Asked for an anonymous or fictitious account (匿名/虚假账户)", _flag("anonymous_account_request")),
    ("refused_cdd", GROUP, "Refused requested information or documents (拒绝提供信息)", _flag("refused_cdd")),
    ("false_documents", GROUP, "Used false documents (虚假证件)", _flag("false_documents")),
    ("recent_detections", GROUP, "Suspicious patterns recently detected (decaying)", recent_detections),
)
