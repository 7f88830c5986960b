"""streams.engine.edges_in_event_time: a batch's edge copies leave in event-time order."""

from __future__ import annotations

from streams.engine import edges_in_event_time
from streams.events import OutputEvent


def edge(ts: int, eid: str, role: str = "payer", retract: bool = False) -> OutputEvent:
    value = {"event_type": "edge", "ts_ms": ts, "edge_id": eid, "key_role": role} | ({"action": "retract", "retracted_by": "R"} if retract else {})
    return OutputEvent("edge", f"k-{eid}-{role}", value)


def test_edges_are_ordered_among_their_own_slots_and_retractions_stay():
    risk = OutputEvent("risk_change", "C1", {"event_type": "risk_change"})
    back = edge(5, "e0", retract=True)
    events = [edge(30, "b", "payee"), risk, edge(30, "b"), back, edge(10, "z"), edge(30, "a")]
    edges_in_event_time(events)
    assert events[1] is risk and events[3] is back
    assert [(e.value["ts_ms"], e.value["edge_id"], e.value["key_role"]) for i, e in enumerate(events) if i not in (1, 3)] == [
        (10, "z", "payer"),
        (30, "a", "payer"),
        (30, "b", "payer"),
        (30, "b", "payee"),
    ]
