"""Replay and backtest: the worker's engine over files, without Kafka.

The same decoder, Redis scripts, rater, rules and event builders as the worker, driven from
JSON Lines or CSV files instead of topics, writing what the topics would receive to files.
Transactions are applied in file order; each customer profile is applied before the first
transaction whose event time is later than the profile's `updated_at`.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import csv
import io
import math
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import orjson
from redis.asyncio import Redis

from factors.profile import FLAGS, PeerBaseline
from streams import events
from streams.connections import make_redis
from streams.decode import MAX_YEAR, MIN_YEAR, RejectedRecord
from streams.engine import Engine
from streams.errors import ConfigError, DecodeError, InputFileError, RuntimeFailure
from streams.events import OutputEvent, Source
from streams.model import Model
from streams.retry import retry_job
from streams.settings import Settings, did_you_mean
from streams.state import make_store
from streams.state.peers import publish_baselines
from streams.state.store import STATE_HASH_LISTPACK_VALUE

LISTPACK = ("--hash-max-listpack-value", str(STATE_HASH_LISTPACK_VALUE))  # the project's Redis setting (README › Per-customer state)

T = TypeVar("T")

OUTPUT_FILES = {
    "risk_change": "risk-changes.jsonl",
    "suspicious_pattern": "suspicious-patterns.jsonl",
    "large_value_report": "large-value-reports.jsonl",
    "dead_letter": "dead-letter.jsonl",
    "edge": "edges.jsonl",
    "peer_baseline": "peer-baselines.jsonl",
}
BOOLEAN_COLUMNS = frozenset(("cross_border", *FLAGS))
REPORT_FIELDS = ("customer_id", "rule_code", "direction", "business_date", "action", "revision", "total_cny", "totals_by_currency", "usd_equivalent", "tx_count")


def _open(path: str) -> IO[bytes]:
    return sys.stdin.buffer if path == "-" else open(path, "rb")


LIST_COLUMNS = frozenset(("products", "accounts"))  # a profile's lists, ';'-separated in a CSV cell
CSV_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def _csv_value(column: str, value: str) -> Any:
    """A CSV cell as the JSON value the decoder expects: empty is absent; a boolean column's
    true/false/1/0 (any case) a boolean, and anything else ("Y", "maybe") the text as it is, so
    the decoder dead-letters it exactly as it would the same JSON (never a silent false)."""
    if value == "":
        return None
    if column in BOOLEAN_COLUMNS:
        return CSV_BOOLEANS.get(value.lower(), value)
    if column in LIST_COLUMNS:
        return [p for p in value.split(";") if p]
    return value


def _utf8_rows(path: str, reader: csv.DictReader) -> Iterator[dict[str | None, Any]]:
    """The reader's rows; a file that is not UTF-8 (a GBK or Latin-1 export) is InputFileError:
    its rows cannot be told apart, so none can be dead-lettered on its own."""
    try:
        yield from reader
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path}: not UTF-8 text ({exc.reason} at or after line {reader.line_num + 1}): save it as CSV UTF-8") from None


def read_records(path: str) -> Iterator[bytes]:
    """The raw JSON bytes of each event: JSON Lines as they are, CSV rows as JSON objects. A CSV
    file may start with a UTF-8 byte order mark (Excel's "CSV UTF-8"); a row with more cells than
    the header is a RejectedRecord (dead-lettered `invalid_value` when decoded), never cut short."""
    stream = _open(path)
    try:
        if path.endswith(".csv"):
            reader = csv.DictReader(io.TextIOWrapper(stream, encoding="utf-8-sig", newline=""))
            for row in _utf8_rows(path, reader):
                extra = row.pop(None, None)  # type: ignore[call-overload]  # DictReader's restkey: the cells past the header
                values = {k: _csv_value(k, v) for k, v in row.items() if k and v is not None}
                raw = orjson.dumps({k: v for k, v in values.items() if v is not None})  # an empty cell is an absent field, not null
                if extra:
                    width = len(reader.fieldnames or ())
                    detail = f"CSV line {reader.line_num} has {width + len(extra)} cells, the header {width}: extra {', '.join(repr(c[:32]) for c in extra[:3])}"
                    customer = row.get("customer_id") or None
                    yield RejectedRecord(raw, DecodeError("invalid_value", detail, customer))
                    continue
                yield raw
        else:
            for line in stream:
                line = line.strip()
                if line:
                    yield line
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _event_ms(raw: bytes, field_name: str) -> int | None:
    from streams.decode import parse_timestamp

    try:
        return parse_timestamp(orjson.loads(raw).get(field_name), field_name)
    except Exception:  # a malformed record keeps its place; the engine dead-letters it
        return None


class StreamClock:
    """Replay's reference clock for event times. Files carry no Kafka record timestamps, so the
    stream's own progress stands in, deterministically: the high-water mark of the transactions
    read so far. A transaction more than the allowed skew ahead of it is a bad clock unless the
    stream follows it there — at least half of the next `LOOKAHEAD` transactions no more than the
    skew behind it — which is a gap in the input (a quiet weekend, a sparse test file), not a
    clock fault. The first transaction is checked against the ones after it alone, given at least
    half the lookahead (a few late legs after a current one are late, not a bad clock before them)."""

    LOOKAHEAD = 8

    def __init__(self, max_skew_ms: int) -> None:
        self.max_skew_ms = max_skew_ms
        self.high_water: int | None = None

    def reference(self, ts: int | None, following: Iterable[int | None] = ()) -> int | None:
        """The reference for a transaction at `ts` (ms), given the event times of the ones after it."""
        ref = self.high_water
        if ts is None:
            return ref
        later = [t for t in following if t is not None]
        followed = 2 * sum(t >= ts - self.max_skew_ms for t in later) >= len(later)
        if ref is None and len(later) >= self.LOOKAHEAD // 2 and not followed:
            # the first leg, far ahead of (enough of) what follows: their median is its reference
            return sorted(later)[len(later) // 2]
        if ref is not None and ts > ref + self.max_skew_ms:
            if not later or not followed:
                return ref  # ahead of the stream, and the stream does not follow: set aside
            ref = ts  # the stream moved on: a gap, not a bad clock
        self.high_water = ts if self.high_water is None else max(self.high_water, ts)
        return ref


def _lookahead(items: Iterator[T], n: int) -> Iterator[tuple[T, list[T]]]:
    """Each item with the (up to) `n` items after it."""
    window: deque[T] = deque()
    for item in items:
        window.append(item)
        if len(window) > n:
            head = window.popleft()
            yield head, list(window)
    while window:
        head = window.popleft()
        yield head, list(window)


def merged_sources(transactions: str, customers: str | None, topics: Any, clock: StreamClock | None = None) -> Iterator[tuple[Source, int | None]]:
    """Transactions in file order, each profile placed before the first later transaction;
    with each, its event time (None when unreadable: the engine dead-letters it) and, given a
    clock, the reference its event time is checked against."""
    profiles: list[tuple[int, int, bytes]] = []
    if customers:
        for i, raw in enumerate(read_records(customers)):
            profiles.append((_event_ms(raw, "updated_at") or 0, i, raw))
        profiles.sort()
    p = 0
    legs = ((offset, raw, _event_ms(raw, "ts")) for offset, raw in enumerate(read_records(transactions)))
    for (offset, raw, ts), after in _lookahead(legs, StreamClock.LOOKAHEAD):
        while p < len(profiles) and (ts is None or profiles[p][0] < ts):
            yield Source(topics.customers, 0, profiles[p][1], None, profiles[p][2]), profiles[p][0]
            p += 1
        reference = clock.reference(ts, (t for _, _, t in after)) if clock else None
        yield Source(topics.transactions, 0, offset, None, raw, reference), ts
    for updated, i, raw in profiles[p:]:
        yield Source(topics.customers, 0, i, None, raw), updated


MESSAGE_FIELDS = frozenset(("topic", "key", "value", "timestamp"))
# a record timestamp given as epoch milliseconds: within the years the decoder accepts for event times
RECORD_MS = (calendar.timegm((MIN_YEAR, 1, 1, 0, 0, 0)) * 1000, calendar.timegm((MAX_YEAR + 1, 1, 1, 0, 0, 0)) * 1000 - 1)


def _message_lines(messages: str) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of each non-blank line of a messages file."""
    stream = _open(messages)
    try:
        for number, line in enumerate(stream, 1):
            line = line.strip()
            if line:
                yield number, line
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _envelope(number: int, line: bytes, names: dict[str, str]) -> tuple[str, str | None, Any, int | None]:
    """(topic, key, value, record timestamp ms) of one line of a messages file, or InputFileError.
    The line is the Kafka record, not its payload: a line that is no record (not JSON, no known
    topic, a key that is not a string, a bad timestamp) is the file's fault, not a message a worker
    could receive. Whatever `value` holds reaches the decoder as the record's value would."""
    from streams.decode import parse_timestamp

    def bad(problem: str) -> InputFileError:
        return InputFileError(f"line {number}: {problem}")

    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise bad(f"not a JSON object ({exc}): {line[:60].decode('utf-8', 'replace')!r}") from None
    if not isinstance(doc, dict):
        raise bad(f"not a JSON object but {type(doc).__name__}")
    unknown = sorted(set(doc) - MESSAGE_FIELDS)
    if unknown:
        raise bad(f"unknown field {unknown[0]!r}{did_you_mean(unknown[0], MESSAGE_FIELDS)}; a line is {{topic, key, value, timestamp}}")
    topic = doc.get("topic")
    if not isinstance(topic, str) or topic not in names:
        shown = repr(topic) if topic is not None else "none"
        raise bad(f"topic {shown} is not an input topic{did_you_mean(str(topic), names) if topic is not None else ''}; expected one of {', '.join(sorted(names))}")
    key = doc.get("key")
    if key is not None and not isinstance(key, str):
        raise bad(f"key must be a string or null (the message key, customer_id), got {type(key).__name__}")
    stamp = doc.get("timestamp")
    record_ms = None
    if stamp is not None:
        if type(stamp) in (int, float):
            if not math.isfinite(stamp) or stamp != int(stamp):
                raise bad(f"'timestamp' {stamp!r} is not whole epoch milliseconds")
            if not RECORD_MS[0] <= stamp <= RECORD_MS[1]:
                raise bad(f"'timestamp' {stamp!r} is out of range: epoch milliseconds of years {MIN_YEAR}-{MAX_YEAR} ({RECORD_MS[0]}..{RECORD_MS[1]})")
            record_ms = int(stamp)
        else:
            try:
                record_ms = parse_timestamp(stamp, "timestamp")
            except DecodeError as exc:
                raise bad(f"{exc.detail} (epoch milliseconds or RFC 3339)") from None
    return names[topic], key, doc.get("value"), record_ms


def check_messages(messages: str, topics: Any) -> int:
    """Check every line of a messages file before anything is replayed (InputFileError naming the
    first bad line), so a bad file stops replay before it writes anything; the number of lines."""
    names = _topic_names(topics)
    count = 0
    for number, line in _message_lines(messages):
        _envelope(number, line, names)
        count += 1
    return count


def _topic_names(topics: Any) -> dict[str, str]:
    return {"transactions": topics.transactions, "customers": topics.customers, topics.transactions: topics.transactions, topics.customers: topics.customers}


def message_sources(messages: str, topics: Any, clock: StreamClock | None = None) -> Iterator[tuple[Source, int | None]]:
    """Both input topics interleaved in arrival order, one JSON object per line:
    `{"topic": "transactions" | "customers" (or the topic's name), "key": "...", "value": {...} | null,
    "timestamp": ...}` — a null value on the customers topic is a tombstone (the profile is
    deleted); `key` is the message key, checked against the value's `customer_id` as the worker
    does (missing or different: `key_mismatch`); `timestamp` (optional; epoch ms or RFC 3339) is
    the Kafka record timestamp, the reference clock the worker checks event times against
    (without it, `clock` stands in). A line that is no such record is InputFileError."""
    names = _topic_names(topics)

    def parsed() -> Iterator[tuple[int, str, Any, bytes | None, int | None, int | None]]:
        for offset, (number, line) in enumerate(_message_lines(messages)):
            topic, key, value, record_ms = _envelope(number, line, names)
            body = None if value is None else orjson.dumps(value)
            field_name = "ts" if topic == topics.transactions else "updated_at"
            event_ms = _event_ms(body, field_name) if body is not None else None
            yield offset, topic, key, body, event_ms, record_ms

    for (offset, topic, key, body, event_ms, record_ms), after in _lookahead(parsed(), StreamClock.LOOKAHEAD):
        reference = None
        if topic == topics.transactions:
            if record_ms is not None:
                reference = record_ms
            elif clock is not None:
                reference = clock.reference(event_ms, (a[4] for a in after if a[1] == topics.transactions))
        elif body is None:  # a tombstone: dated by its record, else by where the stream stands
            reference = record_ms if record_ms is not None else clock.high_water if clock is not None else None
        else:  # a profile: its updated_at is checked against the record's timestamp, as the worker does
            reference = record_ms
        yield Source(topic, 0, offset, key.encode() if isinstance(key, str) else None, body, reference), event_ms


@contextlib.asynccontextmanager
async def redis_for_replay(settings: Settings) -> AsyncIterator[Redis]:
    """AMLSTREAM_REDIS_URL if set (its database is used as it is), else a throwaway local redis-server."""
    if settings.redis_url_given:
        client = make_redis(settings)
        try:
            await client.ping()  # one that does not answer: the CLI's one line (exit 1), not every batch retried for ever
            yield client
        finally:
            await client.aclose()
        return
    if shutil.which("redis-server") is None:
        raise ConfigError("no redis-server on PATH: install it (apt-get install redis-server) or set AMLSTREAM_REDIS_URL to a Redis to use")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    directory = tempfile.mkdtemp(prefix="amlstream-replay-")
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", directory, "--save", "", "--appendonly", "no", *LISTPACK],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = Redis.from_url(f"redis://127.0.0.1:{port}/0")
    try:
        for _ in range(100):
            with contextlib.suppress(Exception):
                await client.ping()
                break
            await asyncio.sleep(0.05)
        else:
            raise RuntimeFailure(f"the throwaway redis-server on port {port} did not answer within 5 s (exit status {proc.poll()})")
        yield client
    finally:
        await client.aclose()
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class ReplayResult:
    counts: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    levels: dict[str, int] = field(default_factory=dict)
    final: dict[str, dict[str, Any]] = field(default_factory=dict)  # customer -> rating state
    alerts_by_pattern: dict[str, set[str]] = field(default_factory=dict)  # pattern -> customers
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)  # report_key -> its latest report or withdrawal event
    manual_reports: dict[str, dict[str, Any]] = field(default_factory=dict)  # report_key -> its latest manual event
    inputs: int = 0
    seconds: float = 0.0

    def summary(self, model_version: str) -> dict[str, Any]:
        return {
            "model_version": model_version,
            "inputs": self.inputs,
            "events": dict(sorted(self.counts.items())),
            "outcomes": dict(sorted(self.outcomes.items())),
            "customers_by_level": dict(sorted(self.levels.items())),
            "alerts_by_pattern": {p: len(c) for p, c in sorted(self.alerts_by_pattern.items())},
            "seconds": round(self.seconds, 3),
            "inputs_per_second": round(self.inputs / self.seconds, 1) if self.seconds else None,
        }


