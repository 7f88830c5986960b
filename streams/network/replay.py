"""Network replay: transactions -> edges (the customer stage's builder) -> the network engine,
without Kafka, on real Redis; and the node-level evaluation against labels.

Until the customer stage produces aml.edges.v1 itself, this is how the stage is fed for tests,
the evaluation and the benchmark: each valid leg of the file goes through `edges_for_leg` exactly
as the customer stage will call it, both copies in file order, batches of `batch_size`. Quantiles
Risk levels (for the exposure rule and measurements) come from the profiles (a listed customer
is `prohibited` from the start, as the customer stage's hard rule rates it) and, optionally, a
`risk-changes.jsonl` written by `amlstream replay` on the same input, applied in event-time order
before the first edge at or after each change, so the outcome does not depend on the batch size.
"""

from __future__ import annotations

import csv
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson
from redis.asyncio import Redis

from factors.identity import canonical_counterparty
from factors.network.edges import Edge, edge_messages, edges_for_leg
from factors.network.rules import load_rules
from factors.patterns.high_risk_exposure import HIGH_LEVELS
from factors.profile import peer_group
from streams.decode import decode_transaction
from streams.errors import DecodeError
from streams.events import Source, iso
from streams.model import Model
from streams.network.engine import NetworkEngine
from streams.network.state import GraphStore
from streams.replay import read_records

EDGE_TOPIC = "aml.edges.v1"


@dataclass(slots=True)
class Directory:
    """What the replay knows of the bank's customers from their profiles: peer groups and accounts."""

    groups: dict[str, str] = field(default_factory=dict)  # customer_id -> peer group
    accounts: dict[str, str] = field(default_factory=dict)  # account id -> customer_id
    listed: set[str] = field(default_factory=set)  # customers listed in their profile

    @classmethod
    def from_profiles(cls, path: str | None) -> Directory:
        d = cls()
        if path:
            for raw in read_records(path):
                p = orjson.loads(raw)
                if not isinstance(p, dict) or not p.get("customer_id"):
                    continue
                d.groups[p["customer_id"]] = peer_group(p.get("kind"), p.get("industry"))
                if p.get("listed") is True:
                    d.listed.add(p["customer_id"])
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


def edge_sources(transactions: str, customers: str | None, model: Model, directory: Directory | None = None) -> Iterator[tuple[Source, int]]:
    """Both copies of each leg's edge as messages of the edge topic, with the edge's event time."""
    directory = directory or Directory.from_profiles(customers)
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
    named: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # pattern -> party ids named in its detections
    exposures: int = 0
    live_from_ms: int | None = None
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
            "exposure_measurements": self.exposures,
        }


def parse_ms(text: str) -> int:
    """RFC 3339 (with offset or Z) -> epoch ms."""
    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def read_risk_changes(path: Path | None) -> list[tuple[int, str, str]]:
    """(event time ms, customer_id, level) of each risk_change in a risk-changes.jsonl, in time order."""
    out = []
    if path is not None:
        for raw in read_records(str(path)):
            e = orjson.loads(raw)
            if isinstance(e, dict) and e.get("event_type") == "risk_change":
                out.append((parse_ms(e["occurred_at"]), e["customer_id"], e["current"]["level"]))
    return sorted(out)


def apply_risk(risk: dict[str, str], customer_id: str, level: str, ts_ms: int) -> None:
    """Keep the high-risk marker "level@since" of a customer (dropped when it falls below)."""
    if level in HIGH_LEVELS:
        if risk.get(customer_id, "").partition("@")[0] != level:
            risk[customer_id] = f"{level}@{ts_ms}"
    else:
        risk.pop(customer_id, None)


