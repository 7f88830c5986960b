"""The account directory on a real Redis: the customer stage resolves a counterparty account that a
profile lists to its customer, so the edges it emits are those `network-replay` measures, in any
batching, and follow profile changes and tombstones."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from streams.model import load_model
from streams.network.replay import Directory, edge_sources
from streams.replay import replay
from streams.settings import load_settings
from synthbank import write

pytestmark = pytest.mark.services
SETTINGS = {}  # no AMLSTREAM_REDIS_URL: each replay gets a throwaway redis-server of its own


def copies(lines: list[bytes]) -> set[tuple]:
    """Each edge copy as what the network stage reads of it."""
    out = set()
    for line in lines:
        e = orjson.loads(line)
        out.add((e["edge_id"], e["key_role"], e["payer"]["party_id"], e["payer"]["customer_id"], e["payee"]["party_id"], e["payee"]["customer_id"], e["tx_id"]))
    return out


async def customer_stage_edges(transactions: str, customers: str, out: Path, batch_size: int = 500) -> list[bytes]:
    await replay(load_settings(SETTINGS), load_model(), transactions, customers, out, batch_size=batch_size, publish_peers=False)
    return (out / "edges.jsonl").read_bytes().splitlines()


async def test_the_customer_stage_emits_the_edges_network_replay_measures(tmp_path):
    bank = tmp_path / "bank"
    write(bank, customers=150, days=20, seed=4242)
    transactions, customers = str(bank / "transactions.jsonl"), str(bank / "customers.jsonl")
    live = copies(await customer_stage_edges(transactions, customers, tmp_path / "live"))
    measured = copies(src.value for src, _ in edge_sources(transactions, customers, load_model(), Directory.from_profiles(customers)))
    assert live == measured
    between_customers = {c for c in live if c[3] and c[5]}
    assert len(between_customers) > 50, len(between_customers)  # the generator's transfers between customers name accounts only
    assert all(c[2] == f"id:{c[3]}" and c[4] == f"id:{c[5]}" for c in between_customers)


def _profile(customer: str, at: str, accounts: list[str] | None) -> dict:
    return {"customer_id": customer, "kind": "individual", "updated_at": at} | ({"accounts": accounts} if accounts is not None else {})


def _leg(tx_id: str, customer: str, at: str, direction: str, account: str) -> dict:
    return {
        "tx_id": tx_id,
        "customer_id": customer,
        "ts": at,
        "direction": direction,
        "amount": "5000.00",
        "currency": "CNY",
        "method": "transfer",
        "counterparty_account": account,
    }


@pytest.mark.parametrize("batch_size", [1, 2, 500])
async def test_resolution_follows_profiles_in_stream_order_whatever_the_batching(tmp_path, batch_size):
    profiles = [
        _profile("C1", "2026-11-01T09:00:00+08:00", ["6222-0001"]),
        _profile("C2", "2026-11-01T09:00:00+08:00", ["6222 0002"]),
        _profile("C2", "2026-11-02T09:00:00+08:00", ["6222 0003"]),  # 0002 closed
    ]
    legs = [
        _leg("T1", "C1", "2026-11-01T10:00:00+08:00", "out", "62220002"),  # to C2, spelt another way
        _leg("T2", "C2", "2026-11-01T10:00:00+08:00", "in", "6222 0001"),  # the same transfer, C2's leg
        _leg("T3", "C1", "2026-11-02T10:00:00+08:00", "out", "6222 0002"),  # 0002 is no customer's any more
        _leg("T4", "C1", "2026-11-02T11:00:00+08:00", "out", "6222 0003"),
        _leg("T5", "C1", "2026-11-02T12:00:00+08:00", "out", "6222 0001"),  # its own account: no edge
    ]
    (tmp_path / "customers.jsonl").write_bytes(b"".join(orjson.dumps(p) + b"\n" for p in profiles))
    (tmp_path / "legs.jsonl").write_bytes(b"".join(orjson.dumps(t) + b"\n" for t in legs))
    lines = await customer_stage_edges(str(tmp_path / "legs.jsonl"), str(tmp_path / "customers.jsonl"), tmp_path / "out", batch_size)
    by_tx: dict[str, set[tuple[str, str]]] = {}
    ids: dict[str, str] = {}
    for line in lines:
        e = orjson.loads(line)
        by_tx.setdefault(e["tx_id"], set()).add((e["payer"]["party_id"], e["payee"]["party_id"]))
        ids[e["tx_id"]] = e["edge_id"]
    assert by_tx == {"T1": {("id:C1", "id:C2")}, "T2": {("id:C1", "id:C2")}, "T3": {("id:C1", "acct:62220002")}, "T4": {("id:C1", "id:C2")}}
    assert ids["T1"] == ids["T2"]  # both legs of the book transfer: one edge
