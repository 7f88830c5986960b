"""Prometheus metrics of the filing worker (`amlstream_filings_*`). No label holds a customer id."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class FilingMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = r = registry or CollectorRegistry()
        self.inputs = Counter(
            "amlstream_filings_inputs", "Input messages read, by input (transaction, profile, risk_change, alert, report, decision)", ["input"], registry=r
        )
        self.files = Counter(
            "amlstream_filings_files_written", "Report files written to the outbox, by message type (BH, BS) and action (N, C, D)", ["type", "action"], registry=r
        )
        self.packages = Counter("amlstream_filings_packages_written", "ZIP packages written to the outbox", registry=r)
        self.dead_letters = Counter("amlstream_filings_dead_letters", "Inputs or filings dead-lettered by the filing stage, by error_code", ["error_code"], registry=r)
        self.receipts = Counter("amlstream_filings_receipts", "Receipts and notices read from the inbox, by kind (FDSC, FDRC, MCVR, rejected)", ["kind"], registry=r)
        self.calendar_gaps = Counter(
            "amlstream_filings_calendar_gaps", "Deadlines that could not be computed: a date outside the official calendar and the override", registry=r
        )
        self.due = Gauge("amlstream_filings_due", "Open obligations not yet due (large_value, suspicious, first_rating)", ["kind"], registry=r)
        self.overdue = Gauge("amlstream_filings_overdue", "Open obligations past their deadline (large_value, suspicious, first_rating)", ["kind"], registry=r)