async def network_replay(
    redis: Redis,
    model: Model,
    transactions: str,
    customers: str | None,
    out_dir: Path | None,
    *,
    batch_size: int = 500,
    cap: int = 150,
    hub_degree: int = 40,
    risk_changes: Path | None = None,
    warmup_days: float = 0,
) -> NetworkReplayResult:
    """`warmup_days`: the first days of the input (from its first edge) only build state, as the
    backfill a deployed stage starts from: no detection or exposure event is emitted for edges in
    them (the rules judge new relationships against the accounts' history, which needs one)."""
    result = NetworkReplayResult()
    live_from: list[int] = []
    store = GraphStore(redis, cap=cap, hub_degree=hub_degree)
    directory = Directory.from_profiles(customers)
    risk = {cid: "prohibited@0" for cid in sorted(directory.listed)}
    changes = read_risk_changes(risk_changes)
    engine = NetworkEngine(store, load_rules(model.standard), model.version, check_keys=True, risk=risk)
    writer: IO[bytes] | None = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        writer = open(out_dir / "network-detections.jsonl", "wb")  # noqa: SIM115 - closed below
    started = time.monotonic()

    async def run(batch: list[Source]) -> None:
        out = await engine.process(batch)
        for event in out.events:
            if live_from and event.kind == "network_detection" and parse_ms(event.value["occurred_at"]) < live_from[0]:
                continue  # the backfill: state only
            result.events += 1
            if event.kind == "network_detection" and event.value["kind"] == "detection":
                result.flagged[event.value["pattern"]].add(event.value["customer_id"])
                result.named[event.value["pattern"]].update(p["party_id"] for p in event.value["parties"])
            if writer is not None:
                writer.write(event.encode() + b"\n")
        await engine.commit(out)
        result.copies += len(batch)
        result.outcomes.update(out.outcomes)
        result.detections.update(out.detections)
        result.search_seconds += out.search_seconds
        result.accounts_read += out.accounts_read
        result.hubs_skipped += out.hubs_skipped
        result.exposures += out.exposures

    try:
        batch: list[Source] = []
        nxt = 0
        for source, ts_ms in edge_sources(transactions, customers, model, directory):
            if not live_from and warmup_days:
                live_from.append(ts_ms + round(warmup_days * 86_400_000))
            if nxt < len(changes) and changes[nxt][0] <= ts_ms:
                if batch:
                    await run(batch)
                    batch = []
                while nxt < len(changes) and changes[nxt][0] <= ts_ms:
                    apply_risk(risk, changes[nxt][1], changes[nxt][2], changes[nxt][0])
                    nxt += 1
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
    result.live_from_ms = live_from[0] if live_from else None
    if out_dir is not None:
        (out_dir / "network-summary.json").write_bytes(orjson.dumps(result.summary(), option=orjson.OPT_INDENT_2))
    return result


# the generator's typology names -> the network rules' ids (others are the same)
DEFAULT_MAP = {"cycle": "network_cycle", "small_set_fan_in": "network_fan_in", "small_set_fan_out": "network_fan_out"}


@dataclass(slots=True)
class NetworkLabels:
    """The members of the injected network groups as graph nodes.

    A node is one party of the payment graph: a customer of the bank is ``id:<customer_id>`` (all
    its accounts), an outside account is its canonical identity; an outside member appears under
    up to three identities (its account number; its id; its name at its bank, on the legs that
    carry only a name), all mapped to one node (``acct:<number>``)."""

    members: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # node -> typologies (pattern ids)
    alias: dict[str, str] = field(default_factory=dict)  # canonical identity -> node
    ignored: set[str] = field(default_factory=set)  # members of groups that started in the warm-up (not evaluated)

    def node(self, party_id: str) -> str:
        return self.alias.get(party_id, party_id)


def read_network_labels(path: Path, mapping: dict[str, str] | None = None, live_from_ms: int | None = None) -> NetworkLabels:
    """network_labels.csv (one row per member account per group) as nodes; `mapping` renames the
    generator's typology names to pattern ids (DEFAULT_MAP unless given). Groups whose first
    transfer is before `live_from_ms` (the warm-up) are not evaluated: their members are `ignored`."""
    mapping = DEFAULT_MAP | (mapping or {})
    out = NetworkLabels()
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        if live_from_ms is not None and parse_ms(row["start"]) < live_from_ms:
            out.ignored.add(f"id:{row['customer_id']}" if row.get("customer_id") else canonical_counterparty(None, row.get("account_id"), None, None) or "")
    for row in rows:
        if True:
            if live_from_ms is not None and parse_ms(row["start"]) < live_from_ms:
                continue
            typology = mapping.get(row["typology"], row["typology"])
            if row.get("customer_id"):
                node = f"id:{row['customer_id']}"
            else:
                node = canonical_counterparty(None, row.get("account_id"), None, None) or f"id:{row.get('party_id')}"
                for alias in (
                    canonical_counterparty(row.get("party_id"), None, None, None),
                    canonical_counterparty(None, None, row.get("party_bank"), row.get("party_name")),
                ):
                    if alias:
                        out.alias[alias] = node
            out.members[node].add(typology)
    return out


