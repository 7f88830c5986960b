"""Network replay: transactions -> edges (the customer stage's builder) -> the network engine,
without Kafka, on real Redis; and the node-level evaluation against labels.

Until the customer stage produces aml.edges.v1 itself, this is how the stage is fed for tests,
the evaluation and the benchmark: each valid leg of the file goes through `edges_for_leg` exactly
as the customer stage will call it, both copies in file order, batches of `batch_size`. Quantiles
are published at each business-day boundary of the input (batch cut there), as peer baselines
are in `amlstream replay`, so the outcome does not depend on the batch size.
"""

from __future__ import annotations

import csv
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from redis.asyncio import Redis

from factors.network.edges import Edge, edge_messages, edges_for_leg
from factors.network.rules import load_rules
from factors.profile import peer_group
from streams.decode import decode_transaction
from streams.errors import DecodeError
from streams.events import Source, iso
from streams.model import Model
from streams.network.engine import NetworkEngine
from streams.network.quantiles import publish_quantiles
from streams.network.state import GraphStore
from streams.replay import read_records

EDGE_TOPIC = "aml.edges.v1"


@dataclass(slots=True)
class Directory:
    """What the replay knows of the bank's customers from their profiles: peer groups and accounts."""

    groups: dict[str, str] = field(default_factory=dict)  # customer_id -> peer group
    accounts: dict[str, str] = field(default_factory=dict)  # account id -> customer_id

    @classmethod
    def from_profiles(cls, path: str | None) -> Directory:
        d = cls()
        if path:
            for raw in read_records(path):
                p = orjson.loads(raw)
                if not isinstance(p, dict) or not p.get("customer_id"):
                    continue
                d.groups[p["customer_id"]] = peer_group(p.get("kind"), p.get("industry"))
                for account in p.get("accounts") or []:
                    d.accounts[str(account)] = p["customer_id"]
        return d


def edge_of(raw: bytes, model: Model, directory: Directory) -> Edge | None:
    """The edge of one transaction.v1 record as the customer stage builds it (None: no edge or invalid)."""
    try:
        tx = decode_transaction(None, raw, model.standard.fx, 1_048_576)
    except DecodeError:
        return None
    doc = orjson.loads(raw)
    account = doc.get("counterparty_account")
    resolved = directory.accounts.get(account) if isinstance(account, str) else None
    own_account = resolved == tx.customer_id or (isinstance(account, str) and account == tx.account_id)
    return edges_for_leg(
        tx_id=tx.tx_id,
        customer_id=tx.customer_id,
        ts_ms=tx.ts_ms,
        direction=tx.direction,
        amount_fen=tx.amount_fen,
        method=tx.method,
        counterparty_id=tx.counterparty_id,
        counterparty_account=account if isinstance(account, str) else None,
        counterparty_bank=tx.counterparty_bank,
        counterparty_name=tx.counterparty_name,
        counterparty_customer_id=resolved,
        tx_type=str(doc.get("tx_type") or "payment"),
        own_account=own_account,
        peer_group=directory.groups.get(tx.customer_id),
    )


def edge_sources(transactions: str, customers: str | None, model: Model) -> Iterator[tuple[Source, int]]:
    """Both copies of each leg's edge as messages of the edge topic, with the edge's event time."""
    directory = Directory.from_profiles(customers)
    offset = 0
    for raw in read_records(transactions):
        edge = edge_of(raw, model, directory)
        if edge is None:
            continue
        for key, value in edge_messages(edge, iso(edge.ts_ms)):
            yield Source(EDGE_TOPIC, 0, offset, key.encode(), orjson.dumps(value)), edge.ts_ms
            offset += 1


@dataclass
class NetworkReplayResult:
    copies: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    detections: Counter[str] = field(default_factory=Counter)
    flagged: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # pattern -> customers
    events: int = 0
    seconds: float = 0.0
    search_seconds: float = 0.0
    accounts_read: int = 0
    hubs_skipped: int = 0

    def summary(self) -> dict[str, Any]:
        edges = self.copies / 2
        return {
            "edge_copies": self.copies,
            "outcomes": dict(sorted(self.outcomes.items())),
            "detections": dict(sorted(self.detections.items())),
            "customers_flagged": {p: len(c) for p, c in sorted(self.flagged.items())},
            "events": self.events,
            "seconds": round(self.seconds, 3),
            "edges_per_second": round(edges / self.seconds, 1) if self.seconds else None,
            "search_seconds": round(self.search_seconds, 3),
            "accounts_read_per_edge_copy": round(self.accounts_read / self.copies, 3) if self.copies else None,
            "hubs_skipped": self.hubs_skipped,
        }


