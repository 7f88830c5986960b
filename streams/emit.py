"""Emit output events to their topics with an idempotent `acks=all` producer, and wait for the acks."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from streams.connections import kafka_options
from streams.events import OutputEvent
from streams.network.batches import Partitioner, pack
from streams.settings import Settings


class KafkaEmitter:
    """The worker's own producer: idempotence and acks=all are explicit, not left to defaults."""

    def __init__(self, settings: Settings) -> None:
        self.topics = settings.topics.by_event_kind()
        self.producer = AIOKafkaProducer(
            **kafka_options(settings),
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=1_048_576,
            max_request_size=2 * settings.max_message_bytes + 1_048_576,  # a dead letter carries its payload
            request_timeout_ms=30_000,
            client_id="amlstream-emitter",
        )
        self._partitioner = Partitioner()  # edge copies travel in one message per partition (streams.network.batches)

    async def start(self) -> None:
        await self.producer.start()

    async def stop(self) -> None:
        await self.producer.stop()

    async def emit(self, events: Sequence[OutputEvent]) -> Counter[str]:
        """Send every event and return once Kafka acknowledged all of them (counts of events by
        topic; edge copies count one each though they travel in edge batches)."""
        futures = []
        counts: Counter[str] = Counter()
        edges: list[tuple[str, bytes]] = []
        for event in events:
            topic = self.topics[event.kind]
            counts[topic] += 1
            if event.kind == "edge" and event.key is not None:
                edges.append((event.key, event.encode()))
                continue
            key = event.key.encode() if event.key is not None else None
            futures.append(await self.producer.send(topic, value=event.encode(), key=key))
        if edges:
            topic = self.topics["edge"]
            partitions = len(await self.producer.partitions_for(topic))
            for partition, value, _ in pack(edges, partitions, self._partitioner):
                futures.append(await self.producer.send(topic, value=value, partition=partition))
        if futures:
            await asyncio.gather(*futures)
        return counts
