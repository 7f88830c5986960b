"""Re-rate one customer over the transactions of a batch, in order, and decide what to emit.

The outcome depends only on the stored state and the transactions, never on how the stream
was cut into batches: each transaction is scored against the aggregates right after it.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from typing import Any

from factors.model import AppliedTx, Assessment, PatternHit, RecentTx, Transaction
from factors.patterns import detect_all
from factors.scoring import assess
from factors.standard import Standard
from factors.view import CustomerView


@dataclass(frozen=True, slots=True)
class RiskState:
    """A customer's current rating as stored between batches."""

    level: str | None = None
    score: float | None = None
    since_ms: int | None = None  # event time of the last level change
    model_version: str | None = None

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> RiskState:
        return cls(
            level=fields.get("level"),
            score=float(fields["score"]) if "score" in fields else None,
            since_ms=int(fields["since"]) if "since" in fields else None,
            model_version=fields.get("mv"),
        )

    def to_fields(self) -> dict[str, str]:
        out = {}
        if self.level is not None:
            out["level"] = self.level
        if self.score is not None:
            out["score"] = repr(self.score)
        if self.since_ms is not None:
            out["since"] = str(self.since_ms)
        if self.model_version is not None:
            out["mv"] = self.model_version
        return out


@dataclass(frozen=True, slots=True)
class RiskChange:
    cause: Transaction
    previous: RiskState | None  # None for a first rating
    current: Assessment


@dataclass(slots=True)
class CustomerOutcome:
    customer_id: str
    changes: list[RiskChange] = field(default_factory=list)
    patterns: list[tuple[Transaction, PatternHit]] = field(default_factory=list)
    late: list[Transaction] = field(default_factory=list)
    rescored: int = 0
    state: RiskState = field(default_factory=RiskState)
    commit_tx_ids: list[str] = field(default_factory=list)


def rate_customer(
    customer_id: str,
    stored: RiskState,
    profile: dict[str, Any] | None,
    trail: tuple[RecentTx, ...],
    applied: tuple[AppliedTx, ...],
    standard: Standard,
) -> CustomerOutcome:
    outcome = CustomerOutcome(customer_id, state=stored)
    seqs = [r.seq for r in trail]
    state = stored
    for item in applied:
        if item.status == "done":
            continue
        if item.status == "late" or item.snapshot is None:
            outcome.late.append(item.tx)
            continue
        outcome.commit_tx_ids.append(item.tx.tx_id)
        upto = bisect.bisect_right(seqs, item.snapshot.seq)
        view = CustomerView(customer_id, profile, item.tx, item.snapshot, trail[:upto], item.business_day)
        assessment = assess(view, standard)
        outcome.rescored += 1
        if assessment.level != state.level:
            previous = state if state.level is not None else None
            outcome.changes.append(RiskChange(item.tx, previous, assessment))
            state = RiskState(assessment.level, assessment.score, item.tx.ts_ms, standard.model_version)
        else:
            state = replace(state, score=assessment.score, model_version=standard.model_version)
        for hit in detect_all(view, standard):
            outcome.patterns.append((item.tx, hit))
    outcome.state = state
    return outcome
