"""Wiring of a worker: the one place that builds clients (Redis, producer) and runs faust."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from factors.profile import PeerBaseline
from streams import events
from streams.app import create_app
from streams.connections import checked_redis, kafka_options, make_redis
from streams.emit import KafkaEmitter
from streams.engine import Engine
from streams.errors import ConfigError
from streams.health import Readiness, serve
from streams.logs import faust_worker
from streams.metrics import Metrics
from streams.model import Model, open_model
from streams.processor import BatchProcessor
from streams.settings import Settings
from streams.state import StateStore, make_store
from streams.state.peers import archive_new, load_baselines, publish_baselines
from streams.state.store import STATE_HASH_LISTPACK_VALUE, listpack_value_limit

log = logging.getLogger("amlstream.worker")


async def preflight(settings: Settings) -> None:
    """Fail fast, with one line naming the problem, if Redis, Kafka or a topic is missing."""
    async with checked_redis(settings) as redis:
        await StateStore(redis, retain_days=settings.retain_days).ensure_layout()  # another layout's state or a wider window: StateLayoutError, one line, exit 2
        limit = await listpack_value_limit(redis)
        if limit is not None and limit < STATE_HASH_LISTPACK_VALUE:
            log.warning(listpack_warning(limit))
    t = settings.topics
    await require_topics(
        settings,
        *(t.transactions, t.customers, t.risk_changes, t.patterns, t.large_value, t.dead_letter),
        *((t.edges, t.network_detections) if settings.network else ()),
        *((t.peer_baselines,) if settings.peer_publish_interval_s > 0 else ()),  # the archive of published baselines
    )


async def require_topics(settings: Settings, *needed: str) -> None:
    """ConfigError (one line) if Kafka is unreachable or one of the topics is missing."""
    admin = AIOKafkaAdminClient(**kafka_options(settings), request_timeout_ms=10_000)
    kafka_log = logging.getLogger("aiokafka")
    level = kafka_log.level
    kafka_log.setLevel(logging.CRITICAL)  # the one-line message below says it all
    try:
        await asyncio.wait_for(admin.start(), timeout=15)
        existing = set(await admin.list_topics())
    except (KafkaError, OSError, TimeoutError) as exc:
        raise ConfigError(f"Kafka at {settings.bootstrap_servers} is unreachable: {type(exc).__name__}") from None
    finally:
        await admin.close()
        kafka_log.setLevel(level)
    missing = [name for name in needed if name not in existing]
    if missing:
        raise ConfigError(f"Kafka topic(s) {', '.join(missing)} missing at {settings.bootstrap_servers} (create them: amlstream create-topics)")


async def publish_archived(settings: Settings, redis: Redis, min_customers: int, model_version: str) -> tuple[dict[str, PeerBaseline], Counter[str]]:
    """Publish peer baselines, each version not archived yet sent to aml.peer-baselines.v1 and
    acknowledged first (a failed send publishes nothing: KafkaError); returns the baselines
    published and the events sent, by topic. The worker's timer and `amlstream peer-baselines`."""
    emitter = KafkaEmitter(settings)
    sent: Counter[str] = Counter()

    async def send(baselines: list[PeerBaseline]) -> None:
        sent.update(await emitter.emit([events.peer_baseline(b, model_version) for b in baselines]))

    try:
        await emitter.start()
        published = await publish_baselines(redis, min_customers, archive=lambda baselines: archive_new(redis, baselines, send))
    finally:
        await emitter.stop()
    return published, sent


def listpack_warning(limit: int) -> str:
    return (
        f"Redis hash-max-listpack-value is {limit} (< {STATE_HASH_LISTPACK_VALUE}): customer state hashes are stored as hashtables, "
        f"which take more Redis memory per customer; set hash-max-listpack-value {STATE_HASH_LISTPACK_VALUE} (README › Per-customer state)"
    )


class ModelWatcher:
    """Reloads the scoring standard when its file changes or on SIGHUP, without a restart.

    A file that fails validation (the same validation as at start) is refused and the running
    standard kept: the log lists every problem with its TOML path, never the standard's contents,
    and `on_refused` is called (the worker counts it in amlstream_model_reload_failures_total).
    """

    def __init__(self, settings: Settings, model: Model, on_change: Callable[[Model], None], on_refused: Callable[[], None] = lambda: None) -> None:
        self.settings = settings
        self.model = model
        self.on_change = on_change
        self.on_refused = on_refused
        self._stamp = self._file_stamp()

    def _file_stamp(self) -> tuple[float, int] | None:
        path = self.settings.model_config_file
        if path is None:
            return None
        try:
            st = path.stat()
        except OSError:
            return None
        return (st.st_mtime, st.st_size)

    def check(self, force: bool = False) -> None:
        stamp = self._file_stamp()
        if not force and stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            model = open_model(self.settings)
        except ConfigError as exc:
            self.on_refused()
            log.error("new model config refused, keeping %s: %d problem(s): %s", self.model.version, len(exc.lines), "; ".join(exc.lines))
            return
        if model.version != self.model.version:
            log.info("model config reloaded: %s -> %s", self.model.version, model.version)
            self.model = model
            self.on_change(model)


