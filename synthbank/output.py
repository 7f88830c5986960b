"""Writing a generated bank to files."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import orjson

from synthbank.bank import generate


def write(out_dir: Path, customers: int, days: int, seed: int, start: datetime | None = None) -> dict:
    """Write out_dir/customers.jsonl, out_dir/transactions.jsonl and out_dir/labels.csv; return the counts."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    population, stream = generate(customers, days, seed, start)
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
    return {"customers": len(population.profiles), "transactions": count, "labels": len(population.labels)}
