"""Behaviour (其他因素) factors: conduct flags from the profile and quantities measured from the
rolling aggregates, the published peer-group baselines and the recent pattern detections.

Each factor is a pure function (view, params, standard) -> Measurement | None; None means the
factor does not apply (e.g. too little history, no peer baseline) and contributes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field, field_validator

from factors.catalog import exposure
from factors.catalog.base import FactorDef
from factors.catalog.customer import _flag
from factors.config import Cny, Count, Days, FactorParams, Points
from factors.money import yuan
from factors.view import CustomerView, Measurement

if TYPE_CHECKING:
    from factors.profile import PeerBaseline
    from factors.standard import Standard

GROUP = "behaviour"
DAY_MS = 86_400_000


def cash_volume_30d(view: CustomerView, params: FactorParams, standard: Standard) -> Measurement | None:
    """Cash deposited and withdrawn over the last 30 business days, in CNY."""
    window = view.snapshot.windows["30d"]
    cash = yuan(window.cash_fen)
    return Measurement(cash, {"cash_30d_cny": cash, "cash_tx_share_of_turnover": _share(window.cash_fen, window.sum_fen)})


class ActivityVsBaselineParams(FactorParams):
    min_active_days: Annotated[int, Field(ge=0, le=90)] = 14
    """Active days in the last 90 a customer needs before it has a baseline."""
    min_weekly_baseline: Annotated[float, Field(gt=0, le=1_000_000)] = 1.0
    """Floor of the weekly baseline (transactions), so a nearly idle customer's first few do not look like a surge."""


def activity_vs_baseline(view: CustomerView, params: ActivityVsBaselineParams, standard: Standard) -> Measurement | None:
    """Transactions in the last 7 days as a multiple of the customer's own weekly average.

    The baseline is the 90-day count minus the last 7 days, spread over the remaining 83 days;
    a customer with fewer than `min_active_days` active days in 90 has no baseline yet.
    """
    windows = view.snapshot.windows
    if view.snapshot.active_days_90d < params.min_active_days:
        return None
    earlier = windows["90d"].count - windows["7d"].count
    weekly_baseline = max(earlier * 7 / 83, params.min_weekly_baseline)
    ratio = round(windows["7d"].count / weekly_baseline, 3)
    return Measurement(ratio, {"count_7d": windows["7d"].count, "weekly_baseline": round(weekly_baseline, 3), "ratio": ratio})


class MinTurnoverParams(FactorParams):
    min_turnover_cny: Cny = 10_000.0
    """Below this turnover (CNY, in + out over the factor's window) the factor does not apply."""


class DeclaredTurnoverParams(FactorParams):
    min_turnover_cny: Cny = 100_000.0
    """Below this 90-day turnover (CNY, in + out) the factor does not apply."""


def cross_border_share(view: CustomerView, params: MinTurnoverParams, standard: Standard) -> Measurement | None:
    """Share of the 30-day turnover that crossed a border; ignored below a minimum turnover."""
    window = view.snapshot.windows["30d"]
    if yuan(window.sum_fen) < params.min_turnover_cny:
        return None
    share = _share(window.cross_border_fen, window.sum_fen)
    evidence = {"cross_border_30d_cny": yuan(window.cross_border_fen), "turnover_30d_cny": yuan(window.sum_fen), "share": share}
    return Measurement(share, evidence)


def turnover_vs_declared(view: CustomerView, params: DeclaredTurnoverParams, standard: Standard) -> Measurement | None:
    """90-day turnover, annualised, as a multiple of the declared yearly income or turnover
    (资金收付金额与业务规模不符); needs a declared figure and a minimum turnover."""
    declared = view.profile.declared_annual_fen if view.profile else None
    window = view.snapshot.windows["90d"]
    if not declared or yuan(window.sum_fen) < params.min_turnover_cny:
        return None
    multiple = round(window.sum_fen * 365 / 90 / declared, 3)
    return Measurement(multiple, {"turnover_90d_cny": yuan(window.sum_fen), "declared_annual_cny": yuan(declared), "annualised_multiple": multiple})


class PeerParams(FactorParams):
    min_peers: Count = 20
    """The published baseline must average at least this many customers (a smaller group's average is noise)."""


def _peer(view: CustomerView, params: PeerParams) -> PeerBaseline | None:
    peer = view.peer
    if peer is None or peer.customers < params.min_peers:
        return None
    return peer


def peer_cash_multiple(view: CustomerView, params: PeerParams, standard: Standard) -> Measurement | None:
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


def peer_frequency_multiple(view: CustomerView, params: PeerParams, standard: Standard) -> Measurement | None:
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


