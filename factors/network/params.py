"""Shared base of the network rules' parameter models (pydantic v2: frozen, unknown keys refused)."""

from __future__ import annotations

from pydantic import Field

from factors.config import PatternParams, Severity


class RuleParams(PatternParams):
    """Every network rule has a window and an amount floor; the rules add their own fields.
    Strict like every table of the standard (factors.config)."""

    severity: Severity = "high"
    """Severity of the rule's alerts (network typologies are high unless configured otherwise)."""

    window_days: float = Field(10, gt=0, le=90, description="event-time window of the pattern, days (state keeps at most 90)")
    min_amount_cny: float = Field(500, ge=0, description="edges below this amount (CNY) are not part of the pattern")
    min_history_days: float = Field(30, ge=0, le=90, description="a relationship is new only if it began this long after the account's first known edge")


class ConservationParams(RuleParams):
    """Rules that follow money through an account: each hop forwards most of what it received."""

    min_forward_ratio: float = Field(0.9, gt=0, le=1, description="an intermediary forwards at least this share of what it received")
    max_forward_ratio: float = Field(1.01, ge=1, le=2, description="... and at most this multiple (fees, rounding, own top-ups)")
    max_gap_days: float = Field(7, gt=0, le=30, description="longest time between receiving and forwarding, days")
    merge_minutes: float = Field(120, ge=0, le=1440, description="transfers of one pair this close together are one flow (a split payment)")
