"""The suspicious-pattern library: one module per typology, each a pure `detect` rule with
documented `DEFAULTS`; the standard's `[patterns.<id>]` tables enable and parameterise them."""

from __future__ import annotations

from collections.abc import Callable

from factors.model import PatternHit
from factors.patterns import (
    dormant_reactivation,
    fan_in,
    fan_out,
    frequent_one_off,
    high_risk_jurisdiction,
    night_burst,
    peer_cash_outlier,
    peer_frequency_outlier,
    profile_mismatch,
    rapid_in_out,
    round_amounts,
    same_day_cash,
    structuring,
)
from factors.standard import PatternSetting, Standard
from factors.view import CustomerView

Detect = Callable[[CustomerView, PatternSetting], PatternHit | None]

MODULES = (
    same_day_cash,
    structuring,
    rapid_in_out,
    fan_in,
    fan_out,
    dormant_reactivation,
    high_risk_jurisdiction,
    peer_cash_outlier,
    peer_frequency_outlier,
    frequent_one_off,
    profile_mismatch,
    round_amounts,
    night_burst,
)
PATTERNS: dict[str, Detect] = {m.ID: m.detect for m in MODULES}


def detect_all(view: CustomerView, standard: Standard) -> list[PatternHit]:
    """Every enabled pattern that fires at this event, in the standard's order."""
    hits = []
    for pattern_id, setting in standard.patterns.items():
        if setting.enabled and pattern_id in PATTERNS:  # network rules run in the network stage (factors.network.rules)
            hit = PATTERNS[pattern_id](view, setting)
            if hit is not None:
                hits.append(hit)
    return hits


__all__ = ["MODULES", "PATTERNS", "Detect", "detect_all"]
