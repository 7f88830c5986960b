"""Capped exponential backoff around an idempotent step that talks to Redis or Kafka.

One loop for every stage: the customer worker and the network worker retry until the dependency
answers (their readiness says they are failing meanwhile); the replays give up after a bound and
name the cause, because a batch job that hangs on a dead throwaway Redis helps nobody.

Only infrastructure errors are retried (`RETRYABLE`): a Redis or Kafka connection error or
timeout, Redis still loading its data set, an OS-level socket error. Anything else is a bug or
bad data and propagates at once. redis-py's default socket timeout is 5 s, so a script that runs
longer on a starved host surfaces here as a `TimeoutError`; the steps retried are idempotent
(apply into pending, commit, emit with the same event_ids), so retrying is safe.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka.errors import KafkaError
from redis.exceptions import BusyLoadingError, ConnectionError, TimeoutError

from streams.errors import RuntimeFailure

log = logging.getLogger("amlstream.retry")
T = TypeVar("T")
RETRYABLE = (ConnectionError, TimeoutError, BusyLoadingError, KafkaError, OSError)
FIRST_DELAY_S = 0.05
JOB_MAX_DELAY_S = 5.0  # the replays: back off up to 5 s ...
JOB_GIVE_UP_S = 120.0  # ... and give up after 2 minutes of failures of one step


async def retry(
    step: str,
    call: Callable[[], Awaitable[T]],
    *,
    max_delay_s: float,
    give_up_after_s: float | None = None,
    on_error: Callable[[BaseException], None] | None = None,
) -> T:
    """`await call()` until it returns, sleeping 0.05 s, 0.1 s, ... up to `max_delay_s` (seconds)
    after each RETRYABLE error; `on_error` sees each one. With `give_up_after_s`, raises
    RuntimeFailure naming `step` and the last error once that many seconds (monotonic) have passed
    since the first failure of this call."""
    delay = FIRST_DELAY_S
    first_failure: float | None = None
    while True:
        try:
            return await call()
        except RETRYABLE as exc:
            now = time.monotonic()
            first_failure = now if first_failure is None else first_failure
            if on_error is not None:
                on_error(exc)
            if give_up_after_s is not None and now - first_failure >= give_up_after_s:
                raise RuntimeFailure(f"{step} failed for {now - first_failure:.0f} s, last with {type(exc).__name__}: {exc}") from exc
            log.warning("%s failed (%s: %s); retrying in %.2fs", step, type(exc).__name__, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay_s)


async def retry_job(step: str, call: Callable[[], Awaitable[T]]) -> T:
    """`retry` for the batch commands (replay, network-replay): back off up to JOB_MAX_DELAY_S,
    raise RuntimeFailure (exit 1, one line) after JOB_GIVE_UP_S seconds of failures."""
    return await retry(step, call, max_delay_s=JOB_MAX_DELAY_S, give_up_after_s=JOB_GIVE_UP_S)
