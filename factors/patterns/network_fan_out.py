"""Network fan-out (小额多头转出): an account paying a small set of *new* payees over a long
window, more than its peer group and its own history make ordinary.

The mirror of `network_fan_in` (see there), evaluated on the payer copy of each edge out of the
account, counting distinct new payees. Key: the window's first new edge. Roles: `distributor`,
`payee`.
"""

from __future__ import annotations

from factors.network.graph import NetworkHit, NetworkView
from factors.patterns._network_fan import FanParams, NetworkFan, detect_network_fan

ID = "network_fan_out"
Params = FanParams
DEFAULTS = Params()
_FAN = NetworkFan(ID, many="out")


def detect(view: NetworkView, params: FanParams, severity: str = "medium") -> NetworkHit | None:
    return detect_network_fan(_FAN, view, params, severity)
