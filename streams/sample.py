"""A small deterministic sample stream for the demo and tests (the full generator is `generate`).

Ordinary customers do card spending, salary and transfers; a few cash-heavy customers cross the
same-day cash threshold; a handful of malformed messages exercise the dead-letter path.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import orjson

BAD_MESSAGES: tuple[bytes, ...] = (
    b'{"tx_id": "bad-1", "customer_id": "C9001"',  # truncated JSON
    b'{"tx_id": "bad-2", "customer_id": "C9001", "ts": "2026-11-27T10:00:00", "direction": "in", "amount": 5, "currency": "CNY", "method": "cash"}',
    b'{"tx_id": "bad-3", "customer_id": "C9001", "ts": "2026-11-27T10:00:00+08:00", "direction": "in", "amount": -5, "currency": "CNY", "method": "cash"}',
    b'{"tx_id": "bad-4", "customer_id": "C9001", "ts": "2026-11-27T10:00:00+08:00", "direction": "in", "amount": 5, "currency": "XXX", "method": "cash"}',
)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def sample_stream(customers: int = 50, days: int = 3, seed: int = 7, start: datetime | None = None) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) pairs in event-time order; the same seed yields the same bytes."""
    rng = random.Random(seed)
    start = start or datetime(2026, 11, 20, tzinfo=UTC)
    events: list[tuple[datetime, str, dict]] = []
    n = 0
    for c in range(customers):
        cid = f"C{c:04d}"
        cash_heavy = c % 10 == 3
        for day in range(days):
            base = start + timedelta(days=day, hours=1)
            for _ in range(rng.randint(1, 4)):
                n += 1
                when = base + timedelta(minutes=rng.randint(0, 600))
                tx = {"tx_id": f"T{n:08d}", "customer_id": cid, "ts": _iso(when), "currency": "CNY", "channel": "mobile"}
                if cash_heavy:
                    tx.update(direction="in", amount=f"{rng.randint(18_000, 26_000)}.00", method="cash", channel="counter")
                else:
                    tx.update(
                        direction=rng.choice(("in", "out")),
                        amount=f"{rng.randint(20, 3000)}.{rng.randint(0, 99):02d}",
                        method=rng.choice(("card", "transfer", "transfer")),
                        counterparty_id=f"M{rng.randint(1, 40):03d}",
                    )
                events.append((when, cid, tx))
    events.sort(key=lambda item: (item[0], item[2]["tx_id"]))
    for _, cid, tx in events:
        yield cid.encode(), orjson.dumps(tx)
    for bad in BAD_MESSAGES:
        yield b"C9001", bad
