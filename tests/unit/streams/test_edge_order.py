"""streams.engine.edges_in_event_time: a batch's edge copies leave in event-time order."""

from __future__ import annotations

from streams.engine import edges_in_event_time
from streams.events import OutputEvent


def edge(ts: int, eid: str, role: str = "payer", retract: bool = False) -> OutputEvent:
    value = {"event_type": "edge", "ts_ms": ts, "edge_id": eid, "key_role": role} | ({"action": "retract", "retracted_by": "R"} if retract else {})
    return OutputEvent("edge", f"k-{eid}-{role}", value)


def test_edges_are_ordered_among_their_own_slots():
    risk = OutputEvent("risk_change", "C1", {"event_type": "risk_change"})
    events = [edge(30, "b", "payee"), risk, edge(30, "b"), edge(10, "z"), edge(30, "a")]
    edges_in_event_time(events)
    assert events[1] is risk
    assert [(e.value["ts_ms"], e.value["edge_id"], e.value["key_role"]) for i, e in enumerate(events) if i != 1] == [
        (10, "z", "payer"),
        (30, "a", "payer"),
        (30, "b", "payer"),
        (30, "b", "payee"),
    ]


def test_no_copy_moves_across_a_retraction():
    """A payment reversed in the same batch, and another customer's earlier edge after both: the
    edge must stay before its retraction (behind it, the network stage stores it as retracted)."""
    x_payer, x_payee = edge(100, "x"), edge(100, "x", "payee")
    back_payer, back_payee = edge(100, "x", retract=True), edge(100, "x", "payee", retract=True)
    y_payer, y_payee = edge(50, "y"), edge(50, "y", "payee")
    events = [x_payer, x_payee, back_payer, back_payee, y_payer, y_payee]
    edges_in_event_time(events)
    assert events == [x_payer, x_payee, back_payer, back_payee, y_payer, y_payee]
    events = [x_payee, y_payer, x_payer, back_payer, y_payee]
    edges_in_event_time(events)
    assert events == [y_payer, x_payer, x_payee, back_payer, y_payee]
