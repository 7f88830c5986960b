"""The edge builder: which legs give an edge, party ids, and one edge for both legs of a book transfer."""

from __future__ import annotations

from dataclasses import replace

import pytest

from factors.model import RecentTx, Transaction
from factors.network.edges import LegEdges, customer_party, edge_id, edge_messages, edges_for_leg, occurrence

BASE = {"tx_id": "T1", "customer_id": "C1", "ts_ms": 1_795_000_000_000, "amount_fen": 500_000, "method": "transfer"}


def test_out_leg_to_an_outside_payee():
    e = edges_for_leg(**BASE, direction="out", counterparty_name="Shanghai Hengtong Trading Co., Ltd.", counterparty_bank="ICBC")
    assert e is not None and e.payer == "id:C1" and e.payee == "name:shanghaihengtongtrading@icbc"
    assert e.payer_customer_id == "C1" and e.payee_customer_id is None and e.leg_customer_id == "C1"


def test_both_legs_of_a_book_transfer_share_the_edge_id():
    out_leg = edges_for_leg(**BASE, direction="out", counterparty_id="C2")
    in_leg = edges_for_leg(**{**BASE, "tx_id": "T2", "customer_id": "C2"}, direction="in", counterparty_id="C1")
    assert out_leg.edge_id == in_leg.edge_id and out_leg.tx_id != in_leg.tx_id
    assert (out_leg.payer, out_leg.payee) == (in_leg.payer, in_leg.payee) == ("id:C1", "id:C2")


def test_a_counterparty_account_resolved_to_a_customer():
    e = edges_for_leg(**BASE, direction="in", counterparty_account="6222 0001", counterparty_customer_id="C7")
    assert e.payer == customer_party("C7") and e.payer_customer_id == "C7"


@pytest.mark.parametrize(
    "extra",
    [
        {"method": "card", "counterparty_id": "M1"},
        {"method": "cash", "counterparty_id": "M1"},
        {"tx_type": "reversal", "counterparty_id": "C2"},
        {"tx_type": "fee", "counterparty_id": "BANK"},
        {"tx_type": "interest", "counterparty_id": "BANK"},
        {"own_account": True, "counterparty_account": "A-2"},
        {"counterparty_id": "C1"},
        {},
    ],
)
def test_legs_without_an_edge(extra):
    args = {**BASE, **extra}
    assert edges_for_leg(**args, direction="out") is None


def test_two_copies_keyed_by_each_party():
    e = edges_for_leg(**BASE, direction="out", counterparty_id="C2")
    (k1, v1), (k2, v2) = edge_messages(e, "2026-11-18T11:06:40.000Z")
    assert (k1, v1["key_role"]) == ("id:C1", "payer") and (k2, v2["key_role"]) == ("id:C2", "payee")
    assert v1["edge_id"] == v2["edge_id"] and v1["amount_fen"] == 500_000


def test_an_identified_counterparty_carries_its_name_identity():
    e = edges_for_leg(**BASE, direction="in", counterparty_account="6222 0001", counterparty_name="张 三", counterparty_bank="工商银行")
    assert e.payer == "acct:62220001" and e.counterparty_name_id == "name:张三@工商银行"
    (_, value), _ = edge_messages(e, "2026-11-18T11:06:40.000Z")
    assert value["counterparty_name_id"] == "name:张三@工商银行"
    name_only = edges_for_leg(**BASE, direction="in", counterparty_name="张三", counterparty_bank="工商银行")
    assert name_only.payer == "name:张三@工商银行" and name_only.counterparty_name_id is None
    plain = edges_for_leg(**BASE, direction="out", counterparty_id="C2")
    assert plain.counterparty_name_id is None and "counterparty_name_id" not in edge_messages(plain, "2026-11-18T11:06:40.000Z")[0][1]


def test_edge_identity_one_edge_per_transfer():
    """A counterparty that may be a customer of the bank (an id: party): the digest of the transfer and
    its occurrence, so the k-th identical leg on each side pairs; any other: the leg's tx_id too."""
    first = edges_for_leg(**BASE, direction="out", counterparty_id="C2")
    assert first.edge_id == edge_id("id:C1", "id:C2", BASE["ts_ms"], BASE["amount_fen"])  # occurrence 0: the digest of earlier versions
    second = edges_for_leg(**{**BASE, "tx_id": "T9"}, direction="out", counterparty_id="C2", occurrence=1)
    its_other_leg = edges_for_leg(**{**BASE, "tx_id": "U9", "customer_id": "C2"}, direction="in", counterparty_id="C1", occurrence=1)
    assert second.edge_id == its_other_leg.edge_id != first.edge_id
    outside = [edges_for_leg(**{**BASE, "tx_id": t}, direction="out", counterparty_account="6222 9999") for t in ("X1", "X2")]
    assert outside[0].edge_id != outside[1].edge_id


def _entry(seq, tx_id, ts=100, fen=500, cp="cp", direction="out", kind=""):
    return RecentTx(seq, ts, direction, fen, False, 0, tx_id, counterparty=cp, kind=kind)


def test_occurrence_counts_identical_legs_before_it_in_its_window():
    window = (_entry(1, "a"), _entry(2, "b", fen=600), _entry(3, "c", cp="other"), _entry(4, "d", kind="v"), _entry(5, "e"), _entry(6, "f"))
    assert [occurrence(window, seq) for seq in (1, 5, 6)] == [0, 1, 2]
    assert occurrence(window, 99) == 0  # not in the window (a leg later than the trail): not counted


def test_leg_edges_pairs_identical_book_transfers_and_retracts_a_reversed_one():
    legs = LegEdges()
    at = BASE["ts_ms"]

    def tx(tx_id, customer, direction, cp, **kw):
        return Transaction(tx_id=tx_id, customer_id=customer, ts_ms=at + kw.pop("later", 0), direction=direction, amount_fen=500_000, amount="5000.00",
                           currency="CNY", method="transfer", counterparty_id=cp, **kw)  # fmt: skip

    out1, out2 = legs.leg(tx("x1", "C1", "out", "C2"), "id:C2"), legs.leg(tx("x2", "C1", "out", "C2"), "id:C2")
    in1, in2 = legs.leg(tx("y1", "C2", "in", "C1"), "id:C1"), legs.leg(tx("y2", "C2", "in", "C1"), "id:C1")
    assert out1.edge_id == in1.edge_id != out2.edge_id == in2.edge_id
    assert legs.leg(tx("x2", "C1", "out", "C2"), "id:C2").edge_id == out2.edge_id  # a duplicated tx_id: the same edge
    back = legs.leg(tx("r2", "C2", "out", "C1", later=60_000, tx_type="reversal", original_tx_id="y2"), "id:C1")
    assert back.retracted_by == "r2" and back.edge_id == out2.edge_id and back.tx_id == "y2" and back.ts_ms == at
    assert legs.leg(tx("r9", "C1", "in", "C2", tx_type="reversal", original_tx_id="x9"), "id:C2") is None  # before its original
    assert legs.leg(tx("x9", "C1", "out", "C2", later=1), "id:C2") is None  # which then counts for nothing


def test_a_retraction_copy_says_so():
    e = edges_for_leg(**BASE, direction="out", counterparty_id="C2")
    (_, value), _ = edge_messages(replace(e, retracted_by="R1"), "2026-11-02T00:00:00Z")
    assert (value["action"], value["retracted_by"], value["edge_id"]) == ("retract", "R1", e.edge_id)
    assert "action" not in edge_messages(e, "2026-11-02T00:00:00Z")[0][1]
