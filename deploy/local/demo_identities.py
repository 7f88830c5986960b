"""Demo data only: the sample stream (`amlstream produce-sample`'s) as files, with a customer
profile per customer that carries an `identity` object, so the filing stage can name them in
report files. Real profiles carry the identity from the bank's KYC system; the filing stage never
invents one.

    python deploy/local/demo_identities.py OUT_DIR [CUSTOMERS DAYS SEED]
    -> OUT_DIR/transactions.jsonl, OUT_DIR/customers.jsonl
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import orjson

from streams.sample import sample_stream

out = Path(sys.argv[1])
customers, days, seed = (int(a) for a in (sys.argv[2:5] if len(sys.argv) >= 5 else ("50", "3", "7")))
out.mkdir(parents=True, exist_ok=True)
seen: dict[str, None] = {}
with open(out / "transactions.jsonl", "wb") as f:
    for key, value in sample_stream(customers, days, seed):
        f.write(value + b"\n")
        if key:
            seen.setdefault(key.decode(), None)
with open(out / "customers.jsonl", "wb") as f:
    for customer_id in seen:
        digits = str(int(hashlib.sha256(customer_id.encode()).hexdigest(), 16))[:12]
        identity = {"legal_name": f"演示客户{customer_id}", "id_type": "110001", "id_number": "310101" + digits, "nationality": "CN", "phones": ["021-00000000"]}
        profile = {
            "customer_id": customer_id,
            "kind": "individual",
            "country": "CN",
            "onboarded_at": "2024-01-02T09:00:00+08:00",
            "updated_at": "2026-10-01T09:00:00+08:00",
        }
        f.write(orjson.dumps({**profile, "identity": identity}) + b"\n")
