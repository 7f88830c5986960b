"""Generating a synthetic bank: the population, then the lazy stream."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

from synthbank.benign import stream
from synthbank.population import build
from synthbank.records import Population, local_origin

LAST_DAY = date(2100, 12, 31)  # the decoder's last year (streams.decode.MAX_YEAR): a leg past it is dead-lettered


def generate(customers: int, days: int, seed: int, start: datetime | None = None, network_from_day: int = 0) -> tuple[Population, Iterator[dict]]:
    """Profiles (customer-profile.v1 dicts) with the labels of the injected typologies, and a lazily
    generated iterator of transaction.v1 dicts in event-time order (ts non-decreasing), so a large
    stream never sits in memory. Deterministic for (customers, days, seed, start, network_from_day).

    `network_from_day` (0-based, < days): no network group starts before it. The network rules
    judge relationships as new only from `min_history_days` (30) after the stage's first edge, so
    a short bank shows network detections only with its groups after that (the demo); 0 (the
    default) leaves every seed's output as before."""
    if customers < 1:
        raise ValueError(f"--customers must be at least 1, got {customers}")
    if days < 1:
        raise ValueError(f"--days must be at least 1, got {days}")
    origin = local_origin(start)
    most = (LAST_DAY - origin).days + 1
    if days > most:
        raise ValueError(f"--days {days} from {origin} runs past {LAST_DAY}: the pipeline takes event times up to the year {LAST_DAY.year} (at most {most} days)")
    if not 0 <= network_from_day < days:
        raise ValueError(f"--network-from-day must be 0 to days - 1 ({days - 1}), got {network_from_day}")
    plan, population = build(customers, days, seed, start, network_from_day)
    return population, stream(plan)
