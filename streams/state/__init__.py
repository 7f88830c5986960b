"""The Redis state layer: per-customer aggregates and risk state, updated by atomic scripts."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from streams.state.store import GUARD_TTL_S, CustomerBatch, CustomerCommit, StateStore, customer_keys, level_shard_key

if TYPE_CHECKING:
    from streams.model import Model
    from streams.settings import Settings


def make_store(redis: Redis, settings: Settings, model: Model) -> StateStore:
    """The customer stage's state store as the settings and the standard configure it."""
    return StateStore(
        redis,
        retain_days=settings.retain_days,
        trail_horizon_ms=settings.trail_horizon_hours * 3_600_000,
        trail_max=settings.trail_max,
        dormant_days=model.dormant_days,
        # the guard outlives the longest gap between two retries of a commit, whatever the cap
        guard_ttl_s=GUARD_TTL_S + math.ceil(settings.redis_retry_max_s),
    )


__all__ = ["CustomerBatch", "CustomerCommit", "StateStore", "customer_keys", "level_shard_key", "make_store"]
