"""`amlstream filings render`: the filing stage over files instead of topics (backfills, audits),
for example over `amlstream replay`'s output. The same Filer, builders, schema and naming as the
worker; state in AMLSTREAM_REDIS_URL if set, else a throwaway redis-server (like replay).

Input order: profiles, transactions (their line order is the order the customer stage read
them), risk changes, alerts, reports, decisions, then the receipts directory if given.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import orjson

from filings.inputs import Inputs
from filings.service import Outcome, package_date
from filings.settings import FilingSettings
from filings.suspicious import process_decisions
from filings.worker import build_filer, dead_letter_events, ingest_receipts
from streams.replay import redis_for_replay
from streams.settings import Settings


@dataclass
class RenderResult:
    written: list[str] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)
    dead_letters: list[dict[str, object]] = field(default_factory=list)
    deadlines: dict[str, tuple[int, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _lines(path: Path | None) -> Iterator[tuple[int, bytes | None, bytes]]:
    if path is None:
        return
    with path.open("rb") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if line:
                try:
                    key = orjson.loads(line).get("customer_id")
                except (orjson.JSONDecodeError, AttributeError):
                    key = None
                yield number, key.encode() if isinstance(key, str) else None, line


async def render(
    settings: Settings,
    out: Path,
    *,
    transactions: Path | None,
    customers: Path | None,
    reports: Path | None,
    decisions: Path | None,
    alerts: Path | None = None,
    risk_changes: Path | None = None,
    receipts: Path | None = None,
    config: Path | None = None,
    asof: datetime | None = None,
    file_date: str | None = None,
) -> RenderResult:
    fsettings = FilingSettings(config=config, outbox=out, archive_days=100_000)  # files hold the whole history at once: prune nothing
    result = RenderResult()
    async with redis_for_replay(settings) as redis:
        filer, model = build_filer(settings, fsettings, redis)
        inputs = Inputs(filer, model.standard.fx, model.calendar, settings.max_message_bytes)
        filer.track_first_ratings = risk_changes is not None
        if risk_changes is None:
            result.notes.append("first_rating: not counted (no --risk-changes given: whether a customer was rated is unknown)")
        for kind, path in (
            ("profile", customers),
            ("transaction", transactions),
            ("risk_change", risk_changes),
            ("alert", alerts),
            ("report", reports),
            ("decision", decisions),
        ):
            for number, key, value in _lines(path):
                source = {"topic": str(path), "partition": 0, "offset": number, "key": key.decode() if key else None, "value": value.decode("utf-8", "replace")}
                await inputs.apply(kind, key, value, number, source)
        now_ms = int((asof.timestamp() if asof else time.time()) * 1000)
        day = file_date or package_date(asof, filer.config.timezone)
        await filer.process_reports(day)
        await process_decisions(filer, day, now_ms)
        if receipts is not None:
            await ingest_receipts(filer, receipts)
        packages = await filer.outbox.pack(filer.store, filer.config.outbox.max_zip_bytes, day)
        await filer.mark_packed(packages)
        outcome: Outcome = filer.drain()
        result.written = outcome.written
        result.packages = [p for p, _ in packages]
        result.dead_letters = [event.value for event in dead_letter_events(outcome.dead_letters, filer.config.config_version)]  # the worker's events
        result.deadlines = await filer.deadline_counts(now_ms)
        (out / "dead-letter.jsonl").write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in result.dead_letters))
    return result
