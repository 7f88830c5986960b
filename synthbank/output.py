"""Writing a generated bank to files: customers.jsonl, transactions.jsonl (streamed), labels.csv
(customer-level typologies), network_labels.csv (one row per member account per injected
network group) and benign_structures.csv (the benign look-alikes, for diagnosing false positives;
not labels)."""

from __future__ import annotations

import csv
from dataclasses import astuple, fields
from datetime import datetime
from pathlib import Path

import orjson

from synthbank.bank import generate
from synthbank.records import BenignMember, NetworkLabel

NETWORK_LABEL_COLUMNS = tuple(f.name for f in fields(NetworkLabel))
BENIGN_COLUMNS = tuple(f.name for f in fields(BenignMember))


def write(out_dir: Path, customers: int, days: int, seed: int, start: datetime | None = None, network_from_day: int = 0) -> dict:
    """Write the five files into out_dir; return the counts."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    population, stream = generate(customers, days, seed, start, network_from_day)
    dumps = orjson.dumps
    with open(out_dir / "customers.jsonl", "wb") as f:
        f.write(b"".join(dumps(doc) + b"\n" for doc in population.profiles))
    count = 0
    with open(out_dir / "transactions.jsonl", "wb") as f:
        buffer = bytearray()  # orjson's bytes are over-allocated: copy each one out at once
        for doc in stream:
            buffer += dumps(doc, option=orjson.OPT_APPEND_NEWLINE)
            count += 1
            if len(buffer) >= 1 << 20:
                f.write(buffer)
                buffer.clear()
        f.write(buffer)
    with open(out_dir / "labels.csv", "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(("customer_id", "typology", "start", "end"))
        out.writerows((lab.customer_id, lab.typology, lab.start, lab.end) for lab in population.labels)
    with open(out_dir / "network_labels.csv", "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(NETWORK_LABEL_COLUMNS)
        out.writerows(astuple(lab) for lab in population.network_labels)
    with open(out_dir / "benign_structures.csv", "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(BENIGN_COLUMNS)
        out.writerows(astuple(m) for m in population.benign)
    return {
        "customers": len(population.profiles),
        "transactions": count,
        "labels": len(population.labels),
        "network_labels": len(population.network_labels),
        "network_groups": len({lab.group_id for lab in population.network_labels}),
        "benign_structure_rows": len(population.benign),
    }
