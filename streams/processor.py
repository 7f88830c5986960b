"""Run one batch through the engine with delivery guarantees: never skip, never lose.

A batch is retried step by step (Redis apply, emit with acks, Redis commit) with capped
backoff until it succeeds; every step is idempotent, so a retry or a redelivery after a crash
changes nothing but the count of duplicates downstream (same event_id).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from streams.engine import BatchResult, Engine
from streams.events import OutputEvent, Source
from streams.metrics import Metrics
from streams.retry import retry

log = logging.getLogger("amlstream.processor")
T = TypeVar("T")


class Emitter(Protocol):
    async def emit(self, events: list[OutputEvent]) -> dict[str, int]: ...

    async def stop(self) -> None: ...


class BatchProcessor:
    def __init__(self, engine: Engine, emitter: Emitter, metrics: Metrics, *, retry_max_s: float = 5.0) -> None:
        self.engine = engine
        self.emitter = emitter
        self.metrics = metrics
        self.retry_max_s = retry_max_s
        self.healthy = True  # false while a dependency is failing (readiness)
        self.last_batch_at: float | None = None

    async def _retry(self, step: str, call: Callable[[], Awaitable[T]]) -> T:
        def failed(_: BaseException) -> None:
            self.healthy = False
            if step != "emit":
                self.metrics.redis_errors.inc()

        result = await retry(f"batch step {step}", call, max_delay_s=self.retry_max_s, on_error=failed)
        self.healthy = True
        return result

    async def _timed(self, script: str, call: Callable[[], Awaitable[T]]) -> T:
        start = time.perf_counter()
        result = await call()
        self.metrics.redis_seconds.labels(script).observe(time.perf_counter() - start)
        return result

    async def close(self) -> None:
        await self.emitter.stop()
        await self.engine.store.redis.aclose()

    async def prepare(self, records: list[Source], delivering: BatchResult | None = None) -> BatchResult:
        """Decode, apply and rate a batch (retried until Redis answers). `delivering` is the
        previous batch while its outputs are still on their way: this one is rated on top of it."""
        started = time.perf_counter()
        result = await self._retry("apply", lambda: self._timed("apply_batch", lambda: self.engine.process(records, delivering)))
        result.started = started
        result.inputs = len(records)
        return result

    async def deliver(self, result: BatchResult) -> None:
        """Emit the batch's events, wait for every acknowledgement, commit its state; returns
        only when its effects are durable (then its input offsets may be committed)."""
        emitted = await self._retry("emit", lambda: self.emitter.emit(result.events))
        await self._retry("commit", lambda: self._timed("commit_batch", lambda: self.engine.commit(result)))
        m = self.metrics
        m.batch_size.observe(result.inputs)
        m.batch_seconds.observe(time.perf_counter() - result.started)
        for outcome, n in result.outcomes.items():
            m.transactions.labels(outcome).inc(n)
        for code, n in result.dead_letters.items():
            m.dead_letters.labels(code).inc(n)
        if result.stale_profiles:
            m.stale_profiles.inc(result.stale_profiles)
        for topic, n in emitted.items():
            m.emitted.labels(topic).inc(n)
        if result.max_event_ms is not None:
            m.event_time_lag.set(max(0.0, time.time() - result.max_event_ms / 1000))
        self.last_batch_at = time.monotonic()

    async def handle(self, records: list[Source]) -> BatchResult:
        """Process a batch completely (no pipelining); returns only when its effects are durable."""
        result = await self.prepare(records)
        await self.deliver(result)
        return result
