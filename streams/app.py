"""The faust app: builds only the App, its topics and the transaction agent.

The agent is one small loop: take a batch, let the BatchProcessor prepare it (decode, apply,
rate), then hand its delivery (emit, acks, commit, release of the offsets) to a task that runs
while the next batch is prepared. faust's `take_events` acknowledges a buffer when the loop
moves on *or unwinds*, so each message gets an extra reference first, released only after the
batch is durable: a batch that fails or is cancelled is never acknowledged and is redelivered
from the committed offset.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable

import faust
import mode

from streams.checkpoints import StateBehindError, StateGuard
from streams.connections import faust_credentials
from streams.engine import BatchResult
from streams.errors import StateLayoutError
from streams.events import Source
from streams.health import Readiness
from streams.metrics import Metrics
from streams.processor import BatchProcessor
from streams.settings import Settings

log = logging.getLogger("amlstream.app")
EXIT_INTERNAL_ERROR = 70
EXIT_STATE_BEHIND = 3
EXIT_CONFIG = 2


def create_app(settings: Settings, metrics: Metrics, make_processor: Callable[[], Awaitable[BatchProcessor]], readiness: Readiness | None = None) -> faust.App:
    readiness = readiness or Readiness()
    app = faust.App(
        settings.group_id,
        broker=[f"kafka://{server.strip()}" for server in settings.bootstrap_servers.split(",")],
        broker_credentials=faust_credentials(settings),
        store="memory://",
        web_enabled=False,
        topic_allow_declare=False,  # topics are provisioned by operators (deploy/), not by the worker
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        # a crashed member holds its partitions until its session times out: keep that short
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=max(0.5, settings.session_timeout_s / 6),
        broker_max_poll_records=settings.batch_size,
        stream_buffer_maxsize=4 * settings.batch_size,
        consumer_max_fetch_size=max(4 * 1_048_576, 2 * settings.max_message_bytes),
        producer_max_request_size=2 * settings.max_message_bytes + 1_048_576,
        autodiscover=False,
        agent_supervisor=mode.CrashingSupervisor,  # never restart an agent past a failed batch
        datadir=os.path.join(tempfile.gettempdir(), "amlstream-faust"),  # faust's own files stay out of the work tree
        producer_request_timeout=30.0,
    )
    # one agent reads both inputs, so a customer's transactions and profile updates are rated by
    # one loop in arrival order (the topics are co-partitioned by customer_id)
    # with the network stage on, its detections about customers are a third input (keyed and
    # co-partitioned by customer_id like the other two)
    names = (settings.topics.transactions, settings.topics.customers, *((settings.topics.network_detections,) if settings.network else ()))
    inputs = app.topic(*names, key_serializer="raw", value_serializer="raw", allow_empty=True)
    within = settings.batch_window_ms / 1000
    delivery: list = []  # [task, events] of the last batch whose outputs are on their way (its task awaits the one before)
    processors: list[BatchProcessor] = []
    guards: list[StateGuard] = []
    stopping = asyncio.Event()

    @app.on_before_shutdown.connect
    async def drain(app: faust.App, **kwargs: object) -> None:
        """SIGTERM: faust closes the agent without waiting for it, then commits what is acked.
        Let the batch in delivery finish first (within a bound) and release it, so its offsets
        go out with that final commit; if it does not finish it is redelivered later. A batch
        that was only being prepared is never released: it is redelivered."""
        stopping.set()  # no new batch starts from here on; unstarted ones are redelivered
        if delivery:
            await _finish_delivery()
        for processor in processors:
            with contextlib.suppress(Exception):
                await processor.close()

    async def _finish_delivery() -> None:
        task, batch = delivery
        log.info("stopping: finishing the batch in flight (%d messages)", len(batch))
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(task), timeout=settings.drain_timeout_s)
        if task.done() and not task.cancelled() and task.exception() is None:
            log.info("stopping: batch finished and released for the final commit")
        else:
            log.warning("stopping: batch not finished within %.0fs; it will be redelivered", settings.drain_timeout_s)
        delivery.clear()

    def _crash(what: str) -> None:
        # A bug, not bad input (bad input is dead-lettered): stop without acknowledging anything,
        # so the batch is redelivered after the restart and nothing is skipped.
        log.critical("unexpected error while %s a batch; exiting for a clean redelivery", what, exc_info=True)
        logging.shutdown()
        os._exit(EXIT_INTERNAL_ERROR)

    @app.agent(inputs, concurrency=1)
    async def process_inputs(stream: faust.StreamT) -> None:
        """Batches are prepared (decoded, applied, rated) one after another; each one's delivery
        (emit, acks, Redis commit, release) runs while the next is prepared, in order."""
        processor = await make_processor()
        processors.append(processor)

        async def earliest(topic: str, partition: int) -> int:
            tp = faust.types.TP(topic, partition)
            return (await app.consumer.earliest_offsets(tp)).get(tp, 0)

        async def deliver(result: BatchResult, batch: list[faust.EventT], previous: asyncio.Task | None) -> None:
            try:
                if previous is not None:
                    await previous  # deliveries, and so acknowledgements, keep the input order
                await processor.deliver(result)
            except asyncio.CancelledError:
                raise
            except Exception:
                _crash("delivering")
            _release(app, batch)
            readiness.redis_ok = processor.healthy
            readiness.last_progress = time.monotonic()
            _export_lag(app, metrics, batch, readiness)

        guards.append(StateGuard(processor.engine.store.redis, earliest))
        last: BatchResult | None = None
        before: asyncio.Task | None = None  # the delivery before the last one
        async for batch in stream.take_events(settings.batch_size, within=within):
            if stopping.is_set():
                for event in batch:
                    event.message.incref()  # never acknowledged: redelivered after the restart
                return
            for event in batch:
                event.message.incref()  # held until the batch is durable (see module docstring)
            records = [_source(e.message) for e in batch]
            try:
                await guards[-1].check(records)
            except StateBehindError as exc:
                log.critical("refusing to continue: %s", exc)
                logging.shutdown()
                os._exit(EXIT_STATE_BEHIND)
            try:
                # at most one batch in delivery while the next is prepared: its states, not yet
                # committed, are the only ones the engine must hold in memory
                if before is not None:
                    await asyncio.shield(before)
                previous = delivery[0] if delivery and not delivery[0].done() else None
                result = await asyncio.shield(processor.prepare(records, last if previous is not None else None))
            except asyncio.CancelledError:
                raise  # shutting down: the on_before_shutdown hook drains the delivery in flight
            except StateLayoutError as exc:
                log.critical("refusing to continue: %s", exc)
                logging.shutdown()
                os._exit(EXIT_CONFIG)
            except Exception:
                _crash("preparing")
            before = previous
            delivery[:] = [asyncio.ensure_future(deliver(result, batch, previous)), batch]
            last = result

    @app.on_partitions_revoked.connect
    async def forget_revoked(app: faust.App, revoked: set[faust.types.TP], **kwargs: object) -> None:
        for guard in guards:
            guard.forget((tp.topic, tp.partition) for tp in revoked)  # checked again if they come back
        for tp in revoked:  # another worker reports these partitions now
            readiness.lag.pop((tp.topic, tp.partition), None)
            with contextlib.suppress(KeyError):
                metrics.consumer_lag.remove(f"{tp.topic}:{tp.partition}")

    return app


def _source(message: faust.types.Message) -> Source:
    """The input record, with its Kafka timestamp as the reference clock for its event time."""
    stamp = message.timestamp
    reference = int(stamp * 1000) if stamp is not None and stamp > 0 else None
    return Source(message.topic, message.partition, message.offset, message.key, message.value, reference)


def _release(app: faust.App, batch: list[faust.EventT]) -> None:
    """Drop both references of each message (ours and the stream's): it becomes committable."""
    for event in batch:
        event.message.ack(app.consumer, n=2)


def _export_lag(app: faust.App, metrics: Metrics, batch: list[faust.EventT], readiness: Readiness) -> None:
    last: dict[faust.types.TP, int] = {}
    for event in batch:
        last[event.message.tp] = event.message.offset
    for tp, offset in last.items():
        try:
            highwater = app.consumer.highwater(tp)
        except (KeyError, AssertionError):
            continue
        if highwater is not None:
            lag = max(0, highwater - offset - 1)
            metrics.consumer_lag.labels(f"{tp.topic}:{tp.partition}").set(lag)
            readiness.lag[(tp.topic, tp.partition)] = lag
