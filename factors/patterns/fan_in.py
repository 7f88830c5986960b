"""Fan-in (分散转入、集中转出): money collected from many sources and passed on to one or two sinks.

The collection account of telecom fraud, illegal fund-raising or an underground bank: many
payers, a few payees, and the money does not stay. Over the 7-business-day window ("7d" in the
snapshot, after this transaction):

    counterparties_in >= min_sources, counterparties_out <= max_sinks, in >= min_in_cny,
    and balance_low <= out / in <= balance_high.

Defaults: min_sources 10, max_sinks 2, min_in_cny 100,000, balance 0.8..1.2 (what came in has
largely left again, and no more than came in). A business with many customers and many suppliers
has many sinks too; a salary account has one source; that is what the sink and source counts
keep out.

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

ID = "fan_in"


class Params(FanParams):
    min_sources: DistinctThreshold = 10
    """Distinct payers in the window, at least."""
    max_sinks: MaxCount = 2
    """Distinct payees in the window, at most."""
    min_in_cny: CnyThreshold = 100_000.0
    """Money in over the window, CNY, at least (balance: out / in within [balance_low, balance_high]: the money has left)."""


_FAN = Fan(ID, many="in")


def detect(view: CustomerView, params: Params) -> PatternHit | None:
    return detect_fan(_FAN, view, params)
