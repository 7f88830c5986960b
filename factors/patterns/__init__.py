"""The suspicious-pattern library: one module per typology, each a pure `detect` rule."""

from __future__ import annotations

from collections.abc import Callable

from factors.model import PatternHit
from factors.patterns import same_day_cash
from factors.standard import PatternSetting, Standard
from factors.view import CustomerView

Detect = Callable[[CustomerView, PatternSetting], PatternHit | None]

PATTERNS: dict[str, Detect] = {
    same_day_cash.ID: same_day_cash.detect,
}


def detect_all(view: CustomerView, standard: Standard) -> list[PatternHit]:
    """Every enabled pattern that fires at this transaction, in the standard's order."""
    hits = []
    for pattern_id, setting in standard.patterns.items():
        if setting.enabled:
            hit = PATTERNS[pattern_id](view, setting)
            if hit is not None:
                hits.append(hit)
    return hits


__all__ = ["PATTERNS", "Detect", "detect_all"]
