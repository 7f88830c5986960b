"""Each network typology on small hand-made graphs, with the benign look-alikes that must not fire."""

from __future__ import annotations

from factors.network.rules import Rule, evaluate, load_rules
from factors.patterns import closed_group, gather_scatter, layering_chain, network_cycle, network_fan_in, network_fan_out, scatter_gather, transfer_splitting
from streams.model import load_model
from tests.unit.factors.network.helpers import Graph

RULES = load_rules(load_model().standard)


def only(module) -> tuple[Rule, ...]:
    return tuple(r for r in RULES if r.id == module.ID)


def fired(view, module) -> list:
    return [h for h in evaluate(view, only(module)) if h.pattern == module.ID]


def test_cycle_of_four_accounts_fires_at_the_closing_edge_and_names_every_party():
    g = Graph()
    g.pay("id:C1", "id:C2", 20000, 0)
    g.pay("id:C2", "id:X3", 19500, 20)
    g.pay("id:X3", "id:C4", 19000, 40)
    closing = g.pay("id:C4", "id:C1", 18800, 60)
    hits = fired(g.view(closing, "payee", RULES), network_cycle)
    assert len(hits) == 1
    hit = hits[0]
    assert hit.metrics["hops"] == 4 and {p.party_id for p in hit.parties} == {"id:C1", "id:C2", "id:X3", "id:C4"}
    roles = {p.party_id: p.role for p in hit.parties}
    assert roles["id:C1"] == "origin" and roles["id:X3"] == "intermediary"
    customers = {p.party_id: p.customer_id for p in hit.parties}
    assert customers["id:C2"] == "C2" and customers["id:X3"] is None
    assert len(hit.tx_ids) == 4


def test_loan_and_repayment_is_not_a_cycle():
    g = Graph()
    g.pay("id:C1", "id:C2", 5000, 0)
    back = g.pay("id:C2", "id:C1", 5000, 24 * 20)
    assert fired(g.view(back, "payee", RULES), network_cycle) == []


def test_cycle_that_keeps_most_of_the_money_is_not_one():
    g = Graph()
    g.pay("id:C1", "id:C2", 20000, 0)
    g.pay("id:C2", "id:C3", 9000, 20)  # kept more than half: not layering
    back = g.pay("id:C3", "id:C1", 8900, 40)
    assert fired(g.view(back, "payee", RULES), network_cycle) == []


def test_layering_chain_of_four_conserved_hops():
    g = Graph()
    g.pay("id:C1", "id:C2", 30000, 0)
    g.pay("id:C2", "id:C3", 29500, 10)
    g.pay("id:C3", "id:C4", 29000, 30)
    last = g.pay("id:C4", "id:C5", 28700, 50)
    hits = fired(g.view(last, "payee", RULES), layering_chain)
    assert len(hits) == 1
    roles = {p.party_id: p.role for p in hits[0].parties}
    assert roles == {"id:C1": "origin", "id:C2": "layer", "id:C3": "layer", "id:C4": "layer", "id:C5": "beneficiary"}


def test_salary_paid_on_as_rent_is_no_chain():
    g = Graph()
    g.pay("id:C1", "id:LANDLORD", 3500, -24 * 40)  # earlier rent: recurring relationships
    g.pay("id:LANDLORD", "id:C9", 3400, -24 * 39)
    g.pay("id:EMPLOYER", "id:C1", 12000, 0)
    g.pay("id:C1", "id:LANDLORD", 3500, 24)
    g.pay("id:LANDLORD", "id:C9", 3400, 48)
    last = g.pay("id:C9", "id:C8", 3300, 60)
    assert fired(g.view(last, "payee", RULES), layering_chain) == []


def test_scatter_gather_through_three_mules():
    g = Graph()
    for i, amt in enumerate((9000, 8000, 9500)):
        g.pay("id:SRC", f"id:C{i}", amt, i)
    g.pay("id:C0", "id:SINK", 8800, 30)
    g.pay("id:C1", "id:SINK", 7800, 31)
    last = g.pay("id:C2", "id:SINK", 9300, 32)
    hits = fired(g.view(last, "payee", RULES), scatter_gather)
    assert len(hits) == 1
    roles = {p.party_id: p.role for p in hits[0].parties}
    assert roles["id:SRC"] == "origin" and roles["id:SINK"] == "sink" and roles["id:C1"] == "intermediary"


def test_payroll_and_rent_do_not_gather():
    g = Graph()
    for i in range(4):
        g.pay("id:EMPLOYER", f"id:C{i}", 8000, i)
    last = None
    for i in range(4):
        last = g.pay(f"id:C{i}", "id:LANDLORD", 2500, 48 + i)  # keeps most of the salary
    assert fired(g.view(last, "payee", RULES), scatter_gather) == []


