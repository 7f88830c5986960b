"""Network fan-in (小额多头汇入): an account receiving from a small set of *new* payers over a long
window, more than its peer group and its own history make ordinary.

Anchor: the payee copy of an edge into the account. Counted: distinct payers in the last
`window_days` not seen in the `history_days` before (a business's repeat clients are not new),
transfers of at least `min_amount_cny`. Fires when the count first exceeds the bar
max(`min_new`, the published `peer_quantile` of `new_payers` in the account's peer group, and
`history_multiple` x the account's own average per window) with at least `min_total_cny`. The
customer-level `fan_in` keeps its absolute lines (10 payers, CNY 100,000 in 7 days); this one
finds retail-scale collection (a handful of payers, thousands of CNY, over weeks). Population
quantiles are published per peer group with a version (`quantiles_version` in the thresholds).
Key: the window's first new edge. Roles: `collector`, `payer`.
"""

from __future__ import annotations

from factors.network.graph import NetworkHit, NetworkView
from factors.patterns._network_fan import FanParams, NetworkFan, detect_network_fan

ID = "network_fan_in"
Params = FanParams
DEFAULTS = Params()
_FAN = NetworkFan(ID, many="in")


def detect(view: NetworkView, params: FanParams, severity: str = "medium") -> NetworkHit | None:
    return detect_network_fan(_FAN, view, params, severity)
