"""Wiring of a worker: the one place that builds clients (Redis, producer) and runs faust."""

from __future__ import annotations

import asyncio
import logging
import sys

import faust
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from streams.app import create_app
from streams.emit import KafkaEmitter
from streams.engine import Engine
from streams.errors import ConfigError
from streams.metrics import Metrics
from streams.model import Model, load_model
from streams.processor import BatchProcessor
from streams.settings import Settings, mask_url
from streams.state import StateStore

log = logging.getLogger("amlstream.worker")


def make_store(redis: Redis, settings: Settings) -> StateStore:
    return StateStore(redis, retain_days=settings.retain_days, trail_horizon_ms=settings.trail_horizon_hours * 3_600_000)


async def preflight(settings: Settings) -> None:
    """Fail fast, with one line naming the problem, if Redis, Kafka or a topic is missing."""
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=5)
    try:
        await redis.ping()
    except (RedisError, OSError) as exc:
        raise ConfigError(f"Redis at {mask_url(settings.redis_url)} is unreachable: {exc}") from None
    finally:
        await redis.aclose()
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, request_timeout_ms=10_000)
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
    t = settings.topics
    missing = [name for name in (t.transactions, t.customers, t.risk_changes, t.patterns, t.large_value, t.dead_letter) if name not in existing]
    if missing:
        raise ConfigError(f"Kafka topic(s) {', '.join(missing)} missing at {settings.bootstrap_servers} (create them: amlstream create-topics)")


def run_worker(settings: Settings, model: Model | None = None) -> int:
    model = model or load_model(settings.model_config, settings.timezone)
    asyncio.run(preflight(settings))
    metrics = Metrics()
    metrics.serve(settings.metrics_port)

    async def make_processor() -> BatchProcessor:
        redis = Redis.from_url(settings.redis_url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30)
        emitter = KafkaEmitter(settings)
        await emitter.start()
        store = make_store(redis, settings)
        engine = Engine(store, model, profile_topic=settings.topics.customers, max_message_bytes=settings.max_message_bytes)
        return BatchProcessor(engine, emitter, metrics, retry_max_s=settings.redis_retry_max_s)

    app = create_app(settings, metrics, make_processor)

    @app.timer(interval=15.0)
    async def export_level_counts() -> None:
        redis = Redis.from_url(settings.redis_url, socket_timeout=5)
        try:
            for level, count in (await make_store(redis, settings).level_counts()).items():
                metrics.customers_by_level.labels(level).set(count)
        except (RedisError, OSError):
            metrics.redis_errors.inc()
        finally:
            await redis.aclose()

    log.info("worker starting: model %s, settings %s", model.version, settings.masked())
    worker = faust.Worker(app, loglevel=settings.log_level.upper(), quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
    return 0


def fail(message: str) -> int:
    print(f"amlstream: {message}", file=sys.stderr)
    return 2
