"""Profile mismatch (资金收付金额与客户身份、经营规模不符).

The money a customer moves is out of proportion to what the customer declared: an
individual's annual income, or an entity's annual turnover (`Profile.declared_annual_fen`,
which falls back to the other figure when only that one is given).

Condition, with a profile that declares a positive annual figure::

    turnover_90d x 365 / 90 >= multiple x declared_annual   and   turnover_90d >= min_turnover_cny

turnover_90d is in + out of the "90d" window. Equivalently turnover_90d >= bar with
bar = max(ceil(multiple x declared_annual x 90 / 365), min_turnover_cny), computed exactly.
Customers without a declared figure (or no profile) never fire.

On a transaction the rule fires on the crossing: the condition holds and was false without
this transaction (turnover_90d minus its amount; every applied transaction lies in the 90-day
window, older ones are not applied), so once per episode. Key: the business date.

On a profile update (`view.tx` is None) it fires when the condition holds for the updated
profile: a re-declaration that lowers the income below what the account already moves is a
finding in itself, and no transaction would ever cross the bar for a customer already above
it. The view carries only the new profile, so an update that changed nothing else also fires
while the mismatch lasts; the key of these hits is the month ("YYYY-MM") of the business day,
so all updates of one month make one event and alert.

Defaults: multiple 3 (turnover three times the declared yearly figure leaves room for savings
moved between own accounts, salary passing in and out, a bonus year); min_turnover_cny 200,000
in 90 days (below that even a mismatch is too small to be worth a review; it also keeps
students and retirees with a tiny declared income from flagging on ordinary spending).
"""

from __future__ import annotations

import math

from factors.calendar import iso_date
from factors.config import Cny, Multiple, PatternParams
from factors.model import PatternHit
from factors.money import FEN_PER_YUAN, yuan
from factors.numbers import ratio
from factors.view import CustomerView

ID = "profile_mismatch"
MAX_TX_IDS = 100
WINDOW = "90d"
WINDOW_DAYS = 90
WINDOW_MS = WINDOW_DAYS * 86_400_000
DAYS_PER_YEAR = 365


class Params(PatternParams):
    multiple: Multiple = 3.0
    """Annualised 90-day turnover at least this multiple of the declared annual income (turnover for entities) ..."""
    min_turnover_cny: Cny = 200_000.0
    """... and the 90-day turnover (in + out) at least this, CNY."""


def detect(view: CustomerView, params: Params) -> PatternHit | None:
    profile, tx = view.profile, view.tx
    declared = profile.declared_annual_fen if profile is not None else None
    if profile is None or declared is None or declared <= 0:
        return None
    multiple = ratio(params.multiple)
    min_turnover_fen = round(params.min_turnover_cny * FEN_PER_YUAN)
    bar_fen = max(math.ceil(multiple * declared * WINDOW_DAYS / DAYS_PER_YEAR), min_turnover_fen)
    window = view.snapshot.windows[WINDOW]
    after = window.sum_fen
    if after < bar_fen:
        return None
    if tx is not None:
        if after - tx.amount_fen >= bar_fen:
            return None  # already over the bar before this transaction: fired at the crossing
        key = iso_date(view.business_day)
    else:
        key = iso_date(view.business_day)[:7]
    start_ms = view.snapshot.asof_ms - WINDOW_MS
    trail = [r for r in view.recent if r.ts_ms > start_ms]
    if profile.kind == "entity":
        basis = "turnover" if profile.declared_annual_turnover_fen else "income"
    else:
        basis = "income" if profile.declared_annual_income_fen else "turnover"
    return PatternHit(
        pattern=ID,
        key=key,
        window_start_ms=start_ms,
        window_end_ms=view.snapshot.asof_ms,
        metrics={
            "trigger": "transaction" if tx is not None else "profile_update",
            "turnover_90d_cny": yuan(after),
            "in_90d_cny": yuan(window.in_fen),
            "out_90d_cny": yuan(window.out_fen),
            "annualised_turnover_cny": yuan(round(after * DAYS_PER_YEAR / WINDOW_DAYS)),
            "declared_annual_cny": yuan(declared),
            "declared_basis": basis,
            "customer_kind": profile.kind,
            "multiple_observed": round(after * DAYS_PER_YEAR / (WINDOW_DAYS * declared), 2),
        },
        thresholds={"turnover_90d_cny": yuan(bar_fen), "multiple": float(multiple), "min_turnover_cny": yuan(min_turnover_fen)},
        tx_ids=tuple(r.tx_id for r in trail[-MAX_TX_IDS:]),
        tx_ids_truncated=len(trail) > MAX_TX_IDS or len(trail) < window.count,
        severity=params.severity,
    )
