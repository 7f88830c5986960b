"""Prometheus metrics of the ISO 20022 adapter (`amlstream_iso20022_*`). No label holds an id."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class IsoMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "amlstream_iso20022_messages", "Input messages by message type and outcome (mapped, no_leg, dead_letter)", ["message_type", "outcome"], registry=r
        )
        self.legs = Counter(
            "amlstream_iso20022_legs", "Transaction legs produced and acknowledged, by message type and direction", ["message_type", "direction"], registry=r
        )
        self.skipped = Counter(
            "amlstream_iso20022_skipped_sides",
            "Sides or entries that gave no leg, by reason (not_customer, no_account, other_bank, not_booked)",
            ["message_type", "reason"],
            registry=r,
        )
        self.dead_letters = Counter("amlstream_iso20022_dead_letters", "Dead-lettered input messages by error_code", ["error_code"], registry=r)
        self.batch_seconds = Histogram(
            "amlstream_iso20022_processing_seconds",
            "Wall time of one batch: parse, validate, map, produce with acks, commit",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.directory_wait = Histogram(
            "amlstream_iso20022_directory_wait_seconds",
            "How long a batch waited for the account directory to reach the customers topic's end",
            buckets=(0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30),
            registry=r,
        )
        self.directory_updates = Counter(
            "amlstream_iso20022_directory_updates", "Customer profile messages read into the account directory, by outcome", ["outcome"], registry=r
        )
        self.directory_accounts = Gauge("amlstream_iso20022_directory_accounts", "Accounts in the account directory", registry=r)
        self.directory_customers = Gauge("amlstream_iso20022_directory_customers", "Customers in the account directory", registry=r)
        self.directory_conflicts = Gauge("amlstream_iso20022_directory_conflicts", "Accounts claimed by more than one customer", registry=r)
        self.consumer_lag = Gauge(
            "amlstream_iso20022_consumer_lag", "Messages behind the end of each assigned ISO 20022 input partition (label: topic:partition)", ["partition"], registry=r
        )
