"""streams.retry: which errors are retried, the backoff's cap, and the give-up bound."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from redis.exceptions import ConnectionError, ResponseError, TimeoutError

from streams import retry as retry_module
from streams.errors import RuntimeFailure
from streams.retry import retry


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """The delays retry asked for; no real waiting."""
    asked: list[float] = []

    async def sleep(delay: float) -> None:
        asked.append(delay)

    monkeypatch.setattr(retry_module, "asyncio", SimpleNamespace(sleep=sleep))  # only retry's sleep
    return asked


def failing(errors: list[BaseException], result: str = "done"):
    async def call() -> str:
        if errors:
            raise errors.pop(0)
        return result

    return call


def test_retries_infrastructure_errors_with_capped_backoff(sleeps):
    seen: list[str] = []
    errors = [TimeoutError("t"), ConnectionError("c"), OSError("o"), TimeoutError("t"), TimeoutError("t")]
    result = asyncio.run(retry("step", failing(errors), max_delay_s=0.3, on_error=lambda e: seen.append(type(e).__name__)))
    assert result == "done"
    assert sleeps == [0.05, 0.1, 0.2, 0.3, 0.3]
    assert seen == ["TimeoutError", "ConnectionError", "OSError", "TimeoutError", "TimeoutError"]


def test_other_errors_propagate_at_once(sleeps):
    with pytest.raises(ResponseError, match="NOSCRIPT"):
        asyncio.run(retry("step", failing([ResponseError("NOSCRIPT no such script")]), max_delay_s=1))
    assert sleeps == []


def test_gives_up_after_the_bound_naming_step_and_cause(sleeps, monkeypatch):
    clock = iter([100.0, 100.5, 101.0, 101.5])
    monkeypatch.setattr(retry_module, "time", SimpleNamespace(monotonic=lambda: next(clock)))  # only retry's clock
    errors = [ConnectionError("refused")] * 4
    with pytest.raises(RuntimeFailure, match=r"^replay apply failed for 2 s, last with ConnectionError: refused$"):
        asyncio.run(retry("replay apply", failing(list(errors)), max_delay_s=1, give_up_after_s=1.5))
    assert sleeps == [0.05, 0.1, 0.2]