def test_gather_scatter_through_one_account():
    g = Graph()
    for i in range(3):
        g.pay(f"id:S{i}", "id:C1", 5000, i)
    g.pay("id:C1", "id:K0", 4900, 30)
    g.pay("id:C1", "id:K1", 4900, 31)
    last = g.pay("id:C1", "id:K2", 4900, 32)
    hits = fired(g.view(last, "payer"), gather_scatter)
    assert len(hits) == 1 and hits[0].metrics["sources"] == 3 and hits[0].metrics["sinks"] == 3


def test_a_shop_paying_suppliers_keeps_its_margin():
    """Its clients and suppliers recur (last month too): no new relationships, no episode."""
    g = Graph()
    for month in (-24 * 35, 0):
        for i in range(6):
            g.pay(f"id:CLIENT{i}", "id:C1", 5000, month + i)
        g.pay("id:C1", "id:SUP0", 6000, month + 40)
        g.pay("id:C1", "id:SUP1", 6000, month + 41)
        last = g.pay("id:C1", "id:SUP2", 5000, month + 42)
    assert fired(g.view(last, "payer"), gather_scatter) == []


def test_gather_scatter_keeping_most_of_the_money_is_none():
    g = Graph()
    for i in range(3):
        g.pay(f"id:S{i}", "id:C1", 5000, i)
    g.pay("id:C1", "id:K0", 2000, 30)
    g.pay("id:C1", "id:K1", 2000, 31)
    last = g.pay("id:C1", "id:K2", 2000, 32)  # 6,000 of 15,000 passed on
    assert fired(g.view(last, "payer"), gather_scatter) == []


def test_an_outside_account_is_not_an_anchor_of_account_rules():
    g = Graph()
    for i in range(3):
        g.pay(f"id:S{i}", "id:OUTSIDE", 5000, i)
    for i in range(2):
        g.pay("id:OUTSIDE", f"id:K{i}", 4900, 30 + i)
    last = g.pay("id:OUTSIDE", "id:K2", 4900, 32)
    assert fired(g.view(last, "payer"), gather_scatter) == []


def test_closed_group_of_four_paying_each_other_names_members_and_shared_party():
    g = Graph()
    members = ["id:C1", "id:C2", "id:C3", "id:C4"]
    t = 0
    for i, m in enumerate(members):
        for j in (1, 2):
            g.pay(m, members[(i + j) % 4], 3000 + 100 * i, t)
            t += 5
    g.pay("id:C1", "id:X9", 4000, t)
    g.pay("id:C3", "id:X9", 4000, t + 1)
    last = g.pay("id:C4", "id:C1", 2500, t + 2)
    hits = fired(g.view(last, "payee"), closed_group)
    assert len(hits) == 1
    roles = {p.party_id: p.role for p in hits[0].parties}
    assert roles == {**dict.fromkeys(members, "member"), "id:X9": "shared_counterparty"}


def test_household_paying_each_other_for_years_is_no_group():
    g = Graph()
    members = ["id:C1", "id:C2", "id:C3", "id:C4"]
    last = None
    for month in (-24 * 50, 0):  # the same relationships, long-standing
        for i, m in enumerate(members):
            for j in (1, 2):
                last = g.pay(m, members[(i + j) % 4], 800, month + 10 * i + j)
    assert fired(g.view(last, "payee"), closed_group) == []


def test_household_sharing_a_landlord_is_no_group():
    g = Graph()
    g.pay("id:C1", "id:C2", 3000, 0)  # spouses
    g.pay("id:C1", "id:LANDLORD", 4000, 10)
    g.pay("id:C2", "id:LANDLORD", 4000, 11)
    g.pay("id:PARENT", "id:C2", 2000, 20)
    last = g.pay("id:C2", "id:C1", 2500, 30)
    assert fired(g.view(last, "payee"), closed_group) == []


def test_network_fan_in_collects_from_new_payers_and_passes_it_on():
    g = Graph()
    for i in range(4):
        g.pay(f"id:P{i}", "id:C1", 1500, i * 30)
    last = g.pay("id:C1", "id:B", 5400, 150)
    hits = fired(g.view(last, "payer"), network_fan_in)
    assert len(hits) == 1 and hits[0].metrics["sources"] == 4 and hits[0].metrics["sinks"] == 1
    roles = {p.party_id: p.role for p in hits[0].parties}
    assert roles["id:C1"] == "collector" and roles["id:B"] == "beneficiary" and roles["id:P0"] == "payer"
    assert fired(g.view(last, "payer"), gather_scatter) == []  # one sink: not gather-scatter


