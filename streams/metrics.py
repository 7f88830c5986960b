"""Prometheus metrics of a worker. No label ever holds a customer id or another unbounded value."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.transactions = Counter(
            "amlstream_transactions",
            "Input transactions by outcome (applied, redelivered, duplicate, dead_letter)",
            ["outcome"],
            registry=r,
        )
        self.batch_size = Histogram("amlstream_batch_size", "Messages per processed batch", buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2000), registry=r)
        self.batch_seconds = Histogram(
            "amlstream_batch_processing_seconds",
            "Wall time to process one batch: decode, Redis, rating, emit with acks, commit",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.event_time_lag = Gauge("amlstream_event_time_lag_seconds", "Processing wall time minus the newest event time of the last batch", registry=r)
        self.emitted = Counter("amlstream_events_emitted", "Output events acknowledged by Kafka, by topic", ["topic"], registry=r)
        self.dead_letters = Counter("amlstream_dead_letters", "Dead-lettered input messages by error_code", ["error_code"], registry=r)
        self.redis_seconds = Histogram(
            "amlstream_redis_script_seconds",
            "Latency of one pipelined round trip of the state scripts",
            ["script"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
            registry=r,
        )
        self.redis_errors = Counter("amlstream_redis_errors", "Redis calls that failed and were retried", registry=r)
        self.customers_by_level = Gauge("amlstream_customers_by_level", "Customers by current risk level (whole deployment)", ["level"], registry=r)
        self.consumer_lag = Gauge(
            "amlstream_consumer_lag", "Messages behind the end of each assigned input partition (label: topic:partition)", ["partition"], registry=r
        )
        self.stale_profiles = Counter("amlstream_stale_profiles", "Profile updates ignored because a newer one was already applied", registry=r)
        self.state_swept = Counter("amlstream_state_swept", "Customers inactive past the longest window whose aggregates were let go (their rating kept)", registry=r)
        self.reviews_due = Gauge("amlstream_reviews_due", "Customers whose periodic risk review is due (whole deployment)", registry=r)
        self.peer_publish_failures = Counter(
            "amlstream_peer_publish_failures", "Peer-baseline publications abandoned because the archive topic could not be written", registry=r
        )
        self.model_reload_failures = Counter("amlstream_model_reload_failures", "Changed scoring standards refused by validation (the running one was kept)", registry=r)
        self.model_info = Gauge("amlstream_model_info", "The scoring standard in force (value 1; the version, never the contents)", ["model_version"], registry=r)

    def set_model(self, version: str) -> None:
        self.model_info.clear()
        self.model_info.labels(version).set(1)
