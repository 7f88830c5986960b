"""The network worker: its own faust app and consumer group on aml.edges.v1.

One agent, one small loop: take a batch, run `NetworkEngine.process`, emit the detections and dead
letters (idempotent producer, acks=all, wait for every ack), `commit` the graph state, then release
the offsets (the same hold-until-durable scheme as the customer stage, see streams/app.py). A
failing batch is retried with capped backoff; an unexpected error exits (70) without acknowledging,
so the batch is redelivered.

A second agent reads aml.risk-changes.v1 (the customer stage's output, in the same group) and
records the levels of its partitions' customers in one Redis hash that every worker reloads
(streams/network/risk.py): the exposure rule and measurements need any counterparty's level. A
rebalance that revokes edge partitions drops the accounts held in memory at the next batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import tempfile
import time

import faust
import mode
from redis.asyncio import Redis

from factors.network.rules import load_rules
from streams.connections import checked_redis, faust_credentials, make_redis
from streams.emit import KafkaEmitter
from streams.errors import ConfigError, DecodeError
from streams.events import OutputEvent, Source, dead_letter
from streams.health import Readiness, serve
from streams.logs import faust_worker
from streams.network.engine import NetworkBatch, NetworkEngine
from streams.network.metrics import NetworkMetrics
from streams.network.risk import RiskView, decode_risk_change
from streams.network.state import GraphStore
from streams.retry import retry
from streams.settings import Settings
from streams.worker import open_model, require_topics

log = logging.getLogger("amlstream.network")
EXIT_INTERNAL_ERROR = 70
RISK_RELOAD_S = 5.0  # how often a worker reloads the risk levels the other workers recorded


async def handle(engine: NetworkEngine, emitter: KafkaEmitter, metrics: NetworkMetrics, records: list[Source], retry_max_s: float) -> NetworkBatch:
    """Process, emit (acks awaited) and commit one batch, retrying each idempotent step."""
    started = time.perf_counter()

    async def attempt() -> tuple[NetworkBatch, dict[str, int]]:
        batch = await engine.process(records)
        counts = await emitter.emit(batch.events)
        await engine.commit(batch)
        return batch, counts

    batch, counts = await retry("network batch", attempt, max_delay_s=retry_max_s, on_error=lambda _: metrics.redis_errors.inc())
    for outcome, n in batch.outcomes.items():
        metrics.edges.labels(outcome).inc(n)
    for pattern, n in batch.detections.items():
        metrics.detections.labels(pattern).inc(n)
    for code, n in batch.dead_letters.items():
        metrics.dead_letters.labels(code).inc(n)
    for topic, n in counts.items():
        metrics.emitted.labels(topic).inc(n)
    metrics.search_seconds.observe(batch.search_seconds)
    metrics.accounts_read.inc(batch.accounts_read)
    metrics.hubs_skipped.inc(batch.hubs_skipped)
    metrics.reanchored.inc(batch.reanchored)
    metrics.batch_seconds.observe(time.perf_counter() - started)
    if batch.max_event_ms:
        metrics.event_time_lag.set(time.time() - batch.max_event_ms / 1000)  # operational only
    return batch


def create_network_app(settings: Settings, metrics: NetworkMetrics, readiness: Readiness) -> faust.App:
    model = open_model(settings)
    rules = load_rules(model.standard)
    app = faust.App(
        settings.network_group_id,
        broker=[f"kafka://{server.strip()}" for server in settings.bootstrap_servers.split(",")],
        broker_credentials=faust_credentials(settings),
        store="memory://",
        web_enabled=False,
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=max(0.5, settings.session_timeout_s / 6),
        broker_max_poll_records=settings.batch_size,
        stream_buffer_maxsize=4 * settings.batch_size,
        autodiscover=False,
        agent_supervisor=mode.CrashingSupervisor,
        datadir=os.path.join(tempfile.gettempdir(), "amlstream-faust-network"),
    )
    edges = app.topic(settings.topics.edges, key_serializer="raw", value_serializer="raw", allow_empty=True)
    risk_topic = app.topic(settings.topics.risk_changes, key_serializer="raw", value_serializer="raw", allow_empty=True)
    held: dict[str, GraphStore] = {}
    view = RiskView()  # customer_id -> risk marker of customers high-risk now or lately (streams.network.risk)

    async def reload_risk(redis: Redis) -> None:
        metrics.high_risk_customers.set(await view.reload(redis))

    @app.agent(risk_topic, concurrency=1)
    async def track_risk(stream: faust.StreamT) -> None:
        """Record the risk changes of this worker's risk partitions for every worker (one hash);
        a malformed one is dead-lettered. Offsets are released once recorded (at least once: a
        redelivered run of changes ends the same)."""
        redis = make_redis(settings, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30)
        emitter = KafkaEmitter(settings)
        await emitter.start()

        async def deliver(dead: list[OutputEvent], changes: list[tuple[str, str, int]]) -> None:
            await emitter.emit(dead)
            metrics.high_risk_customers.set(await view.record(redis, changes))

        try:
            async for batch in stream.take_events(settings.batch_size, within=settings.network_batch_window_ms / 1000):
                for event in batch:
                    event.message.incref()
                changes: list[tuple[str, str, int]] = []
                dead: list[OutputEvent] = []
                for event in batch:
                    m = event.message
                    try:
                        change = decode_risk_change(m.value)
                    except DecodeError as exc:
                        metrics.risk_changes.labels("invalid").inc()
                        dead.append(dead_letter(Source(m.topic, m.partition, m.offset, m.key, m.value), exc.code, exc.detail, model.version))
                        continue
                    metrics.risk_changes.labels("recorded" if change else "other_event").inc()
                    if change:
                        changes.append(change)
                await retry(
                    "risk levels", functools.partial(deliver, dead, changes), max_delay_s=settings.redis_retry_max_s, on_error=lambda _: metrics.redis_errors.inc()
                )
                for code in (d.value["error_code"] for d in dead):
                    metrics.dead_letters.labels(code).inc()
                for event in batch:
                    event.message.ack(app.consumer, n=2)
        finally:  # no unclosed producer or connection at shutdown
            await emitter.stop()
            await redis.aclose()

    @app.agent(edges, concurrency=1)
    async def process_edges(stream: faust.StreamT) -> None:
        redis = make_redis(settings, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30)
        store = held["store"] = GraphStore(redis, retain_days=settings.retain_days, cap=settings.network_edge_cap, hub_degree=settings.network_hub_degree)
        await reload_risk(redis)
        engine = NetworkEngine(store, rules, model.version, risk=view.markers, late_anchors=settings.network_late_anchors)
        emitter = KafkaEmitter(settings)
        await emitter.start()
        try:
            async for batch in stream.take_events(settings.batch_size, within=settings.network_batch_window_ms / 1000):
                for event in batch:
                    event.message.incref()  # held until the batch is durable (see streams/app.py)
                records = [Source(e.message.topic, e.message.partition, e.message.offset, e.message.key, e.message.value) for e in batch]
                try:
                    await handle(engine, emitter, metrics, records, settings.redis_retry_max_s)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.critical("unexpected error in a network batch; exiting for a clean redelivery", exc_info=True)
                    logging.shutdown()
                    os._exit(EXIT_INTERNAL_ERROR)
                for event in batch:
                    event.message.ack(app.consumer, n=2)
                readiness.last_progress = time.monotonic()
                for tp in {e.message.tp for e in batch}:
                    last = max(e.message.offset for e in batch if e.message.tp == tp)
                    high = app.consumer.highwater(tp)
                    if high is not None:
                        metrics.consumer_lag.labels(f"{tp.topic}:{tp.partition}").set(max(0, high - last - 1))

        finally:  # no unclosed producer or connection at shutdown
            await emitter.stop()
            await redis.aclose()

    @app.on_partitions_revoked.connect
    async def forget_revoked(app: faust.App, revoked: set[faust.types.TP], **kwargs: object) -> None:
        """Accounts of a revoked edge partition are another worker's now: drop what is held (at the
        next batch boundary; owned accounts are read back from Redis on their next edge)."""
        if "store" in held and any(tp.topic == settings.topics.edges for tp in revoked):
            held["store"].forget()
            metrics.forgets.inc()
        for tp in revoked:
            with contextlib.suppress(KeyError):
                metrics.consumer_lag.remove(f"{tp.topic}:{tp.partition}")

    @app.timer(interval=RISK_RELOAD_S)
    async def refresh_risk() -> None:
        """Risk changes recorded by the other workers (their risk partitions)."""
        redis = make_redis(settings, socket_timeout=10)
        try:
            await reload_risk(redis)
        except Exception:  # a periodic job never takes the worker down (redis-py's cluster client can raise AttributeError)
            metrics.redis_errors.inc()
            log.warning("a periodic Redis job failed", exc_info=True)
        finally:
            await redis.aclose()

    @app.timer(interval=2.0)
    async def update_readiness() -> None:
        readiness.assigned_partitions = len(app.consumer.assignment())
        readiness.redis_ok = True

    @app.timer(interval=60.0)
    async def count_state_keys() -> None:
        redis = make_redis(settings, socket_timeout=10)
        try:
            metrics.state_accounts.set(await redis.dbsize())
        except Exception:  # a periodic job never takes the worker down (redis-py's cluster client can raise AttributeError)
            metrics.redis_errors.inc()
            log.warning("a periodic Redis job failed", exc_info=True)
        finally:
            await redis.aclose()

    return app


async def preflight(settings: Settings) -> None:
    """Fail fast, with one line naming the problem (exit 2), if the network stage's Redis, Kafka
    or one of its topics is missing, as the customer worker does (streams.worker.preflight)."""
    async with checked_redis(settings):
        pass
    t = settings.topics
    await require_topics(settings, t.edges, t.risk_changes, t.network_detections, t.dead_letter)


def run_network_worker(settings: Settings) -> int:
    asyncio.run(preflight(settings))
    metrics = NetworkMetrics()
    readiness = Readiness()
    try:
        serve(settings.network_metrics_port, metrics.registry, readiness)
    except OSError as exc:
        raise ConfigError(f"metrics port {settings.network_metrics_port} is not available: {exc.strerror}") from None
    app = create_network_app(settings, metrics, readiness)
    log.info("network worker starting: group %s, topic %s", settings.network_group_id, settings.topics.edges)
    faust_worker(app, settings.log_level).execute_from_commandline()
    return 0
