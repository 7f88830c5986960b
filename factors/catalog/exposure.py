"""Exposure to high-risk customers (与高风险客户的密切往来): the half of seed factor b3 that looks at
the counterparty's own risk, not its country.

Group: behaviour ("other"): it is measured from transactions, like `counterparty_high_risk_flows`
is for countries. The network stage knows each edge's counterparty and, from
aml.risk-changes.v1, every customer's current level; it sends the customer stage an exposure
measurement (the 90-day CNY exchanged with counterparties whose level was `suspicious` or above,
or who are listed, when the edge was processed). This factor scores the latest measurement; a
measurement older than `max_age_days` scores nothing (the exposure has left the window).

    value = exposure CNY of the measurement (0 when none or too old)

Bands in the standard turn the value into points, as for every measured factor.
"""

from __future__ import annotations

from typing import Any

from factors.model import ExposureMeasurement

DAY_MS = 86_400_000
ID = "high_risk_counterparty_exposure"
GROUP = "behaviour"


def measure(latest: ExposureMeasurement | None, asof_ms: int, max_age_days: int = 90) -> tuple[float, dict[str, Any]]:
    """(value in CNY, evidence) of the factor at `asof_ms` (the customer's watermark)."""
    if latest is None or asof_ms - latest.measured_ms > max_age_days * DAY_MS or latest.exposure_fen <= 0:
        return 0.0, {"exposure_cny": 0.0, "counterparties": 0}
    cny = latest.exposure_fen / 100
    return cny, {"exposure_cny": cny, "counterparties": latest.counterparties, "measured_days_ago": round((asof_ms - latest.measured_ms) / DAY_MS, 1)}
