"""The Redis state layer: per-customer aggregates and risk state, updated by atomic scripts."""

from streams.state.store import CustomerBatch, CustomerCommit, StateStore, customer_keys, level_shard_key

__all__ = ["CustomerBatch", "CustomerCommit", "StateStore", "customer_keys", "level_shard_key"]
