"""The faust app: builds only the App, its topics and the transaction agent.

The agent is one small loop: take a batch, hand it to the BatchProcessor, then release the
offsets. faust's `take_events` acknowledges a buffer when the loop moves on *or unwinds*, so
each message gets an extra reference first, released only after the batch is durable: a batch
that fails or is cancelled is never acknowledged and is redelivered from the committed offset.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable

import faust

from streams.events import Source
from streams.metrics import Metrics
from streams.processor import BatchProcessor
from streams.settings import Settings

log = logging.getLogger("amlstream.app")
EXIT_INTERNAL_ERROR = 70


def create_app(settings: Settings, metrics: Metrics, make_processor: Callable[[], Awaitable[BatchProcessor]]) -> faust.App:
    app = faust.App(
        settings.group_id,
        broker=[f"kafka://{server.strip()}" for server in settings.bootstrap_servers.split(",")],
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
    )
    # one agent reads both inputs, so a customer's transactions and profile updates are rated by
    # one loop in arrival order (the topics are co-partitioned by customer_id)
    inputs = app.topic(settings.topics.transactions, settings.topics.customers, key_serializer="raw", value_serializer="raw", allow_empty=True)
    within = settings.batch_window_ms / 1000

    @app.agent(inputs, concurrency=1)
    async def process_inputs(stream: faust.StreamT) -> None:
        processor = await make_processor()
        async for batch in stream.take_events(settings.batch_size, within=within):
            for event in batch:
                event.message.incref()  # held until the batch is durable (see module docstring)
            records = [Source(e.message.topic, e.message.partition, e.message.offset, e.message.key, e.message.value) for e in batch]
            try:
                await processor.handle(records)
            except Exception:
                # A bug, not bad input (bad input is dead-lettered): stop without acknowledging
                # anything, so the batch is redelivered after the restart and nothing is skipped.
                log.critical("unexpected error while processing a batch; exiting for a clean redelivery", exc_info=True)
                logging.shutdown()
                os._exit(EXIT_INTERNAL_ERROR)
            for event in batch:
                event.ack()
            _export_lag(app, metrics, batch)

    return app


def _export_lag(app: faust.App, metrics: Metrics, batch: list[faust.EventT]) -> None:
    last: dict[faust.types.TP, int] = {}
    for event in batch:
        last[event.message.tp] = event.message.offset
    for tp, offset in last.items():
        try:
            highwater = app.consumer.highwater(tp)
        except (KeyError, AssertionError):
            continue
        if highwater is not None:
            metrics.consumer_lag.labels(str(tp.partition)).set(max(0, highwater - offset - 1))
