"""The node-level evaluation of the network stage (streams.network.evaluation) on hand-made labels."""

from __future__ import annotations

from pathlib import Path

from streams.network.evaluation import Cases, CustomerTypologyParties, evaluate_nodes, parse_ms, read_network_labels

HEADER = "group_id,typology,variant,role,account_id,customer_id,start,end,party_id,party_name,party_bank\n"


def labels(tmp_path: Path) -> Path:
    rows = [
        "G1,gather_scatter,fast,origin,A1,C1,2026-09-10T10:00:00+08:00,2026-09-11T10:00:00+08:00,,,",
        "G1,gather_scatter,fast,collector,A2,C2,2026-09-10T10:00:00+08:00,2026-09-11T10:00:00+08:00,,,",
        "G1,gather_scatter,fast,beneficiary,6222001,,2026-09-10T10:00:00+08:00,2026-09-11T10:00:00+08:00,X1,张三,工商银行",
        "G2,cycle,fast,origin,A3,C3,2026-08-01T10:00:00+08:00,2026-08-02T10:00:00+08:00,,,",  # in the warm-up
    ]
    path = tmp_path / "network_labels.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def event(key: str, pattern: str, parties: list[str]) -> dict:
    return {"detection_key": key, "pattern": pattern, "parties": [{"party_id": p} for p in parties]}


def test_a_case_counts_under_its_latest_pattern_and_outside_aliases_are_one_node(tmp_path):
    cases = Cases()
    cases.add(event("k1", "network_fan_in", ["id:C1", "id:C2"]))
    cases.add(event("k1", "gather_scatter", ["id:C1", "id:C2", "name:张三@工商银行"]))  # the same case, grown
    cases.add(event("k2", "network_fan_in", ["id:C9", "id:C8"]))  # a benign customer and a customer-level one
    live = parse_ms("2026-09-01T00:00:00+08:00")
    got = evaluate_nodes(
        cases.named(),
        read_network_labels(labels(tmp_path), None, live),
        ["gather_scatter", "network_fan_in", "network_cycle"],
        {"C1", "C2", "C3", "C8", "C9"},
        ["C8"],
        [],
        cases.by_event,
    )
    gs, fan_in = got["per_pattern"]["gather_scatter"], got["per_pattern"]["network_fan_in"]
    assert (gs["named"], gs["true_positives"], gs["precision"], gs["recall"]) == (3, 3, 1.0, 1.0)
    assert (fan_in["named"], fan_in["true_positives"], fan_in["customer_typology_nodes"]) == (1, 0, 1)  # C8 neither way, C9 a false positive
    assert got["per_pattern"]["network_cycle"]["labelled"] == 0  # its group started in the warm-up
    assert got["benign_flagged"] == 1 and got["benign_customers"] == 1  # C9 of C9 (C3 ignored, C8 customer-level)
    strict = got["strict"]["per_pattern"]["network_fan_in"]
    assert (strict["named"], strict["true_positives"], strict["precision"]) == (4, 0, 0.0)  # every event under its own pattern: C1, C2 are another typology's, C8 counts


def test_counterparties_a_customer_level_typology_introduced():
    spans = {"C8": [(1_000, 5_000)]}
    introduced = CustomerTypologyParties(spans)
    introduced.leg("C8", "acct:OLD", 500)  # before the span: an existing counterparty
    introduced.leg("C8", "acct:OLD", 2_000)
    introduced.leg("C8", "acct:NEW", 2_500)
    introduced.leg("C8", "acct:LATER", 6_000)
    introduced.leg("C1", "acct:OTHER", 2_000)
    assert introduced.parties == {"acct:NEW"}
