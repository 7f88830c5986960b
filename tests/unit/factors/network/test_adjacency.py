"""Adjacency.after: the later edges whose rules run again when an edge arrives out of order."""

from __future__ import annotations

from factors.network.graph import Adjacency, Hop


def hop(eid: str, payer: str, payee: str, ts: int) -> Hop:
    return Hop(eid, payer, payee, ts, 100_000, (f"t-{eid}",))


def test_after_merges_both_sides_in_event_order_with_the_copy_that_anchors_each():
    a = Adjacency("X", ins=[hop("i1", "P", "X", 10), hop("i2", "Q", "X", 30)], outs=[hop("o1", "X", "R", 20), hop("o2", "X", "S", 40)])
    assert [(h.edge_id, copy) for h, copy in a.after((15, ""), 8)] == [("o1", "payer"), ("i2", "payee"), ("o2", "payer")]
    assert [h.edge_id for h, _ in a.after((15, ""), 2)] == ["o1", "i2"]  # the nearest first, at most `limit`
    assert a.after((40, "o2"), 8) == []  # nothing after the newest edge


def test_after_orders_edges_of_one_millisecond_by_edge_id():
    a = Adjacency("X", ins=[hop("b", "P", "X", 10)], outs=[hop("a", "X", "R", 10), hop("c", "X", "S", 10)])
    assert [h.edge_id for h, _ in a.after((10, "a"), 8)] == ["b", "c"]
    assert [h.edge_id for h, _ in a.after((10, "b"), 8)] == ["c"]