def test_network_fan_in_needs_new_payers_not_regular_clients():
    g = Graph()
    for i in range(4):
        g.pay(f"id:P{i}", "id:C1", 1500, -24 * 40 + i)  # known for long
    for i in range(4):
        g.pay(f"id:P{i}", "id:C1", 1500, i * 30)
    last = g.pay("id:C1", "id:B", 5400, 150)
    assert fired(g.view(last, "payer"), network_fan_in) == []


def test_network_fan_out_fires_when_most_of_the_lump_is_paid_out():
    g = Graph()
    g.pay("id:ORIGIN", "id:C1", 10000, 0)
    fires = []
    for i in range(5):
        hop = g.pay("id:C1", f"id:R{i}", 2300, 24 * (3 + 5 * i))
        fires.append(len(fired(g.view(hop, "payer"), network_fan_out)))
    assert fires == [0, 0, 0, 1, 0]  # 9,200 of 10,000 at the fourth; the fifth overdraws the lump


def test_transfer_splitting_against_the_pairs_habit():
    g = Graph()
    g.pay("id:C1", "id:C2", 500, -24 * 20)  # the pair's habit: one small transfer now and then
    hits = []
    for i in range(3):
        hop = g.pay("id:C1", "id:C2", 8000, 100 + i * 3)
        hits.append(len(fired(g.view(hop, "payee"), transfer_splitting)))
    assert hits == [0, 0, 1]


def test_a_few_ordinary_payments_in_a_row_are_no_splitting():
    g = Graph()
    g.pay("id:C1", "id:C2", 500, -24 * 20)
    for i in range(3):  # 12,000 in a day against a habit of 500: below the floor of sums worth splitting
        last = g.pay("id:C1", "id:C2", 4000, 100 + i)
    assert fired(g.view(last, "payee"), transfer_splitting) == []
    g = Graph()
    g.pay("id:C1", "id:C2", 9000, -24 * 40)  # the pair has moved 9,000 at once before
    g.pay("id:C1", "id:C2", 2000, -24 * 20)
    for i in range(3):  # three of its usual sums, none larger than its largest earlier transfer
        last = g.pay("id:C1", "id:C2", 8500, 100 + i)
    assert fired(g.view(last, "payee"), transfer_splitting) == []


def test_a_busy_firms_client_paying_several_invoices_is_no_splitting():
    g = Graph()
    g.pay("id:C1", "id:F", 500, -24 * 20)
    for k in range(8):
        g.pay(f"id:CLIENT{k}", "id:F", 6000, 99 + k * 0.1)  # the firm's other receipts that day
    last = None
    for i in range(3):
        last = g.pay("id:C1", "id:F", 4000, 100 + i)
    assert fired(g.view(last, "payee"), transfer_splitting) == []


def test_a_pair_that_always_pays_several_times_a_day_is_its_own_habit():
    g = Graph()
    for day in range(5):
        for k in range(3):
            g.pay("id:C1", "id:C2", 4000, day * 24 + k)
    last = None
    for k in range(3):
        last = g.pay("id:C1", "id:C2", 4000, 10 * 24 + k)
    assert fired(g.view(last, "payee"), transfer_splitting) == []


def test_hubs_are_not_searched_through():
    g = Graph()
    g.pay("id:C1", "id:C2", 20000, 0)
    g.pay("id:C2", "id:HUB", 19500, 20)
    g.pay("id:HUB", "id:C4", 19000, 40)
    closing = g.pay("id:C4", "id:C1", 18800, 60)
    assert fired(g.view(closing, "payee", RULES, hub={"id:HUB"}), network_cycle) == []


def test_a_sparse_group_of_four_needs_a_shared_third_party():
    """Four accounts with six paying pairs (1.5 per member): a family's few transfers over weeks
    look like that; a shared new third party makes it a group, two pairs per member without it."""
    members = ["id:C1", "id:C2", "id:C3", "id:C4"]
    pairs = [(0, 1), (1, 2), (2, 3), (3, 0), (0, 2), (1, 3)]

    def group(shared: bool):
        g = Graph()
        last = None
        for k, (i, j) in enumerate(pairs):
            last = g.pay(members[i], members[j], 3000, 5 * k)
        if shared:
            g.pay("id:C1", "id:X9", 4000, 40)
            g.pay("id:C3", "id:X9", 4000, 41)
            last = g.pay("id:C1", "id:C2", 2500, 42)  # a pair that paid before: still six pairs
        return fired(g.view(last, "payee"), closed_group)

    assert group(shared=False) == []
    [hit] = group(shared=True)
    assert hit.metrics["paying_pairs"] == 6 and hit.thresholds["min_pair_ratio_shared"] == 1.5


