"""Network replay: transactions -> edges (the customer stage's builder) -> the network engine,
without Kafka, on real Redis; and the node-level evaluation against labels.

Each valid leg of the file goes through `LegEdges` (`leg_edge` as the customer stage calls it,
with the occurrences and reversal retractions of its trail), and both
copies go to the engine in file order, in batches of `batch_size`, already decoded (the topic's
JSON round trip is the worker's; `edge_sources` renders the messages for tests and the benchmark).
Risk levels (for the exposure rule and measurements) come from the profiles (a listed customer
is `prohibited` from the start, as the customer stage's hard rule rates it) and, optionally, a
`risk-changes.jsonl` written by `amlstream replay` on the same input, applied in event-time order
before the first edge at or after each change, so the outcome does not depend on the batch size.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from redis.asyncio import Redis

from factors.identity import normalise_account
from factors.model import Transaction
from factors.network.edges import Edge, LegEdges, edge_messages
from factors.network.rules import load_rules
from factors.patterns.high_risk_exposure import record_change
from factors.profile import peer_group
from streams.decode import decode_profile, decode_transaction
from streams.engine import counterparty_identity
from streams.errors import DecodeError, InputFileError
from streams.events import Source, dead_letter, iso
from streams.model import Model
from streams.network.engine import LATE_ANCHORS, NetworkEngine
from streams.network.evaluation import Cases, CustomerTypologyParties, evaluate_nodes, parse_ms, read_customer_labels, read_network_labels
from streams.network.risk import DAY_MS, KEEP_DAYS
from streams.network.state import GraphStore
from streams.replay import read_records
from streams.retry import retry_job

EDGE_TOPIC = "aml.edges.v1"


MAX_BYTES = 1_048_576  # a record's size limit, AMLSTREAM_MAX_MESSAGE_BYTES's default


@dataclass(slots=True)
class Directory:
    """What the replay knows of the bank's customers from their profiles: peer groups and accounts.
    A profile the customer stage would dead-letter (decode_profile) is skipped and counted by
    error code in `skipped`, as the customer stage would not know it either."""

    groups: dict[str, str] = field(default_factory=dict)  # customer_id -> peer group
    accounts: dict[str, str] = field(default_factory=dict)  # normalised account id (normalise_account) -> customer_id
    listed: set[str] = field(default_factory=set)  # customers listed in their profile
    skipped: Counter[str] = field(default_factory=Counter)  # bad profile records by error code

    @classmethod
    def from_profiles(cls, path: str | None) -> Directory:
        d = cls()
        if path:
            for raw in read_records(path):
                try:
                    p = decode_profile(None, raw, MAX_BYTES)
                except DecodeError as exc:
                    d.skipped[exc.code] += 1
                    continue
                d.groups[p.customer_id] = peer_group(p.kind, p.industry)
                if p.listed:
                    d.listed.add(p.customer_id)
                for account in p.accounts:
                    d.accounts[normalise_account(account)] = p.customer_id
        return d


def leg_edge(tx: Transaction, directory: Directory, legs: LegEdges) -> Edge | None:
    """The edge (or retraction) of the next decoded leg (None: the leg has none, e.g. cash), its
    counterparty account resolved with the profiles' accounts as the customer stage resolves it
    (streams/state/accounts.py); `legs` holds the recent legs per customer (occurrences, reversals)."""
    resolved = directory.accounts.get(normalise_account(tx.counterparty_account)) if tx.counterparty_account else None
    return legs.leg(tx, counterparty_identity(tx), counterparty_customer_id=resolved, peer_group=directory.groups.get(tx.customer_id))


def edges_of(transactions: str, model: Model, directory: Directory, rejected: Callable[[int, bytes, DecodeError], None] | None = None) -> Iterator[Edge]:
    """The edge or retraction of each leg that has one, in file order; `rejected(record index, raw,
    error)` is told of each record the decoder refuses (the customer stage dead-letters them)."""
    legs = LegEdges()
    for offset, raw in enumerate(read_records(transactions)):
        try:
            tx = decode_transaction(None, raw, model.standard.fx, MAX_BYTES)
        except DecodeError as exc:
            if rejected is not None:
                rejected(offset, raw, exc)
            continue
        edge = leg_edge(tx, directory, legs)
        if edge is not None:
            yield edge


def edge_sources(transactions: str, customers: str | None, model: Model, directory: Directory | None = None) -> Iterator[tuple[Source, Edge]]:
    """Both copies of each leg's edge (or retraction) as messages of the edge topic, with the edge."""
    directory = directory or Directory.from_profiles(customers)
    offset = 0
    for edge in edges_of(transactions, model, directory):
        for key, value in edge_messages(edge, iso(edge.ts_ms)):
            yield Source(EDGE_TOPIC, 0, offset, key.encode(), orjson.dumps(value)), edge
            offset += 1