class Progress:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = self.last = time.monotonic()

    def update(self, inputs: int, events: int, final: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not final and now - self.last < 1.0):
            return
        self.last = now
        rate = inputs / (now - self.started) if now > self.started else 0.0
        end = "\n" if final else "\r"
        print(f"replay: {inputs:,} inputs, {events:,} events, {rate:,.0f} inputs/s", end=end, file=sys.stderr, flush=True)


async def replay(
    settings: Settings,
    model: Model,
    transactions: str | None,
    customers: str | None,
    out_dir: Path | None,
    *,
    batch_size: int = 500,
    progress: bool = False,
    publish_peers: bool = True,
    messages: str | None = None,
) -> ReplayResult:
    """`transactions` and `customers` files merged by event time, or `messages`: both topics
    interleaved in arrival order (see message_sources)."""
    result = ReplayResult()
    writers: dict[str, IO[bytes]] = {}
    if messages is not None and messages != "-":
        check_messages(messages, settings.topics)  # a bad line stops replay before it writes anything
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        writers = {kind: open(out_dir / name, "wb") for kind, name in OUTPUT_FILES.items()}  # noqa: SIM115 - closed below
    started = time.monotonic()
    meter = Progress(progress)
    try:
        async with redis_for_replay(settings) as redis:
            store = make_store(redis, settings, model)
            await store.ensure_layout()
            max_skew_ms = int(settings.max_clock_skew_s * 1000)
            engine = Engine(
                store,
                model,
                profile_topic=settings.topics.customers,
                max_message_bytes=settings.max_message_bytes,
                check_keys=messages is not None,  # message lines carry keys: checked as the worker checks them
                record_checkpoints=False,
                max_skew_ms=max_skew_ms,
                emit_edges=settings.network,
            )
            batch: list[Source] = []

            async def run(batch: list[Source]) -> None:
                outcome = await retry_job("replay apply", lambda: engine.process(batch))
                _record(outcome.events, result, writers)
                await retry_job("replay commit", lambda: engine.commit(outcome))
                result.outcomes.update(outcome.outcomes)
                result.inputs += len(batch)
                meter.update(result.inputs, sum(result.counts.values()))

            # peer baselines are published at each business-day boundary of the input, with the
            # batch cut there, so a backtest sees them exactly as the data allow, whatever the batch size
            min_peers = model.standard.peer.min_customers

            archived: set[tuple[str, str]] = set()

            async def archive(baselines: list[PeerBaseline]) -> None:  # peer-baselines.jsonl, as the worker's aml.peer-baselines.v1
                # each version once: an unchanged group republishes it every day, and a retry of a failed publish archives again
                new = [b for b in baselines if (b.group, b.version) not in archived]
                _record([events.peer_baseline(b, model.version) for b in new], result, writers)
                archived.update((b.group, b.version) for b in new)

            day: int | None = None
            clock = StreamClock(max_skew_ms)
            if messages is not None:
                inputs = message_sources(messages, settings.topics, clock)
            else:
                assert transactions is not None
                inputs = merged_sources(transactions, customers, settings.topics, clock)
            for source, event_ms in inputs:
                if event_ms is not None and publish_peers:
                    event_day = model.calendar.business_day(event_ms)
                    if day is not None and event_day > day:
                        if batch:
                            await run(batch)
                            batch = []
                        engine.peers.clear()
                        engine.peers.update(await retry_job("peer baselines", lambda: publish_baselines(redis, min_peers, archive=archive)))
                    day = event_day if day is None else max(day, event_day)
                batch.append(source)
                if len(batch) >= batch_size:
                    await run(batch)
                    batch = []
            if batch:
                await run(batch)
            result.levels = await store.level_counts()
            ids = [c async for c in store.customers()]
            for i in range(0, len(ids), 1000):
                result.final.update(await store.states(ids[i : i + 1000]))
    finally:
        for w in writers.values():
            w.close()
    result.seconds = time.monotonic() - started
    meter.update(result.inputs, sum(result.counts.values()), final=True)
    if out_dir is not None:
        (out_dir / "summary.json").write_bytes(orjson.dumps(result.summary(model.version), option=orjson.OPT_INDENT_2))
    return result


def _record(events: list[OutputEvent], result: ReplayResult, writers: dict[str, IO[bytes]]) -> None:
    for event in events:
        result.counts[event.kind] += 1
        if event.kind == "suspicious_pattern":
            result.alerts_by_pattern.setdefault(event.value["pattern"], set()).add(event.value["customer_id"])
        elif event.kind == "large_value_report":
            v = event.value
            (result.manual_reports if v["action"] == "manual" else result.reports)[v["report_key"]] = {k: v[k] for k in REPORT_FIELDS}
        if writers:
            writers[event.kind].write(event.encode() + b"\n")
