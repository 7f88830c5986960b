"""Benign structure that looks like laundering is there and unlabelled; accounts, counterparty
fields and name variants are consistent."""

from __future__ import annotations

from collections import Counter, defaultdict

from tests.unit.synthbank.conftest import Bank, canonical_name


def structures(bank: Bank, kind: str) -> dict[str, list]:
    out: dict[str, list] = defaultdict(list)
    for m in bank.population.benign:
        if m.kind == kind:
            out[m.structure_id].append(m)
    return out


def labelled_accounts(bank: Bank) -> set[str]:
    return {lab.account_id for lab in bank.population.network_labels} | {a for lab in bank.population.labels for a in bank.profiles[lab.customer_id]["accounts"]}


def test_benign_structures_are_present_and_not_labelled(bank):
    kinds = Counter(m.kind for m in bank.population.benign)
    assert set(kinds) == {"household", "own_account_split", "landlord", "installment", "payroll_provider", "shared_supplier"}
    labelled = labelled_accounts(bank)
    for kind in ("household", "own_account_split", "landlord"):
        assert not {m.account_id for m in bank.population.benign if m.kind == kind and m.customer_id} & labelled
    individuals = sum(p["kind"] == "individual" for p in bank.profiles.values())
    in_households = sum(len(ms) for ms in structures(bank, "household").values())
    assert 0.25 <= in_households / individuals <= 0.32


def test_households_pay_each_other_lend_and_repay_and_hand_on(bank):
    loans = forwards = paying = 0
    for members in structures(bank, "household").values():
        accounts = {m.account_id for m in members}
        inside = bank.between(accounts, "", "~")
        paying += bool(inside)
        amounts = Counter((t.payer, t.payee, t.amount) for t in inside)
        loans += any((b, a, x) in amounts for a, b, x in amounts)  # the same sum back: a two-party cycle
        forwards += any(t1.payee == t2.payer and t2.payee not in (t1.payer, t1.payee) and t1.ts < t2.ts for t1 in inside for t2 in inside)
    households = len(structures(bank, "household"))
    assert paying / households > 0.9 and loans >= 5 and forwards >= 5


def test_own_account_split_moves_part_of_the_salary_to_the_second_account(bank):
    splits = structures(bank, "own_account_split")
    assert splits
    by_account = defaultdict(list)
    for leg in bank.legs:
        by_account[leg["account_id"]].append(leg)
    for members in splits.values():
        first, second = (m.account_id for m in members)
        customer = members[0].customer_id
        assert bank.profiles[customer]["accounts"] == [first, second]
        moved = by_account[second]
        assert moved and all(leg["counterparty_id"] == customer and leg["counterparty_account"] == first and leg["direction"] == "in" for leg in moved)


def test_landlords_receive_a_fixed_rent_from_many_tenants(bank):
    big = [ms for ms in structures(bank, "landlord").values() if sum(m.role == "tenant" for m in ms) >= 5]
    assert big
    for members in big:
        (landlord,) = [m.account_id for m in members if m.role == "landlord"]
        tenants = {m.account_id for m in members if m.role == "tenant"}
        rents = defaultdict(set)
        for t in bank.transfers:
            if t.payee == landlord and t.payer in tenants:
                rents[t.payer].add(t.amount)
        assert len(rents) >= 5 and all(len(amounts) == 1 for amounts in rents.values())  # the same rent every month


def test_hubs_and_shared_suppliers(bank):
    for kind, hub_role, min_members in (("installment", "lender", 10), ("payroll_provider", "provider", 5), ("shared_supplier", "supplier", 2)):
        hubs = structures(bank, kind)
        assert max(len(ms) for ms in hubs.values()) > min_members, kind
        for members in hubs.values():
            assert sum(m.role == hub_role for m in members) == 1
    internal = [ms for ms in structures(bank, "shared_supplier").values() if any(m.role == "supplier" and m.customer_id for m in ms)]
    assert internal  # suppliers that bank with us: firm-to-firm transfers with both legs


def test_same_pair_repeats_among_ordinary_customers(bank):
    labelled = labelled_accounts(bank)
    per_day = Counter((t.payer, t.payee, t.ts[:10]) for t in bank.transfers if t.payer not in labelled and t.payee not in labelled)
    assert sum(n >= 2 for n in per_day.values()) >= 20


def test_legs_use_the_customers_own_accounts_and_internal_transfers_have_both_legs(bank):
    account_owner = {a: c for c, p in bank.profiles.items() for a in p["accounts"]}
    used = set()
    legs = Counter()
    for leg in bank.legs:
        assert leg["account_id"] in bank.profiles[leg["customer_id"]]["accounts"]
        used.add(leg["account_id"])
        other = leg.get("counterparty_account")
        if other in account_owner:
            assert leg["counterparty_id"] == account_owner[other]
            legs[(leg["account_id"], other, leg["ts"], leg["amount"], leg["direction"])] += 1
    assert used == set(account_owner)  # every account of every profile has legs
    mirror = {"in": "out", "out": "in"}
    assert len(legs) > 1_000
    for (account, other, ts, amount, direction), n in legs.items():
        assert legs[(other, account, ts, amount, mirror[direction])] == n


def test_outside_counterparties_keep_their_name_and_some_legs_carry_only_a_variant(bank):
    names: dict[str, set[tuple[str, str]]] = defaultdict(set)
    variant_legs = 0
    named = 0
    for leg in bank.legs:
        if "counterparty_name" not in leg:
            continue
        named += 1
        if "counterparty_id" in leg:
            names[leg["counterparty_id"]].add((leg["counterparty_account"], leg["counterparty_name"]))
        else:
            variant_legs += 1
            assert "counterparty_account" not in leg and leg["counterparty_bank"]
    assert all(len(v) == 1 for v in names.values())  # one account and one name per id
    assert 0.02 <= variant_legs / named <= 0.04
    canonical = {name for ((_, name),) in (tuple(v) for v in names.values())}
    spelled = {leg["counterparty_name"] for leg in bank.legs if "counterparty_name" in leg and "counterparty_id" not in leg}
    folded = {canonical_name(c) for c in canonical}
    differing = [s for s in spelled if s not in canonical and canonical_name(s) in folded]
    assert len(differing) >= 20  # other spellings that canonicalisation folds back
    assert any(any("\uff01" <= c <= "\uff5e" for c in s) for s in differing) and any(" " in s.strip() or s != s.strip() for s in differing)