def read_customer_labels(path: Path | None) -> set[str]:
    """Customers with a customer-level label (labels.csv), as nodes."""
    if path is None or not path.exists():
        return set()
    with path.open(newline="", encoding="utf-8") as f:
        return {
            f"id:{row['customer_id']}" for row in csv.DictReader(f) if row.get("customer_id") and (row.get("typology") or "").lower() not in ("", "normal", "none", "0")
        }


def evaluate_nodes(
    named: dict[str, set[str]], labels: NetworkLabels, patterns: frozenset[str], customers: set[str], customer_labelled: set[str] = frozenset()
) -> dict[str, Any]:  # type: ignore[assignment]
    """Node-level precision/recall per network typology and overall (see README, "Network detection",
    evaluation): per rule, the nodes its detections name (every party, not only the focal account)
    against the members of groups of that typology; overall, any network rule against any network
    label; and the alert rate on benign customers (no network and no customer-level label)."""

    def prf(pred: set[str], actual: set[str]) -> dict[str, Any]:
        tp = len(pred & actual)
        p = tp / len(pred) if pred else None
        r = tp / len(actual) if actual else None
        f1 = 2 * p * r / (p + r) if p and r else 0.0
        return {"named": len(pred), "labelled": len(actual), "true_positives": tp, "precision": _r(p), "recall": _r(r), "f1": _r(f1)}

    nodes = {p: {labels.node(x) for x in xs} - (labels.ignored - set(labels.members)) for p, xs in named.items()}
    member_any = set(labels.members)
    per = {}
    for p in sorted(patterns | {t for ts in labels.members.values() for t in ts if t in patterns}):
        pred = nodes.get(p, set())
        actual = {n for n, ts in labels.members.items() if p in ts}
        row = prf(pred, actual)
        other = pred & member_any - actual
        row["other_typology_members"] = len(other)
        row["precision_any_network_member"] = _r(len(pred & member_any) / len(pred)) if pred else None
        row["benign_customers_named"] = len({n for n in pred - member_any if n[3:] in customers} - customer_labelled)
        per[p] = row
    flagged_any = set().union(*nodes.values()) if nodes else set()
    benign = {f"id:{c}" for c in customers} - member_any - set(customer_labelled) - labels.ignored
    return {
        "per_pattern": per,
        "overall": prf(flagged_any, member_any),
        "benign_customers": len(benign),
        "benign_flagged": len(flagged_any & benign),
        "benign_alert_rate": _r(len(flagged_any & benign) / len(benign)) if benign else None,
        "customer_level_labelled_flagged": len(flagged_any & set(customer_labelled) - member_any),
        "outside_parties_named_unlabelled": len({n for n in flagged_any - member_any if not n.startswith("id:") or n[3:] not in customers}),
    }


async def _account_count(redis: Redis) -> set[bytes]:
    """The accounts with graph state (one meta hash each)."""
    return {k async for k in redis.scan_iter(match="aml:net:*:m", count=10_000)}


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


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
    async with redis_for_replay(settings) as redis:
        result = await network_replay(
            redis,
            model,
            transactions,
            customers,
            out_dir,
            cap=settings.network_edge_cap,
            hub_degree=settings.network_hub_degree,
            risk_changes=risk_changes,
            warmup_days=warmup_days,
        )
        memory = (await redis.info("memory"))["used_memory"]
        accounts = len(await _account_count(redis))
    report: dict[str, Any] = {"model_version": model.version, **result.summary(), "redis_used_memory_bytes": memory, "accounts": accounts}
    report["redis_bytes_per_account"] = round(memory / accounts, 1) if accounts else None
    if labels is not None:
        known = set(Directory.from_profiles(customers).groups) if customers else set()
        if customer_labels is None and (labels.parent / "labels.csv").exists():
            customer_labels = labels.parent / "labels.csv"
        live = result.live_from_ms if warmup_days else None
        report["warmup_days"] = warmup_days
        report["evaluation"] = evaluate_nodes(result.named, read_network_labels(labels, mapping, live), NETWORK_PATTERNS, known, read_customer_labels(customer_labels))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "network-evaluation.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return report