def test_a_chain_that_closes_into_a_cycle_is_one_case():
    g = Graph()
    g.pay("id:C1", "id:C2", 20000, 0)
    g.pay("id:C2", "id:C3", 19600, 10)
    third = g.pay("id:C3", "id:C4", 19300, 20)
    chain = fired(g.view(third, "payee"), layering_chain)
    closing = g.pay("id:C4", "id:C1", 19000, 30)
    assert fired(g.view(closing, "payee"), layering_chain) == []  # at the closing edge only the cycle
    [cycle] = fired(g.view(closing, "payee"), network_cycle)
    assert len(chain) == 1 and (chain[0].case, chain[0].key) == (cycle.case, cycle.key) == ("path", cycle.key)


def test_a_conserved_chain_inside_a_group_that_pays_each_other_is_no_layering():
    g = Graph()
    g.pay("id:C1", "id:C2", 20000, 0)
    g.pay("id:C2", "id:C3", 19600, 10)
    g.pay("id:C3", "id:C1", 2500, 15)  # the accounts also pay each other otherwise
    last = g.pay("id:C3", "id:C4", 19300, 20)
    assert fired(g.view(last, "payee"), layering_chain) == []


def test_a_fan_in_that_pays_a_third_sink_becomes_the_gather_scatter_case():
    g = Graph()
    for i in range(3):
        g.pay(f"id:S{i}", "id:C1", 5000, i)
    first = g.pay("id:C1", "id:K0", 12000, 30)
    [fan_in] = fired(g.view(first, "payer"), network_fan_in)
    g.pay("id:C1", "id:K1", 1000, 31)
    last = g.pay("id:C1", "id:K2", 1000, 32)
    [gs] = fired(g.view(last, "payer"), gather_scatter)
    assert (fan_in.case, fan_in.key) == (gs.case, gs.key) == ("pass_through", first.edge_id[:16])


def test_money_back_to_a_payer_or_payers_that_pay_each_other_is_no_pass_through():
    g = Graph()
    for i in range(3):
        g.pay(f"id:S{i}", "id:C1", 5000, i)
    g.pay("id:C1", "id:K0", 4900, 30)
    g.pay("id:C1", "id:K1", 4900, 31)
    last = g.pay("id:C1", "id:S0", 4900, 32)  # a payer paid back: a two-way relationship
    assert fired(g.view(last, "payer"), gather_scatter) == []
    g = Graph()
    for i in range(3):
        g.pay(f"id:S{i}", "id:C1", 5000, i)
    g.pay("id:S1", "id:K1", 800, 5)  # a payer also pays a payee directly: a mesh, not a star
    g.pay("id:C1", "id:K0", 4900, 30)
    g.pay("id:C1", "id:K1", 4900, 31)
    last = g.pay("id:C1", "id:K2", 4900, 32)
    assert fired(g.view(last, "payer"), gather_scatter) == []


def test_newness_from_the_stages_first_edge_makes_a_fresh_account_new():
    """An outside account first seen mid-stream has no earlier relationship: a cycle through it is
    one once the stage's own history (origin_ms) is long enough, however young the account is."""
    from factors.network.graph import NetworkView

    g = Graph()
    g.pay("id:C1", "id:C2", 20000, 0)
    g.pay("id:C2", "id:X3", 19500, 20)
    g.pay("id:X3", "id:C4", 19000, 40)
    closing = g.pay("id:C4", "id:C1", 18800, 60)
    adj = g.adjacency()
    adj["id:X3"].known_since = closing.ts_ms - 24 * 3_600_000  # X3's own first edge: yesterday
    young = NetworkView(closing, "payee", adj, {}, {})
    assert fired(young, network_cycle) == []  # judged from X3's own history: too short to tell
    observed = NetworkView(closing, "payee", adj, {}, {}, origin_ms=closing.ts_ms - 60 * 24 * 3_600_000)
    assert len(fired(observed, network_cycle)) == 1


def test_a_name_only_counterparty_is_the_party_the_account_knows_by_that_name():
    from factors.network.graph import Adjacency, Hop, alias_key

    a = Adjacency("id:C1")
    a.add(Hop("e1", "acct:62220001", "id:C1", 1_000, 500_000, ("T1",)), incoming=True)
    a.add(Hop("e2", "name:zhangsan@icbc", "id:C1", 2_000, 400_000, ("T2",)), incoming=True)  # held before the name was learned
    a.set_alias(alias_key("name:zhangsan@icbc"), "acct:62220001")
    assert a.resolve("name:zhangsan@icbc") == "acct:62220001" and a.resolve("name:lisi@icbc") == "name:lisi@icbc"
    assert {h.payer for h in a.ins} == {"acct:62220001"} and a.counterparties == {"acct:62220001": 2} and a.met("acct:62220001", 9) == 1_000
    a.set_alias(alias_key("name:zhangsan@icbc"), "")  # another party used the name: ambiguous
    assert a.resolve("name:zhangsan@icbc") == "name:zhangsan@icbc"