def run_worker(settings: Settings, model: Model | None = None) -> int:
    model = model or open_model(settings)
    asyncio.run(preflight(settings))
    metrics = Metrics()
    readiness = Readiness()
    try:
        serve(settings.metrics_port, metrics.registry, readiness)
    except OSError as exc:
        raise ConfigError(f"metrics port {settings.metrics_port} is not available: {exc.strerror}") from None
    metrics.set_model(model.version)
    engines: list[Engine] = []
    peers: dict[str, PeerBaseline] = {}

    def swap_model(new: Model) -> None:
        metrics.set_model(new.version)
        for engine in engines:
            engine.model = new  # takes effect from the next batch; customers re-rate lazily

    watcher = ModelWatcher(settings, model, swap_model, metrics.model_reload_failures.inc)

    async def make_processor() -> BatchProcessor:
        redis = make_redis(settings, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30)
        emitter = KafkaEmitter(settings)
        await emitter.start()
        store = make_store(redis, settings, watcher.model)
        engine = Engine(
            store,
            watcher.model,
            profile_topic=settings.topics.customers,
            max_message_bytes=settings.max_message_bytes,
            peers=peers,
            max_skew_ms=int(settings.max_clock_skew_s * 1000),
            detections_topic=settings.topics.network_detections if settings.network else None,
            emit_edges=settings.network,
            transactions_topic=settings.topics.transactions,
        )
        engines.append(engine)
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, watcher.check, True)
        return BatchProcessor(engine, emitter, metrics, retry_max_s=settings.redis_retry_max_s)

    app = create_app(settings, metrics, make_processor, readiness)

    async def with_redis(action: Callable[[Redis], Awaitable[None]]) -> None:
        redis = make_redis(settings, socket_timeout=10)
        try:
            await action(redis)
        except (RedisError, OSError):
            metrics.redis_errors.inc()
        except Exception:
            # an operational timer (gauges, readiness) must never take the worker down with it;
            # redis-py's asyncio cluster client has raised AttributeError on a connection being torn down
            metrics.redis_errors.inc()
            log.warning("a periodic Redis read failed", exc_info=True)
        finally:
            await redis.aclose()

    @app.timer(interval=15.0)
    async def export_level_counts() -> None:
        async def export(redis: Redis) -> None:
            for level, count in (await make_store(redis, settings, watcher.model).level_counts()).items():
                metrics.customers_by_level.labels(level).set(count)

        await with_redis(export)

    @app.timer(interval=2.0)
    async def update_readiness() -> None:
        readiness.assigned_partitions = len(app.consumer.assignment())

        async def ping(redis: Redis) -> None:
            readiness.redis_ok = False
            await redis.ping()
            readiness.redis_ok = True

        await with_redis(ping)

    @app.timer(interval=600.0)
    async def export_reviews_due() -> None:
        async def count(redis: Redis) -> None:
            store = make_store(redis, settings, watcher.model)
            ids = [c async for c in store.customers()]
            now_ms = int(time.time() * 1000)  # an operational count, not part of any rating
            due = 0
            for start in range(0, len(ids), 500):
                due += sum(1 for s in (await store.states(ids[start : start + 500])).values() if s.get("next_review", now_ms + 1) <= now_ms)
            metrics.reviews_due.set(due)

        await with_redis(count)

    if settings.sweep_interval_s > 0:

        @app.timer(interval=settings.sweep_interval_s)
        async def sweep_inactive() -> None:
            """Customers inactive past the longest window keep their rating, not their aggregates."""

            async def sweep(redis: Redis) -> None:
                if engines:
                    engine = Engine(make_store(redis, settings, watcher.model), watcher.model, transactions_topic=settings.topics.transactions)
                    metrics.state_swept.inc(await engine.sweep())

            await with_redis(sweep)

    @app.timer(interval=settings.model_watch_interval_s)
    async def watch_model() -> None:
        watcher.check()

    @app.timer(interval=60.0)
    async def refresh_peer_baselines() -> None:
        async def refresh(redis: Redis) -> None:
            loaded = await load_baselines(redis)
            peers.clear()
            peers.update(loaded)

        await with_redis(refresh)

    if settings.peer_publish_interval_s > 0:

        @app.timer(interval=settings.peer_publish_interval_s)
        async def publish_peer_baselines() -> None:
            minimum = watcher.model.standard.peer.min_customers

            async def publish(redis: Redis) -> None:
                try:
                    _, sent = await publish_archived(settings, redis, minimum, watcher.model.version)
                except (KafkaError, TimeoutError) as exc:  # not Redis's fault: its own counter and message
                    metrics.peer_publish_failures.inc()
                    log.warning(
                        "peer baselines not published: %s could not be written (%s); scoring keeps the baselines before",
                        settings.topics.peer_baselines,
                        type(exc).__name__,
                    )
                    return
                for topic, n in sent.items():
                    metrics.emitted.labels(topic).inc(n)

            await with_redis(publish)

    log.info("worker starting: model %s, settings %s", model.version, settings.masked())
    faust_worker(app, settings.log_level).execute_from_commandline()
    return 0
