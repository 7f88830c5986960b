"""Fan-out (集中转入、分散转出): money received from one or two sources and spread to many sinks.

The distribution side of a laundering network: a lump arrives and is split among many payees
(mule accounts, fake suppliers, gambling payouts) and the money does not stay. Over the
7-business-day window ("7d" in the snapshot, after this transaction):

    counterparties_out >= min_sinks, counterparties_in <= max_sources, out >= min_out_cny,
    and balance_low <= in / out <= balance_high.

Defaults: min_sinks 10, max_sources 2, min_out_cny 100,000, balance 0.8..1.2 (what went out had
just come in, and not much more came in than went out). The mirror image of `fan_in`. An ordinary
business has several sources (customers), which the source count keeps out; a payroll account (one
employer, many employees) has the same shape, and its monthly rhythm and known profile are for the
analyst to weigh.

Fires on the transaction that makes the condition true: it holds with the window as it is and
not with this transaction's contribution taken away (its amount, and its counterparty unless the
trail shows the same counterparty in the same direction within the window already). The trail
covers three of the seven days, so a counterparty last seen earlier may be taken for a new one,
and the condition can also turn false and true again as amounts move the ratio across a bound;
so the rule fires at most once per business day as well: not again when `view.detections` holds
a detection of this pattern at an earlier transaction of the same business day. Key: the
business date. Evidence: the window's transactions still in the trail.
"""

from __future__ import annotations

from factors.model import PatternHit
from factors.patterns._fan import Fan, FanParams, MaxCount, detect_fan
from factors.thresholds import CnyThreshold, DistinctThreshold
from factors.view import CustomerView

ID = "fan_out"


class Params(FanParams):
    min_sinks: DistinctThreshold = 10
    """Distinct payees in the window, at least."""
    max_sources: MaxCount = 2
    """Distinct payers in the window, at most."""
    min_out_cny: CnyThreshold = 100_000.0
    """Money out over the window, CNY, at least (balance: in / out within [balance_low, balance_high]: the money paid out had come in)."""


_FAN = Fan(ID, many="out")


def detect(view: CustomerView, params: Params) -> PatternHit | None:
    return detect_fan(_FAN, view, params)
