"""Generating a synthetic bank: the population, then the lazy stream."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from synthbank.benign import stream
from synthbank.population import build
from synthbank.records import Population


def generate(customers: int, days: int, seed: int, start: datetime | None = None) -> tuple[Population, Iterator[dict]]:
    """Profiles (customer-profile.v1 dicts) with the labels of the injected typologies, and a lazily
    generated iterator of transaction.v1 dicts in event-time order (ts non-decreasing), so a large
    stream never sits in memory. Deterministic for (customers, days, seed, start)."""
    if customers < 0 or days < 0:
        raise ValueError("customers and days must be >= 0")
    plan, population = build(customers, days, seed, start)
    return population, stream(plan)