@dataclass
class NetworkReplayResult:
    copies: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)  # transaction records the decoder refused, by error code
    profiles_skipped: Counter[str] = field(default_factory=Counter)  # profile records the decoder refused, by error code
    outcomes: Counter[str] = field(default_factory=Counter)
    detections: Counter[str] = field(default_factory=Counter)
    flagged: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # pattern -> customers
    cases: Cases = field(default_factory=Cases)  # detections as cases (detection_key), for the evaluation
    customer_typology_parties: set[str] = field(default_factory=set)  # counterparties introduced by customer-level typologies (with labels)
    exposures: int = 0
    live_from_ms: int | None = None
    events: int = 0
    seconds: float = 0.0
    search_seconds: float = 0.0
    accounts_read: int = 0
    hubs_skipped: int = 0
    reanchored: int = 0  # evaluations at later edges that a copy arrived after (same-millisecond ties, in file order)

    def summary(self) -> dict[str, Any]:
        edges = self.copies / 2
        return {
            "edge_copies": self.copies,
            "dead_letters": dict(sorted(self.dead_letters.items())),
            "profiles_skipped": dict(sorted(self.profiles_skipped.items())),
            "outcomes": dict(sorted(self.outcomes.items())),
            "detections": dict(sorted(self.detections.items())),
            "customers_flagged": {p: len(c) for p, c in sorted(self.flagged.items())},
            "events": self.events,
            "seconds": round(self.seconds, 3),
            "edges_per_second": round(edges / self.seconds, 1) if self.seconds else None,
            "search_seconds": round(self.search_seconds, 3),
            "accounts_read_per_edge_copy": round(self.accounts_read / self.copies, 3) if self.copies else None,
            "hubs_skipped": self.hubs_skipped,
            "reanchored_evaluations": self.reanchored,
            "exposure_measurements": self.exposures,
        }


def read_risk_changes(path: Path | None) -> list[tuple[int, str, str]]:
    """(event time ms, customer_id, level) of each risk_change in a risk-changes.jsonl, in time order."""
    out = []
    if path is not None:
        for number, raw in enumerate(read_records(str(path)), 1):
            try:
                e = orjson.loads(raw)
                if isinstance(e, dict) and e.get("event_type") == "risk_change":
                    out.append((parse_ms(e["occurred_at"]), e["customer_id"], e["current"]["level"]))
            except (ValueError, KeyError, TypeError) as exc:  # the file is `amlstream replay`'s: a bad line means the wrong file
                raise InputFileError(f"{path}: record {number} is not a risk_change event of amlstream replay ({type(exc).__name__}: {exc})") from None
    return sorted(out)


def apply_risk(risk: dict[str, str], customer_id: str, level: str, ts_ms: int, keep_days: float = KEEP_DAYS) -> None:
    """Keep the risk marker of a customer as net_risk.lua does (the grammar:
    factors.patterns.high_risk_exposure.record_change)."""
    marker = record_change(risk.get(customer_id), level, ts_ms, round(keep_days * DAY_MS))
    if marker is not None:
        risk[customer_id] = marker