async def network_replay(
    redis: Redis, model: Model, transactions: str, customers: str | None, out_dir: Path | None, *, batch_size: int = 500, cap: int = 150, hub_degree: int = 40
) -> NetworkReplayResult:
    result = NetworkReplayResult()
    store = GraphStore(redis, cap=cap, hub_degree=hub_degree)
    engine = NetworkEngine(store, load_rules(model.standard), model.version, check_keys=True)
    writer: IO[bytes] | None = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        writer = open(out_dir / "network-detections.jsonl", "wb")  # noqa: SIM115 - closed below
    started = time.monotonic()

    async def run(batch: list[Source]) -> None:
        out = await engine.process(batch)
        for event in out.events:
            result.events += 1
            if event.kind == "network_detection":
                result.flagged[event.value["pattern"]].add(event.value["customer_id"])
            if writer is not None:
                writer.write(event.encode() + b"\n")
        await engine.commit(out)
        result.copies += len(batch)
        result.outcomes.update(out.outcomes)
        result.detections.update(out.detections)
        result.search_seconds += out.search_seconds
        result.accounts_read += out.accounts_read
        result.hubs_skipped += out.hubs_skipped

    try:
        batch: list[Source] = []
        day = None
        for source, ts_ms in edge_sources(transactions, customers, model):
            event_day = model.calendar.business_day(ts_ms)
            if day is not None and event_day > day:
                if batch:
                    await run(batch)
                    batch = []
                engine.quantiles.clear()
                engine.quantiles.update(await publish_quantiles(redis))
            day = event_day if day is None else max(day, event_day)
            batch.append(source)
            if len(batch) >= batch_size:
                await run(batch)
                batch = []
        if batch:
            await run(batch)
    finally:
        if writer is not None:
            writer.close()
    result.seconds = time.monotonic() - started
    if out_dir is not None:
        (out_dir / "network-summary.json").write_bytes(orjson.dumps(result.summary(), option=orjson.OPT_INDENT_2))
    return result


def read_network_labels(path: Path, mapping: dict[str, str] | None = None) -> dict[str, set[str]]:
    """customer_id -> network pattern ids, from labels.csv (customer_id, typology, ...); `mapping`
    renames the generator's typology names to pattern ids; rows of other typologies are kept too."""
    labels: dict[str, set[str]] = defaultdict(set)
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            typology = (row.get("typology") or row.get("label") or "").strip()
            if typology and row.get("customer_id") and typology.lower() not in ("normal", "none", "0"):  # outside members have no customer id
                labels[row["customer_id"]].add((mapping or {}).get(typology, typology))
    return dict(labels)


def evaluate_nodes(flagged: dict[str, set[str]], labels: dict[str, set[str]], patterns: frozenset[str], customers: set[str]) -> dict[str, Any]:
    """Node-level precision/recall per network pattern (every party customer counts, not only the
    focal account), F1 over all injected network typologies, and the alert rate on benign accounts.
    A customer flagged by any network pattern counts as a true positive overall if it carries any
    network label; per pattern, if it carries that pattern's label."""

    def prf(pred: set[str], actual: set[str]) -> dict[str, Any]:
        tp = len(pred & actual)
        p = tp / len(pred) if pred else None
        r = tp / len(actual) if actual else None
        f1 = 2 * p * r / (p + r) if p and r else 0.0
        return {"flagged": len(pred), "labelled": len(actual), "true_positives": tp, "precision": _r(p), "recall": _r(r), "f1": _r(f1)}

    per = {}
    for p in sorted(patterns | {t for ts in labels.values() for t in ts if t in patterns}):
        per[p] = prf(flagged.get(p, set()), {c for c, ts in labels.items() if p in ts})
    labelled_any = {c for c, ts in labels.items() if ts & patterns}
    flagged_any = set().union(*(flagged.get(p, set()) for p in patterns)) if flagged else set()
    benign = customers - set(labels)
    return {
        "per_pattern": per,
        "overall": prf(flagged_any, labelled_any),
        "benign_customers": len(benign),
        "benign_flagged": len(flagged_any & benign),
        "benign_alert_rate": _r(len(flagged_any & benign) / len(benign)) if benign else None,
        "other_labelled_flagged": len(flagged_any & (set(labels) - labelled_any)),
    }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


async def run_network_replay(
    settings: Any, transactions: str, customers: str | None, out_dir: Path, config: Path | None, labels: Path | None, mapping: dict[str, str]
) -> dict[str, Any]:
    """`amlstream network-replay`: the replay on AMLSTREAM_REDIS_URL (or a throwaway redis-server),
    its summary, and with labels the node-level evaluation (written to network-evaluation.json)."""
    from factors.network.rules import NETWORK_PATTERNS
    from streams.model import load_model
    from streams.replay import redis_for_replay

    model = load_model(config or settings.model_config_file, settings.timezone, allow_readable=settings.allow_readable_model)
    async with redis_for_replay(settings) as redis:
        result = await network_replay(redis, model, transactions, customers, out_dir, cap=settings.network_edge_cap, hub_degree=settings.network_hub_degree)
        memory = (await redis.info("memory"))["used_memory"]
    report: dict[str, Any] = {"model_version": model.version, **result.summary(), "redis_used_memory_bytes": memory}
    if labels is not None:
        known = set(Directory.from_profiles(customers).groups) if customers else set()
        report["evaluation"] = evaluate_nodes(result.flagged, read_network_labels(labels, mapping), NETWORK_PATTERNS, known)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "network-evaluation.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return report
