"""The edge builder: which legs give an edge, party ids, and one edge for both legs of a book transfer."""

from __future__ import annotations

import pytest

from factors.network.edges import customer_party, edge_messages, edges_for_leg

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