async def network_replay(
    redis: Redis,
    model: Model,
    transactions: str,
    customers: str | None,
    out_dir: Path | None,
    *,
    batch_size: int = 500,
    cap: int = 500,
    hub_degree: int = 100,
    late_anchors: int = LATE_ANCHORS,
    risk_changes: Path | None = None,
    warmup_days: float = 0,
    customer_labels: dict[str, list[tuple[int, int]]] | None = None,
) -> NetworkReplayResult:
    """`warmup_days`: the first days of the input (from its first edge) only build state, as the
    backfill a deployed stage starts from: no detection or exposure event is emitted for edges in
    them (the rules judge new relationships against the accounts' history, which needs one).
    `customer_labels` (customer -> label spans): collect the counterparties its typologies introduced."""
    result = NetworkReplayResult()
    introduced = CustomerTypologyParties(customer_labels or {})
    live_from: list[int] = []
    store = GraphStore(redis, cap=cap, hub_degree=hub_degree)
    directory = Directory.from_profiles(customers)
    result.profiles_skipped.update(directory.skipped)
    risk = {cid: "prohibited@0" for cid in sorted(directory.listed)}
    changes = read_risk_changes(risk_changes)
    engine = NetworkEngine(store, load_rules(model.standard), model.version, check_keys=True, risk=risk, late_anchors=late_anchors)
    writer: IO[bytes] | None = None
    dead: IO[bytes] | None = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        writer = open(out_dir / "network-detections.jsonl", "wb")  # noqa: SIM115 - closed below
        dead = open(out_dir / "network-dead-letter.jsonl", "wb")  # noqa: SIM115 - closed below
    started = time.monotonic()

    def rejected(offset: int, raw: bytes, error: DecodeError) -> None:
        result.dead_letters[error.code] += 1
        if dead is not None:
            letter = dead_letter(Source(transactions, 0, offset, None, bytes(raw)), error.code, error.detail, model.version, error.customer_id)
            dead.write(letter.encode() + b"\n")

    async def run(batch: list[tuple[Edge, str]]) -> None:
        out = await retry_job("network replay apply", lambda: engine.process_copies(batch))
        for event in out.events:
            if live_from and event.kind == "network_detection" and parse_ms(event.value["occurred_at"]) < live_from[0]:
                continue  # the backfill: state only
            result.events += 1
            if event.kind == "network_detection" and event.value["kind"] == "detection":
                result.flagged[event.value["pattern"]].add(event.value["customer_id"])
                result.cases.add(event.value)
            if writer is not None:
                writer.write(event.encode() + b"\n")
        await retry_job("network replay commit", lambda: engine.commit(out))
        result.copies += len(batch)
        result.outcomes.update(out.outcomes)
        result.detections.update(out.detections)
        result.search_seconds += out.search_seconds
        result.accounts_read += out.accounts_read
        result.hubs_skipped += out.hubs_skipped
        result.reanchored += out.reanchored
        result.exposures += out.exposures

    try:
        batch: list[tuple[Edge, str]] = []
        nxt = 0
        for edge in edges_of(transactions, model, directory, rejected):
            ts_ms = edge.ts_ms
            if edge.retracted_by is None:
                introduced.leg(edge.leg_customer_id, edge.payee if edge.leg_customer_id == edge.payer_customer_id else edge.payer, ts_ms)
            if not live_from and warmup_days:
                live_from.append(ts_ms + round(warmup_days * 86_400_000))
            if nxt < len(changes) and changes[nxt][0] <= ts_ms:
                if batch:
                    await run(batch)
                    batch = []
                while nxt < len(changes) and changes[nxt][0] <= ts_ms:
                    apply_risk(risk, changes[nxt][1], changes[nxt][2], changes[nxt][0])
                    nxt += 1
            batch += ((edge, "payer"), (edge, "payee"))  # the two copies, as the customer stage produces them
            if len(batch) >= batch_size:
                await run(batch)
                batch = []
        if batch:
            await run(batch)
    finally:
        for w in (writer, dead):
            if w is not None:
                w.close()
    result.seconds = time.monotonic() - started
    result.customer_typology_parties = introduced.parties
    result.live_from_ms = live_from[0] if live_from else None
    if out_dir is not None:
        (out_dir / "network-summary.json").write_bytes(orjson.dumps(result.summary(), option=orjson.OPT_INDENT_2))
    return result


async def _account_count(redis: Redis) -> set[bytes]:
    """The accounts with graph state (one meta hash each)."""
    return {k async for k in redis.scan_iter(match="aml:net:*:m", count=10_000)}


async def run_network_replay(
    settings: Any,
    transactions: str,
    customers: str | None,
    out_dir: Path,
    config: Path | None,
    labels: Path | None,
    mapping: dict[str, str],
    risk_changes: Path | None = None,
    customer_labels: Path | None = None,
    warmup_days: float = 0,
) -> dict[str, Any]:
    """`amlstream network-replay`: the replay on AMLSTREAM_REDIS_URL (or a throwaway redis-server),
    its summary, and with labels the node-level evaluation (written to network-evaluation.json)."""
    from factors.network.rules import NETWORK_PATTERNS
    from streams.model import open_model
    from streams.replay import redis_for_replay

    model = open_model(settings, config)
    if customer_labels is None and labels is not None and (labels.parent / "labels.csv").exists():
        customer_labels = labels.parent / "labels.csv"
    spans = read_customer_labels(customer_labels)
    async with redis_for_replay(settings) as redis:
        result = await network_replay(
            redis,
            model,
            transactions,
            customers,
            out_dir,
            cap=settings.network_edge_cap,
            hub_degree=settings.network_hub_degree,
            late_anchors=settings.network_late_anchors,
            risk_changes=risk_changes,
            warmup_days=warmup_days,
            customer_labels=spans,
        )
        memory = (await redis.info("memory"))["used_memory"]
        accounts = len(await _account_count(redis))
    report: dict[str, Any] = {"model_version": model.version, **result.summary(), "redis_used_memory_bytes": memory, "accounts": accounts}
    report["redis_bytes_per_account"] = round(memory / accounts, 1) if accounts else None
    if labels is not None:
        known = set(Directory.from_profiles(customers).groups) if customers else set()
        live = result.live_from_ms if warmup_days else None
        report["warmup_days"] = warmup_days
        report["evaluation"] = evaluate_nodes(
            result.cases.named(),
            read_network_labels(labels, mapping, live),
            NETWORK_PATTERNS,
            known,
            spans,
            result.customer_typology_parties,
            strict_named=result.cases.by_event,
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "network-evaluation.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return report