def e_banking_use(view: CustomerView, params: FactorParams, standard: Standard) -> Measurement | None:
    """Uses e-banking (办理电子银行业务)."""
    if view.profile is None or "e_banking" not in view.profile.products:
        return None
    return Measurement(1.0, {"e_banking": True})


class RecentDetectionsParams(FactorParams):
    decay_days: Days = 90.0
    """A detection's points fall linearly to zero over this many days of event time."""
    points: dict[str, Points] = Field(default_factory=dict)
    """Points per detected pattern id; `default` for the patterns not named (10 if not given)."""

    @field_validator("points")
    @classmethod
    def _pattern_ids(cls, points: dict[str, float]) -> dict[str, float]:
        from factors.patterns import PARAMS  # the catalogue is imported by the patterns' standard, not the other way (network rules included)

        unknown = sorted(set(points) - {"default", *PARAMS})
        if unknown:
            raise ValueError(f"keys must be pattern ids or default; unknown: {', '.join(unknown)} (known: {', '.join(sorted(PARAMS))})")
        return points

    @property
    def default_points(self) -> float:
        return self.points.get("default", 10.0)


def recent_detections(view: CustomerView, params: RecentDetectionsParams, standard: Standard) -> Measurement | None:
    """Points of the suspicious patterns detected for the customer, each decaying linearly to
    zero over `decay_days` of event time; the value is already points (no bands)."""
    if not view.detections:
        return None
    decay_ms = params.decay_days * DAY_MS
    table = params.points
    default = params.default_points
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
    return Measurement(round(total, 2), {"patterns": detail, "decay_days": params.decay_days})


def returns_30d(view: CustomerView, params: FactorParams, standard: Standard) -> Measurement | None:
    """Payments returned (退汇) within 30 days, either way: many returns are themselves a mule
    indicator (accounts that receive from strangers and send it back, or pay to accounts that
    reject it). Returns count apart from the flows, so they never feed turnover or the
    pass-through and fan rules; this factor is where they weigh."""
    window = view.snapshot.windows["30d"]
    if not window.returns:
        return None
    return Measurement(float(window.returns), {"returns_30d": window.returns, "returned_cny": yuan(window.returns_fen)})


def high_risk_counterparty_exposure(view: CustomerView, params: FactorParams, standard: Standard) -> Measurement | None:
    """Close dealings with high-risk customers (与高风险客户密切往来, seed factor b3): 90-day CNY
    exchanged with counterparties whose own level is suspicious or above, or who are listed, as
    the network stage last measured it (factors.catalog.exposure)."""
    value, evidence = exposure.measure(view.exposure, view.snapshot.asof_ms)
    return Measurement(value, evidence) if value > 0 else None


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


FACTORS = (
    FactorDef("cash_volume_30d", GROUP, "Cash volume over 30 days (现金交易累计金额)", cash_volume_30d, "CNY"),
    FactorDef(
        "activity_vs_baseline", GROUP, "Transaction frequency against the customer's own 90-day baseline", activity_vs_baseline, "multiple", ActivityVsBaselineParams
    ),
    FactorDef("cross_border_share", GROUP, "Share of turnover that is cross-border (跨境)", cross_border_share, "share", MinTurnoverParams),
    FactorDef("turnover_vs_declared", GROUP, "Turnover inconsistent with declared income or business size", turnover_vs_declared, "multiple", DeclaredTurnoverParams),
    FactorDef("peer_cash_multiple", GROUP, "Cash against the peer-group average", peer_cash_multiple, "multiple", PeerParams),
    FactorDef("peer_frequency_multiple", GROUP, "Transaction frequency against the peer-group average", peer_frequency_multiple, "multiple", PeerParams),
    FactorDef("e_banking_use", GROUP, "Uses e-banking (电子银行)", e_banking_use, "flag"),
    FactorDef("anonymous_account_request", GROUP, "Asked for an anonymous or fictitious account (匿名/虚假账户)", _flag("anonymous_account_request"), "flag"),
    FactorDef("refused_cdd", GROUP, "Refused requested information or documents (拒绝提供信息)", _flag("refused_cdd"), "flag"),
    FactorDef("false_documents", GROUP, "Used false documents (虚假证件)", _flag("false_documents"), "flag"),
    FactorDef("recent_detections", GROUP, "Suspicious patterns recently detected (decaying)", recent_detections, "points", RecentDetectionsParams),
    FactorDef("returns_30d", GROUP, "Payments returned within 30 days (退汇: a mule indicator)", returns_30d, "count"),
    FactorDef(exposure.ID, GROUP, "Close dealings with high-risk customers (与高风险客户密切往来)", high_risk_counterparty_exposure, "CNY"),
)
