"""The ISO 20022 adapter agent: pacs.008 and camt.054 topics -> transaction legs on the transactions topic.

- Own consumer group (`AMLSTREAM_ISO20022_GROUP_ID`) on the two ISO topics; instances share the
  partitions.
- Every instance reads the whole compacted customers topic (no group, all partitions, from the
  beginning) into its account directory, and keeps reading it.
- Before a batch is mapped, the directory catches up to the customers topic's end offsets read
  at that moment: a profile acknowledged by Kafka before the batch was fetched is always applied
  first. A payment for an account whose profile arrives later gives no leg for that side (counted
  as `not_customer`); it is not retried.
- Legs go to the transactions topic keyed by customer_id (idempotent producer, acks=all); the
  input offsets are committed only after every leg and dead letter of the batch is acknowledged
  (at-least-once; a redelivered message gives the same legs with the same tx_ids, and the
  customer stage counts a tx_id once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Iterable

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CommitFailedError, KafkaError

from iso20022.directory import AccountDirectory, apply_profile_message
from iso20022.mapping import MappingContext
from iso20022.metrics import IsoMetrics
from iso20022.parse import CAMT054, PACS008
from iso20022.process import process_message
from iso20022.settings import AdapterSettings
from streams.connections import kafka_options
from streams.errors import ConfigError
from streams.events import Source
from streams.health import Readiness, serve
from streams.model import Model
from streams.settings import Settings

log = logging.getLogger("amlstream.iso20022")


class DirectoryFeed:
    """The customers topic read from the beginning into an AccountDirectory, continuously."""

    def __init__(self, settings: Settings, directory: AccountDirectory, metrics: IsoMetrics) -> None:
        self.topic = settings.topics.customers
        self.directory = directory
        self.metrics = metrics
        self.options = kafka_options(settings)
        self.consumer = AIOKafkaConsumer(**self.options, enable_auto_commit=False, group_id=None, client_id="amlstream-iso20022-directory")
        self.partitions: list[TopicPartition] = []
        self.positions: dict[TopicPartition, int] = {}
        self.progress = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        admin = AIOKafkaAdminClient(**self.options)
        await admin.start()
        try:
            (described,) = await admin.describe_topics([self.topic])
        finally:
            await admin.close()
        if described["error_code"] != 0 or not described["partitions"]:
            raise ConfigError(f"topic {self.topic} does not exist (amlstream create-topics)")
        await self.consumer.start()
        self.partitions = [TopicPartition(self.topic, p["partition"]) for p in sorted(described["partitions"], key=lambda p: p["partition"])]
        self.consumer.assign(self.partitions)
        await self.consumer.seek_to_beginning(*self.partitions)
        self.task = asyncio.create_task(self._run(), name="iso20022-directory")

    async def _run(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=200, max_records=10_000)
            for records in batch.values():
                for record in records:
                    self.metrics.directory_updates.labels(apply_profile_message(self.directory, record.key, record.value)).inc()
            for tp in self.partitions:
                self.positions[tp] = await self.consumer.position(tp)
            self.metrics.directory_accounts.set(len(self.directory))
            self.metrics.directory_customers.set(self.directory.customers)
            if batch:
                self.metrics.directory_conflicts.set(self.directory.conflicts())
            self.progress.set()

    async def caught_up(self) -> float:
        """Wait until the directory has read everything acknowledged on the customers topic so far;
        returns the seconds waited."""
        started = time.monotonic()
        ends = await self.consumer.end_offsets(self.partitions)
        while any(self.positions.get(tp, -1) < end for tp, end in ends.items()):
            if self.task is not None and self.task.done():
                self.task.result()  # re-raise what stopped the feed
            self.progress.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.progress.wait(), timeout=1.0)
        return time.monotonic() - started

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await self.consumer.stop()


class _Assignments(ConsumerRebalanceListener):
    def __init__(self, readiness: Readiness, metrics: IsoMetrics) -> None:
        self.readiness = readiness
        self.metrics = metrics

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        self.readiness.assigned_partitions = 0
        for tp in revoked:  # another instance reports their lag now
            with contextlib.suppress(KeyError):
                self.metrics.consumer_lag.remove(f"{tp.topic}:{tp.partition}")

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        self.readiness.assigned_partitions = len(list(assigned))


class Adapter:
    def __init__(self, settings: Settings, adapter_settings: AdapterSettings, model: Model, metrics: IsoMetrics, readiness: Readiness) -> None:
        self.settings = settings
        self.metrics = metrics
        self.readiness = readiness
        self.model_version = model.version
        topics = settings.topics
        self.expected = {topics.iso20022_pacs008: PACS008, topics.iso20022_camt054: CAMT054}
        self.context = MappingContext(model.calendar.zone, adapter_settings.bank_ids, adapter_settings.bank_country)
        self.directory = AccountDirectory()
        self.feed = DirectoryFeed(settings, self.directory, metrics)
        self.consumer = AIOKafkaConsumer(
            **kafka_options(settings),
            group_id=adapter_settings.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=int(settings.session_timeout_s * 1000),
            max_partition_fetch_bytes=max(1_048_576, 2 * settings.max_message_bytes),
            client_id="amlstream-iso20022",
        )
        self.producer = AIOKafkaProducer(
            **kafka_options(settings),
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=1_048_576,
            max_request_size=2 * settings.max_message_bytes + 1_048_576,  # a dead letter carries its payload
            client_id="amlstream-iso20022-producer",
        )
        self.stopping = asyncio.Event()

    async def start(self) -> None:
        await self.producer.start()
        await self.feed.start()
        await self.consumer.start()
        existing = await self.consumer.topics()
        missing = sorted({*self.expected, self.settings.topics.transactions, self.settings.topics.dead_letter} - existing)
        if missing:
            raise ConfigError(f"missing topics: {', '.join(missing)} (amlstream create-topics)")
        waited = await self.feed.caught_up()
        log.info("account directory loaded: %d accounts of %d customers in %.1fs", len(self.directory), self.directory.customers, waited)
        self.consumer.subscribe(list(self.expected), listener=_Assignments(self.readiness, self.metrics))

    async def stop(self) -> None:
        await self.consumer.stop()  # leaves the group
        await self.feed.stop()
        await self.producer.stop()

    async def run(self) -> None:
        self.readiness.redis_ok = True  # the adapter uses no Redis
        while not self.stopping.is_set():
            batch = await self.consumer.getmany(timeout_ms=self.settings.batch_window_ms, max_records=self.settings.batch_size)
            self.readiness.last_progress = time.monotonic()
            if batch:
                await self.process(batch)

    async def process(self, batch: dict[TopicPartition, list]) -> None:
        started = time.monotonic()
        self.metrics.directory_wait.observe(await self.feed.caught_up())
        futures = []
        outcomes = []
        topics = self.settings.topics
        for tp, records in batch.items():
            for record in records:
                source = Source(tp.topic, tp.partition, record.offset, record.key, record.value)
                outcome = process_message(
                    source, self.expected.get(tp.topic), self.directory, self.context, max_bytes=self.settings.max_message_bytes, model_version=self.model_version
                )
                for leg in outcome.legs:
                    futures.append(await self.producer.send(topics.transactions, key=leg["customer_id"].encode(), value=orjson.dumps(leg)))
                if outcome.dead_letter is not None:
                    event = outcome.dead_letter
                    futures.append(await self.producer.send(topics.dead_letter, key=event.key.encode() if event.key else None, value=event.encode()))
                outcomes.append(outcome)
        await asyncio.gather(*futures)  # every leg and dead letter acknowledged before the offsets move
        try:
            await self.consumer.commit({tp: records[-1].offset + 1 for tp, records in batch.items()})
        except CommitFailedError:
            log.warning("commit failed after a rebalance: the batch will be redelivered to the partitions' new owner (same legs, same tx_ids)")
        for tp, records in batch.items():  # the fetch's high watermark: what is left after this batch
            high = self.consumer.highwater(tp)
            if high is not None:
                self.metrics.consumer_lag.labels(f"{tp.topic}:{tp.partition}").set(max(0, high - records[-1].offset - 1))
        for outcome in outcomes:
            self.metrics.messages.labels(outcome.message_type, outcome.outcome).inc()
            for leg in outcome.legs:
                self.metrics.legs.labels(outcome.message_type, leg["direction"]).inc()
            for skip in outcome.skipped:
                self.metrics.skipped.labels(outcome.message_type, skip.reason).inc()
            if outcome.dead_letter is not None:
                self.metrics.dead_letters.labels(outcome.dead_letter.value["error_code"]).inc()
        self.metrics.batch_seconds.observe(time.monotonic() - started)


async def _main(settings: Settings, adapter_settings: AdapterSettings, model: Model) -> int:
    metrics = IsoMetrics()
    readiness = Readiness()
    try:
        serve(settings.metrics_port, metrics.registry, readiness)
    except OSError as exc:
        raise ConfigError(f"metrics port {settings.metrics_port} is not available: {exc.strerror}") from None
    adapter = Adapter(settings, adapter_settings, model, metrics, readiness)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, adapter.stopping.set)
    try:
        await adapter.start()
        log.info("adapter consuming %s (group %s)", ", ".join(adapter.expected), adapter_settings.group_id)
        await adapter.run()  # returns after the batch in flight when SIGTERM arrives
    except KafkaError as exc:
        raise ConfigError(f"Kafka at {settings.bootstrap_servers}: {type(exc).__name__}: {exc}") from None
    finally:
        await adapter.stop()
    return 0


def run_adapter(settings: Settings, adapter_settings: AdapterSettings, model: Model) -> int:
    return asyncio.run(_main(settings, adapter_settings, model))
