"""Node-level evaluation of the network stage against a generated bank's labels (synthbank's
`network_labels.csv` and `labels.csv`). See README, "Network detection", evaluation.

A *node* is a party of the payment graph: a customer of the bank (``id:<customer_id>``, all its
accounts) or an outside account (an outside member's account number, id and name-at-bank
spellings are one node). A *case* is one `detection_key`: an episode that grows may move from one
pattern to another of its family (a layering chain that closes into a cycle, a fan-in that pays a
third sink and is a gather-scatter); the case is classified by its latest event and names every
party any of its events named. Per typology: precision = named nodes that are members of a group
of that typology / named nodes; recall = members named / members. Members of *another* network
typology's group count as false positives (`other_typology_members`). Nodes of a customer-level
typology (a customer labelled in labels.csv, and the counterparties its injected transactions
introduced in the label's span) are laundering the network labels do not describe: they count
neither way and are reported (`customer_typology_nodes`). `strict` repeats the figures counting
every event under its own pattern and those nodes as false positives.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from factors.identity import canonical_counterparty

# the generator's typology names -> the network rules' ids (others are the same)
DEFAULT_MAP = {"cycle": "network_cycle", "small_set_fan_in": "network_fan_in", "small_set_fan_out": "network_fan_out"}
DAY_MS = 86_400_000


def parse_ms(text: str) -> int:
    """RFC 3339 (with offset or Z) -> epoch ms."""
    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


@dataclass(slots=True)
class NetworkLabels:
    """The members of the injected network groups as graph nodes (see the module docstring)."""

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
    with path.open(newline="", encoding="utf-8-sig") as f:  # Excel's "CSV UTF-8" starts with a BOM
        rows = list(csv.DictReader(f))
    for row in rows:
        if row.get("customer_id"):
            node = f"id:{row['customer_id']}"
        else:
            node = canonical_counterparty(None, row.get("account_id"), None, None) or f"id:{row.get('party_id')}"
            by_id = canonical_counterparty(row.get("party_id"), None, None, None)
            by_name = canonical_counterparty(None, None, row.get("party_bank"), row.get("party_name"))
            for alias in (by_id, by_name):
                if alias:
                    out.alias[alias] = node
        if live_from_ms is not None and parse_ms(row["start"]) < live_from_ms:
            out.ignored.add(node)
            continue
        out.members[node].add(mapping.get(row["typology"], row["typology"]))
    return out


def read_customer_labels(path: Path | None) -> dict[str, list[tuple[int, int]]]:
    """Customers with a customer-level label (labels.csv) -> their labels' spans (epoch ms, the end
    day included)."""
    out: dict[str, list[tuple[int, int]]] = defaultdict(list)
    if path is None or not path.exists():
        return out
    with path.open(newline="", encoding="utf-8-sig") as f:  # Excel's "CSV UTF-8" starts with a BOM
        for row in csv.DictReader(f):
            if row.get("customer_id") and (row.get("typology") or "").lower() not in ("", "normal", "none", "0"):
                start = parse_ms(row["start"]) if row.get("start") else 0
                end = parse_ms(row["end"]) + DAY_MS if row.get("end") else 2**62
                out[row["customer_id"]].append((start, end))
    return out


class CustomerTypologyParties:
    """Collects, in event-time order, the counterparties a customer-level typology's transactions
    introduced: a counterparty of a labelled customer first dealt with inside one of its labels'
    spans (the injected one-off parties of `frequent_one_off`, the payers of `fan_in`, ...)."""

    def __init__(self, spans: dict[str, list[tuple[int, int]]]) -> None:
        self.spans = spans
        self.seen: dict[str, set[str]] = defaultdict(set)
        self.parties: set[str] = set()

    def leg(self, customer_id: str, counterparty: str, ts_ms: int) -> None:
        spans = self.spans.get(customer_id)
        if not spans:
            return
        if counterparty not in self.seen[customer_id] and any(s <= ts_ms < e for s, e in spans):
            self.parties.add(counterparty)
        self.seen[customer_id].add(counterparty)


@dataclass(slots=True)
class Cases:
    """Detections as cases (one per detection_key): the latest pattern and every party named."""

    pattern: dict[str, str] = field(default_factory=dict)
    parties: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    by_event: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # pattern -> parties, every event under its own pattern

    def add(self, event: dict[str, Any]) -> None:
        key, names = event["detection_key"], [p["party_id"] for p in event["parties"]]
        self.pattern[key] = event["pattern"]
        self.parties[key].update(names)
        self.by_event[event["pattern"]].update(names)

    def named(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        for key, pattern in self.pattern.items():
            out[pattern] |= self.parties[key]
        return out


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _prf(pred: set[str], actual: set[str]) -> dict[str, Any]:
    tp = len(pred & actual)
    p = tp / len(pred) if pred else None
    r = tp / len(actual) if actual else None
    f1 = 2 * p * r / (p + r) if p and r else 0.0
    return {"named": len(pred), "labelled": len(actual), "true_positives": tp, "precision": _r(p), "recall": _r(r), "f1": _r(f1)}


def evaluate_nodes(
    named: dict[str, set[str]],
    labels: NetworkLabels,
    patterns: Iterable[str],
    customers: set[str],
    customer_labelled: Iterable[str] = (),
    customer_typology_parties: Iterable[str] = (),
    strict_named: dict[str, set[str]] | None = None,
) -> dict[str, Any]:
    """Per typology and overall precision/recall/F1 at node level and the benign alert rate (see
    the module docstring). `named`: pattern -> party ids named (per case); `customers`: every
    customer id of the bank; `customer_labelled`: customer ids with a customer-level label;
    `strict_named`: pattern -> party ids of every event, for the strict figures."""
    labelled_customers = {f"id:{c}" for c in customer_labelled}
    member_any = set(labels.members)
    excluded = (labelled_customers | {labels.node(p) for p in customer_typology_parties}) - member_any
    dropped = labels.ignored - member_any

    def nodes(parties: set[str]) -> set[str]:
        return {labels.node(x) for x in parties} - dropped

    def table(named_by: dict[str, set[str]], exclude: set[str]) -> dict[str, Any]:
        per = {}
        all_patterns = sorted(set(patterns) | {t for ts in labels.members.values() for t in ts if t in set(patterns)})
        for p in all_patterns:
            pred_all = nodes(named_by.get(p, set()))
            pred = pred_all - exclude
            actual = {n for n, ts in labels.members.items() if p in ts}
            row = _prf(pred, actual)
            row["other_typology_members"] = len(pred & member_any - actual)
            row["customer_typology_nodes"] = len(pred_all & excluded)
            row["benign_customers_named"] = len({n for n in pred - member_any if n[3:] in customers} - labelled_customers)
            per[p] = row
        flagged = set().union(*(nodes(v) for v in named_by.values())) if named_by else set()
        return {"per_pattern": per, "overall": _prf(flagged - exclude, member_any) | {"customer_typology_nodes": len(flagged & excluded)}, "flagged": flagged}

    main = table(named, excluded)
    strict = table(strict_named if strict_named is not None else named, set())
    benign = {f"id:{c}" for c in customers} - member_any - labelled_customers - labels.ignored
    flagged_any = main.pop("flagged")
    strict.pop("flagged")
    return {
        "per_pattern": main["per_pattern"],
        "overall": main["overall"],
        "benign_customers": len(benign),
        "benign_flagged": len(flagged_any & benign),
        "benign_alert_rate": _r(len(flagged_any & benign) / len(benign)) if benign else None,
        "customer_level_labelled_flagged": len(flagged_any & labelled_customers - member_any),
        "outside_parties_named_unlabelled": len({n for n in flagged_any - member_any - excluded if not n.startswith("id:") or n[3:] not in customers}),
        "strict": {
            "definition": "every event under its own pattern; customer-typology nodes count as false positives",
            "per_pattern": {p: {k: v[k] for k in ("named", "true_positives", "precision", "recall", "f1")} for p, v in strict["per_pattern"].items()},
            "overall": strict["overall"],
        },
    }


def evaluate_detections(
    events: Iterable[dict[str, Any]],
    labels: Path,
    known_customers: set[str],
    mapping: dict[str, str] | None = None,
    customer_labels: Path | None = None,
) -> dict[str, Any]:
    """`evaluate_nodes` over network_detection events however they were obtained (a live run's
    topic, a replay's `network-detections.jsonl`): cases by `detection_key`, each classified by
    its latest event in event time (`occurred_at`, then `event_id`: the same whatever order the
    events were read in); exposure measurements and other event kinds are ignored.
    `customer_labels` defaults to the labels.csv beside `labels`. Unlike network-replay's own
    evaluation, the counterparties that customer-level typologies introduced are not known here
    (they are counted as any other node)."""
    from factors.network.rules import NETWORK_PATTERNS

    detections = [e for e in events if e.get("event_type") == "network_detection" and e.get("kind") == "detection"]
    # a case is classified by its latest event: in event time, not in the order a topic's
    # partitions were read (one detection's events go to each named customer's partition)
    detections.sort(key=lambda e: (parse_ms(e["occurred_at"]) if isinstance(e.get("occurred_at"), str) else 0, str(e.get("event_id", ""))))
    cases = Cases()
    for event in detections:
        cases.add(event)
    events_read = len(detections)
    if customer_labels is None and (labels.parent / "labels.csv").exists():
        customer_labels = labels.parent / "labels.csv"
    spans = read_customer_labels(customer_labels)
    out = evaluate_nodes(cases.named(), read_network_labels(labels, mapping), NETWORK_PATTERNS, known_customers, spans, (), strict_named=cases.by_event)
    return {"detection_events": events_read, "cases": len(cases.pattern)} | out


__all__ = [
    "DEFAULT_MAP",
    "Cases",
    "CustomerTypologyParties",
    "NetworkLabels",
    "evaluate_detections",
    "evaluate_nodes",
    "parse_ms",
    "read_customer_labels",
    "read_network_labels",
]
