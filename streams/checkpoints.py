"""Detect Redis state that is behind the consumer group's committed offsets.

Every batch commit records, next to the customers' state, the last input offset it covers per
partition. When a worker starts consuming a partition it resumes at the group's committed
offset; that offset can never be beyond the recorded checkpoint + 1 unless Redis lost data (a
flush, or a restore from an older snapshot). The worker then refuses to continue with a clear
message: going on would silently produce wrong aggregates and missed reports.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from redis.asyncio import Redis

from streams.events import Source

CHECKPOINT_KEY = "aml:checkpoints:{%s}"  # one hash per topic: partition -> last committed offset


def checkpoint_key(topic: str) -> str:
    return CHECKPOINT_KEY % topic


def batch_offsets(records: Iterable[Source]) -> dict[tuple[str, int], tuple[int, int]]:
    """(topic, partition) -> (first, last) offset in the batch."""
    spans: dict[tuple[str, int], tuple[int, int]] = {}
    for r in records:
        first, last = spans.get((r.topic, r.partition), (r.offset, r.offset))
        spans[(r.topic, r.partition)] = (min(first, r.offset), max(last, r.offset))
    return spans


class StateBehindError(Exception):
    pass


class StateGuard:
    """Checks each partition once per assignment, on the first batch read from it."""

    def __init__(self, redis: Redis, earliest: Callable[[str, int], Awaitable[int]]) -> None:
        self.redis = redis
        self.earliest = earliest
        self.verified: set[tuple[str, int]] = set()

    def forget(self, partitions: Iterable[tuple[str, int]]) -> None:
        self.verified.difference_update(partitions)

    async def check(self, records: list[Source]) -> None:
        for (topic, partition), (first, _) in batch_offsets(records).items():
            if (topic, partition) in self.verified:
                continue
            raw = await self.redis.hget(checkpoint_key(topic), str(partition))
            if raw is None:
                start = await self.earliest(topic, partition)
                if first > start:
                    raise StateBehindError(
                        f"Redis has no state for {topic}[{partition}] but the group resumes at offset {first} (log starts at {start}): "
                        "Redis lost its data. Restore it, or rebuild: stop the workers, reset the group's offsets to the earliest and "
                        "flush the amlstream keys (the input topic must still hold the longest window)"
                    )
            elif first > int(raw) + 1:
                raise StateBehindError(
                    f"Redis state of {topic}[{partition}] ends at offset {int(raw)} but the group resumes at {first}: Redis was restored "
                    "from an older snapshot or lost writes. Restore a newer copy, or rebuild from the input topic (see the README)"
                )
            self.verified.add((topic, partition))
