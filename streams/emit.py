"""Emit output events to their topics with an idempotent `acks=all` producer, and wait for the acks."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from streams.connections import kafka_options
from streams.events import OutputEvent
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

    async def start(self) -> None:
        await self.producer.start()

    async def stop(self) -> None:
        await self.producer.stop()

    async def emit(self, events: Sequence[OutputEvent]) -> Counter[str]:
        """Send every event and return once Kafka acknowledged all of them (counts by topic)."""
        futures = []
        counts: Counter[str] = Counter()
        for event in events:
            topic = self.topics[event.kind]
            key = event.key.encode() if event.key is not None else None
            futures.append(await self.producer.send(topic, value=event.encode(), key=key))
            counts[topic] += 1
        if futures:
            await asyncio.gather(*futures)
        return counts
