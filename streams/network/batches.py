"""Edge copies travel on aml.edges.v1 in batches: one message per target partition per delivery.

Why: a customer-stage delivery of 200 legs carries about as many edge copies; produced one by one,
each costs the customer worker, the broker and the network worker a Kafka record of its own (the
bench's `stages` section measured the network stage at 0.72 of the customer stage alone that way).
A batch message holds, in production order, the copies that one partition's owner needs.

Every guarantee of the keyed copies holds. A copy goes to the partition Kafka's default
partitioner gives its key (murmur2 of the owner's party id, as the Java client and aiokafka
compute it), so a keyed single copy (edge.v1) and a batched one (edge_batch.v1) land in the same
partition, and the worker that owns an account sees all of its edges in the order produced. The
consumer checks each copy's owner against the message's partition with the partition count the
producer used (`partitions`): a copy that another partition owns is dead-lettered
(`key_mismatch`), as a keyed copy with a wrong key is.

Envelope (streams/schemas/edge_batch.v1.schema.json)::

    {"event_type": "edge_batch", "schema_version": 1, "partitions": 12, "copies": [<edge.v1>, ...]}
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka.partitioner import murmur2

SCHEMA_VERSION = 1
MAX_BATCH_BYTES = 512 * 1024  # well under the broker's default message.max.bytes (1 MiB)
_CACHE_SIZE = 1 << 16  # party ids whose partition is remembered (murmur2 in Python is ~5-10 µs)


def partition_of(party_id: str, partitions: int) -> int:
    """The partition of a message keyed by `party_id` under Kafka's default partitioner."""
    return (murmur2(party_id.encode()) & 0x7FFFFFFF) % partitions


class Partitioner:
    """`partition_of` with a bounded memory of recent party ids (busy accounts recur)."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, int], int] = {}

    def __call__(self, party_id: str, partitions: int) -> int:
        key = (party_id, partitions)
        found = self._known.get(key)
        if found is None:
            if len(self._known) >= _CACHE_SIZE:
                self._known.clear()
            found = self._known[key] = partition_of(party_id, partitions)
        return found


def pack(copies: Iterable[tuple[str, bytes]], partitions: int, partitioner: Partitioner, max_bytes: int = MAX_BATCH_BYTES) -> list[tuple[int, bytes, int]]:
    """(partition, edge_batch.v1 value, copies in it) for `copies` given as (owner party id,
    encoded edge.v1 copy), in their order within each partition; a partition's copies are split
    over several messages when they exceed `max_bytes` (a single larger copy travels alone)."""
    if partitions < 1:
        raise ValueError(f"partitions must be at least 1, not {partitions}")
    head = b'{"event_type":"edge_batch","schema_version":%d,"partitions":%d,"copies":[' % (SCHEMA_VERSION, partitions)
    open_parts: dict[int, tuple[list[bytes], int]] = {}
    done: list[tuple[int, list[bytes]]] = []
    for owner, encoded in copies:
        p = partitioner(owner, partitions)
        parts, size = open_parts.get(p, ([], len(head) + 2))
        if parts and size + len(encoded) + 1 > max_bytes:
            done.append((p, parts))
            parts, size = [], len(head) + 2
        parts.append(encoded)
        open_parts[p] = (parts, size + len(encoded) + 1)
    done.extend((p, parts) for p, (parts, _) in open_parts.items())
    return [(p, head + b",".join(parts) + b"]}", len(parts)) for p, parts in done]


__all__ = ["MAX_BATCH_BYTES", "SCHEMA_VERSION", "Partitioner", "pack", "partition_of"]
