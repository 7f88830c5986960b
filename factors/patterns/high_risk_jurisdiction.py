"""High-risk jurisdiction (高风险国家或地区): a transaction with a counterparty in a listed country.

Funds flowing to or from a jurisdiction with strategic AML/CFT deficiencies — the FATF "call for
action" list, or the bank's own list of countries with high drug, smuggling, terrorism or
gambling risk and offshore tax havens — call for enhanced scrutiny whatever the amount. The rule:

    the transaction's counterparty_country (ISO 3166 alpha-2) is in `countries`, in either
    direction, and its amount is at least `min_amount_cny`.

`countries` is injected by the worker from the standard's high-risk list; the default here is
only illustrative (the FATF call-for-action list: KP North Korea, IR Iran, MM Myanmar).
min_amount_cny 0: every such transaction counts.

Once per business day and country: key = business date + ":" + country. The trail keeps a
high-risk flag per transaction but not the country, so an earlier transaction of the same day is
recognised as the same episode only when it was flagged, reached min_amount_cny and went to or
came from the same counterparty (whose country does not change); otherwise the rule fires again,
with the same key, and the alert (its id derives from the key) is one per day and country. A
profile update (no transaction) does not fire. Metrics include the day's and the 30-day flows with
high-risk jurisdictions; thresholds give the list's size, not the list (part of the confidential
standard).
"""

from __future__ import annotations

from factors.calendar import iso_date
from factors.config import Alpha2, Cny, PatternParams
from factors.model import PatternHit
from factors.money import FEN_PER_YUAN, yuan
from factors.view import CustomerView

ID = "high_risk_jurisdiction"


class Params(PatternParams):
    countries: tuple[Alpha2, ...] = ("KP", "IR", "MM")
    """ISO 3166-1 alpha-2 codes; when not given, the standard's lists marked high_risk_flows (this default only applies outside a standard)."""
    min_amount_cny: Cny = 0.0
    """Transactions below this amount, CNY, are left out."""


def detect(view: CustomerView, params: Params) -> PatternHit | None:
    tx = view.tx
    if tx is None or not tx.counterparty_country:
        return None
    countries = set(params.countries)
    min_amount_fen = round(params.min_amount_cny * FEN_PER_YUAN)
    country = tx.counterparty_country.strip().upper()
    if country not in countries or tx.amount_fen < min_amount_fen:
        return None
    own = next((r for r in view.recent if r.tx_id == tx.tx_id), None)
    if own is not None and own.counterparty:
        for r in view.recent:
            if (
                r.tx_id != tx.tx_id
                and r.business_day == view.business_day
                and r.high_risk_country
                and r.counterparty == own.counterparty
                and r.amount_fen >= min_amount_fen
            ):
                return None  # the same counterparty, so the same country, already fired today
    return PatternHit(
        pattern=ID,
        key=f"{iso_date(view.business_day)}:{country}",
        window_start_ms=tx.ts_ms,
        window_end_ms=tx.ts_ms,
        metrics={
            "country": country,
            "direction": tx.direction,
            "amount_cny": yuan(tx.amount_fen),
            "cross_border": tx.cross_border,
            "high_risk_day_cny": yuan(view.snapshot.tx_day.hr_fen),
            "high_risk_30d_cny": yuan(view.snapshot.windows["30d"].hr_fen),
        },
        thresholds={"min_amount_cny": yuan(min_amount_fen), "list_size": len(countries)},  # the list itself stays in the standard
        tx_ids=(tx.tx_id,),
        severity=params.severity,
    )
