"""`amlstream filings worker`: the filing stage on Kafka, with its own consumer group.

One loop: read a batch from the inputs (customers, transactions, risk changes, alerts,
large-value reports, case decisions), apply it to the state, file what became ready, read the
inbox's receipts, pack on the interval, dead-letter what is bad (waiting for Kafka's acks),
then commit the offsets: at-least-once, exactly-once in effect (see filings.service).

Single writer: the worker holds a Redis lease per reporting institution; a second worker exits
with status 4 instead of writing files of its own, and a worker that loses its lease stops.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer

from filings.calendar import WorkingCalendar
from filings.config import FilingConfig, load_config
from filings.errors import FilingConfigError, InvalidFiling
from filings.inputs import Inputs
from filings.metrics import FilingMetrics
from filings.outbox import Outbox
from filings.receipts import read_receipt
from filings.service import DeadLetter, Filer, Outcome, package_date
from filings.settings import FilingSettings
from filings.store import FilingStore
from filings.suspicious import process_decisions
from streams.connections import kafka_options, make_redis
from streams.emit import KafkaEmitter
from streams.events import OutputEvent, Source, dead_letter
from streams.health import Readiness, serve
from streams.settings import Settings
from streams.worker import open_model

log = logging.getLogger("amlstream.filings.worker")
EXIT_LEASE = 4
PRIORITY = ("profile", "transaction", "risk_change", "alert", "report", "decision")


def check_timezone(config: FilingConfig, settings: Settings, model: Any) -> None:
    """The filing stage's business day must be the customer stage's: reports are dated, and their
    deadlines counted, in one timezone. FilingConfigError (one line, exit 2) when they differ."""
    if config.timezone != model.calendar.timezone:
        source = "AMLSTREAM_TIMEZONE" if settings.timezone else f"the scoring standard's timezone ({model.path.name})"
        raise FilingConfigError(
            f"the filings config's timezone {config.timezone} differs from the business-day timezone {model.calendar.timezone} of {source}: "
            "set both to the bank's (reports would be dated and their deadlines counted on other days than the customer stage's)"
        )


def build_filer(settings: Settings, fsettings: FilingSettings, redis: Any) -> tuple[Filer, Any]:
    model = open_model(settings)
    config = load_config(fsettings.config)
    check_timezone(config, settings, model)
    if not config.codes_reviewed:
        log.warning("filings config %s: code tables not reviewed by the bank yet (codes_reviewed = false): check them against the specification", config.config_version)
    calendar = WorkingCalendar.load(config.deadlines.calendar_override)
    store = FilingStore(redis, prefix=f"aml:filings:{config.institution.code}:")
    filer = Filer(store, config, model.standard.fx, model.calendar, calendar, Outbox(fsettings.outbox), fsettings.archive_days, model.standard.large_value.own_bank)
    return filer, model


async def ingest_receipts(filer: Filer, inbox: Path, metrics: FilingMetrics | None = None) -> list[str]:
    """Apply every receipt in `inbox` (then moved to inbox/processed/; unreadable ones to
    inbox/rejected/ with a .reason file)."""
    touched: list[str] = []
    if not inbox.is_dir():
        return touched
    for path in sorted(p for p in inbox.iterdir() if p.is_file() and p.suffix.upper() == ".XML"):
        try:
            receipt = read_receipt(path.name, path.read_bytes())
        except (InvalidFiling, ValueError) as exc:
            (inbox / "rejected").mkdir(exist_ok=True)
            (inbox / "rejected" / (path.name + ".reason")).write_text(str(exc) + "\n", encoding="utf-8")
            path.replace(inbox / "rejected" / path.name)
            log.error("receipt %s rejected: %s", path.name, exc)
            if metrics:
                metrics.receipts.labels("rejected").inc()
            continue
        touched += await filer.apply_receipt(receipt)
        (inbox / "processed").mkdir(exist_ok=True)
        path.replace(inbox / "processed" / path.name)
        if metrics:
            metrics.receipts.labels(receipt.kind).inc()
    return touched


def _count(metrics: FilingMetrics, outcome: Outcome) -> None:
    for name in outcome.written:
        metrics.files.labels(name[1:3], name[0]).inc()
    for dl in outcome.dead_letters:
        metrics.dead_letters.labels(dl.code).inc()
    if outcome.calendar_gaps:
        metrics.calendar_gaps.inc(outcome.calendar_gaps)


async def export_deadlines(filer: Filer, metrics: FilingMetrics) -> None:
    for kind, (due, overdue) in (await filer.deadline_counts(int(time.time() * 1000))).items():
        metrics.due.labels(kind).set(due)
        metrics.overdue.labels(kind).set(overdue)


async def run(settings: Settings, fsettings: FilingSettings) -> int:
    redis = make_redis(settings, socket_timeout=10, socket_connect_timeout=5)
    filer, model = build_filer(settings, fsettings, redis)
    token = uuid.uuid4().hex
    lease_ms = int(fsettings.lease_ttl_s * 1000)
    if not await filer.store.acquire_lease(token, lease_ms):
        log.critical("another filings worker holds the lease for %s: one writer per institution", filer.config.institution.code)
        await redis.aclose()
        return EXIT_LEASE
    metrics = FilingMetrics()
    readiness = Readiness()
    serve(fsettings.metrics_port, metrics.registry, readiness)
    t = settings.topics
    kinds = {
        t.transactions: "transaction",
        t.customers: "profile",
        t.risk_changes: "risk_change",
        t.patterns: "alert",
        t.large_value: "report",
        fsettings.decisions_topic: "decision",
    }
    consumer = AIOKafkaConsumer(
        *kinds, **kafka_options(settings), group_id=fsettings.group_id, enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=500
    )
    emitter = KafkaEmitter(settings)
    inputs = Inputs(filer, model.standard.fx, model.calendar, settings.max_message_bytes)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await consumer.start()
    await emitter.start()
    last_pack = time.monotonic()
    log.info("filings worker started: institution %s, config %s, outbox %s", filer.config.institution.code, filer.config.config_version, fsettings.outbox)
    try:
        while not stopping.is_set():
            batch = await consumer.getmany(timeout_ms=500, max_records=500)
            records = [(tp, r) for tp, rs in batch.items() for r in rs]
            records.sort(key=lambda item: PRIORITY.index(kinds[item[0].topic]))  # state before the work that needs it
            for tp, r in records:
                kind = kinds[tp.topic]
                metrics.inputs.labels(kind).inc()
                source = {"topic": tp.topic, "partition": tp.partition, "offset": r.offset, "key": _text(r.key), "value": _text(r.value)}
                await inputs.apply(kind, r.key, r.value, (tp.partition << 40) | r.offset, source)
            today = package_date(timezone=filer.config.timezone)
            await filer.process_reports(today)
            await process_decisions(filer, today, int(time.time() * 1000))
            await ingest_receipts(filer, fsettings.inbox, metrics)
            if time.monotonic() - last_pack >= fsettings.pack_interval_s:
                packages = await filer.outbox.pack(filer.store, filer.config.outbox.max_zip_bytes, today)
                await filer.mark_packed(packages)
                metrics.packages.inc(len(packages))
                last_pack = time.monotonic()
            outcome = filer.drain()
            events = dead_letter_events(outcome.dead_letters, filer.config.config_version)
            for dl in outcome.dead_letters:
                log.warning("dead letter %s: %s", dl.code, dl.detail)
            await emitter.emit(events)
            _count(metrics, outcome)
            if records:
                await consumer.commit()
            await export_deadlines(filer, metrics)
            _export_assignment(consumer, metrics, readiness)
            readiness.redis_ok = True
            readiness.last_progress = time.monotonic()
            if not await filer.store.renew_lease(token, lease_ms):
                log.critical("lost the filings lease (another writer took over?): stopping")
                return EXIT_LEASE
        return 0
    finally:
        await consumer.stop()
        await emitter.stop()
        await filer.store.release_lease(token)
        await redis.aclose()


def _text(raw: bytes | None) -> str | None:
    return raw.decode("utf-8", "replace") if raw is not None else None


def dead_letter_events(dead_letters: list[DeadLetter], version: str) -> list[OutputEvent]:
    """The filing stage's dead letters as dead_letter events (the contract's shape, docs/events.md):
    the worker produces them, `filings render` writes them. One without a source (no input to
    point at) is only logged by the worker."""
    return [dead_letter(_source(dl.source), dl.code, dl.detail, version, dl.customer_id) for dl in dead_letters if dl.source is not None]


def _source(src: dict[str, Any]) -> Source:
    return Source(src["topic"], src["partition"], src["offset"], src["key"].encode() if src.get("key") is not None else None, (src.get("value") or "").encode())


def _export_assignment(consumer: AIOKafkaConsumer, metrics: FilingMetrics, readiness: Readiness) -> None:
    readiness.assigned_partitions = len(consumer.assignment())
