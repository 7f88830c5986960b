"""Population distributions of customer-level figures per peer group: bounded log-scale histograms.

What is counted: each *customer-day* of a peer group (a customer active on a business day, with
its figures as they stood after its last transaction of that day: the windows end at its
watermark), over the last 30 business days. A rule that compares a customer with "the p99 of its
group's 7-day inflow" compares it with the 7-day inflow its peers had at the end of the days they
were active, so busy customers weigh more than quiet ones, as they do in the alerts.

The figures (`METRICS`) come from the snapshot's windows: money in whole yuan (fen // 100), counts
and distinct counterparties as they are. Each value falls in a bucket of a log-linear histogram
(HdrHistogram-like): exact below 8, then four buckets per power of two, so a bucket is at most 25 %
wider than its lower bound (CNY 10,000 falls in [8,192, 10,240)) and a figure of up to 10^12
yuan needs fewer than 170 buckets. A histogram is a few dozen integers whatever the number of
customers; adding and removing a sample is one counter each.

Quantiles are read with linear interpolation inside the bucket that holds the rank (q x samples),
so they are exact for values below 8 and within a bucket's width above; deterministic for a given
histogram.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from factors.model import Snapshot, WindowStats

EXACT = 8  # values below are their own bucket
SUB_BITS = 2  # 2 ** SUB_BITS buckets per power of two above EXACT
SUB = 1 << SUB_BITS

Unit = Literal["cny", "count", "distinct"]


@dataclass(frozen=True, slots=True)
class Metric:
    """A customer-level figure whose peer-group distribution is published.

    `unit`: "cny" (money, sampled in whole yuan), "count" (transactions) or "distinct"
    (distinct counterparties: they do not add up over time, so a customer's own history of them
    cannot be averaged from the windows); `window` the snapshot window; `of` the quantity.
    """

    name: str
    unit: Unit
    window: str
    of: Callable[[WindowStats], int]
    doc: str

    def value(self, snapshot: Snapshot) -> int:
        """The figure in the metric's unit (whole yuan for money, never below 0)."""
        raw = self.of(snapshot.windows[self.window])
        return max(raw // 100 if self.unit == "cny" else raw, 0)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("in_24h", "cny", "24h", lambda w: w.in_fen, "money in over 24 hours, CNY"),
        Metric("sum_24h", "cny", "24h", lambda w: w.in_fen + w.out_fen, "money in and out over 24 hours, CNY"),
        Metric("in_7d", "cny", "7d", lambda w: w.in_fen, "money in over 7 business days, CNY"),
        Metric("out_7d", "cny", "7d", lambda w: w.out_fen, "money out over 7 business days, CNY"),
        Metric("sum_7d", "cny", "7d", lambda w: w.in_fen + w.out_fen, "money in and out over 7 business days, CNY"),
        Metric("payers_7d", "distinct", "7d", lambda w: w.counterparties_in, "distinct payers over 7 business days"),
        Metric("payees_7d", "distinct", "7d", lambda w: w.counterparties_out, "distinct payees over 7 business days"),
        Metric("count_30d", "count", "30d", lambda w: w.count, "transactions over 30 business days"),
    )
}
METRIC_NAMES: tuple[str, ...] = tuple(METRICS)


def bucket_of(value: int) -> int:
    """The histogram bucket of a non-negative integer (negative values count as 0)."""
    if value < EXACT:
        return max(value, 0)
    exponent = value.bit_length() - 1  # >= 3
    shift = exponent - SUB_BITS
    return EXACT + (exponent - 3) * SUB + (value >> shift) - SUB


def bucket_bounds(bucket: int) -> tuple[int, int]:
    """[low, high) of a bucket: the values `bucket_of` maps to it."""
    if bucket < EXACT:
        return bucket, bucket + 1
    exponent, sub = divmod(bucket - EXACT, SUB)
    shift = exponent + 3 - SUB_BITS
    return (SUB + sub) << shift, (SUB + sub + 1) << shift


def sample(snapshot: Snapshot) -> tuple[int, ...]:
    """The buckets of every metric (in `METRICS` order) for a customer's figures at a snapshot."""
    return tuple(bucket_of(m.value(snapshot)) for m in METRICS.values())


@dataclass(frozen=True, slots=True)
class Distribution:
    """One metric's histogram over a peer group: ascending buckets and their cumulative counts."""

    buckets: tuple[int, ...]
    cumulative: tuple[int, ...]

    @classmethod
    def from_counts(cls, counts: Mapping[int, int] | Iterable[tuple[int, int]]) -> Distribution:
        """From bucket -> samples (buckets with no positive count are left out)."""
        items = sorted((b, n) for b, n in (counts.items() if isinstance(counts, Mapping) else counts) if n > 0)
        running, cumulative = 0, []
        for _, n in items:
            running += n
            cumulative.append(running)
        return cls(tuple(b for b, _ in items), tuple(cumulative))

    @property
    def total(self) -> int:
        return self.cumulative[-1] if self.cumulative else 0

    def counts(self) -> list[list[int]]:
        """[[bucket, samples], ...] (how it is published)."""
        previous, out = 0, []
        for b, c in zip(self.buckets, self.cumulative, strict=True):
            out.append([b, c - previous])
            previous = c
        return out

    def quantile(self, q: float) -> float | None:
        """The value below which a share `q` (0 < q < 1) of the samples lies: the bucket holding
        rank q x total, interpolated linearly inside it. None without samples."""
        total = self.total
        if total == 0:
            return None
        rank = q * total
        i = min(bisect.bisect_left(self.cumulative, rank), len(self.cumulative) - 1)
        before = self.cumulative[i - 1] if i else 0
        low, high = bucket_bounds(self.buckets[i])
        return low + (high - low) * (rank - before) / (self.cumulative[i] - before)
