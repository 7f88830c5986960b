"""Prometheus metrics of a network worker (`amlstream_network_*`). No label holds an account or
customer id."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class NetworkMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.edges = Counter(
            "amlstream_network_edges", "Edge copies by outcome (applied, pending, duplicate, dead_letter, retraction, retracted)", ["outcome"], registry=r
        )
        self.detections = Counter("amlstream_network_detections", "Network detections by pattern (before fan-out to the parties' customers)", ["pattern"], registry=r)
        self.emitted = Counter("amlstream_network_events_emitted", "Output events acknowledged by Kafka, by topic", ["topic"], registry=r)
        self.dead_letters = Counter(
            "amlstream_network_dead_letters", "Dead-lettered edge copies (or whole messages with a malformed envelope) by error_code", ["error_code"], registry=r
        )
        self.search_seconds = Histogram(
            "amlstream_network_search_seconds",
            "Wall time of the graph search and rules for one batch",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        self.batch_seconds = Histogram(
            "amlstream_network_batch_seconds",
            "Wall time of one batch: store, search, emit with acks, commit",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.accounts_read = Counter("amlstream_network_accounts_read", "Account adjacencies read by the search (cost per edge = this / edges)", registry=r)
        self.reanchored = Counter(
            "amlstream_network_reanchored_evaluations",
            "Rule evaluations at later edges of an account that an edge arrived after (out-of-order edges: catch-up, late postings)",
            registry=r,
        )
        self.hubs_skipped = Counter("amlstream_network_hubs_skipped", "Edge copies whose account is a hub (stored, not searched through)", registry=r)
        self.state_accounts = Gauge("amlstream_network_state_keys", "Redis keys of the graph state (whole deployment, sampled)", registry=r)
        self.consumer_lag = Gauge(
            "amlstream_network_consumer_lag",
            "Kafka records behind the end of each assigned edge partition (label: topic:partition); one record is an edge batch of many copies",
            ["partition"],
            registry=r,
        )
        self.event_time_lag = Gauge("amlstream_network_event_time_lag_seconds", "Processing wall time minus the newest edge event time of the last batch", registry=r)
        self.risk_changes = Counter(
            "amlstream_network_risk_changes", "Risk changes consumed from the customer stage, by outcome (recorded, other_event, invalid)", ["outcome"], registry=r
        )
        self.high_risk_customers = Gauge("amlstream_network_high_risk_customers", "Risk markers held: high-risk now or lowered within 90 days", registry=r)
        self.forgets = Counter("amlstream_network_state_forgets", "Rebalances that revoked edge partitions: the accounts held in memory were dropped", registry=r)
        self.redis_errors = Counter("amlstream_network_redis_errors", "Redis or Kafka calls that failed and were retried", registry=r)
