"""Network typologies: every one injected, fast and slow, its members labelled with roles, and
its structure true in the emitted legs (resolved to accounts as a bank would see them)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from itertools import pairwise

import pytest

from synthbank import NETWORK_TYPOLOGIES, generate
from synthbank.records import NetworkLabel
from tests.unit.synthbank.conftest import Bank, Transfer

FORWARD = (0.95 - 0.001, 0.995 + 0.001)  # each hop keeps a 0.5-5 % cut (plus cents rounding)


def groups(bank: Bank, typology: str) -> dict[str, list[NetworkLabel]]:
    out: dict[str, list[NetworkLabel]] = defaultdict(list)
    for lab in bank.population.network_labels:
        if lab.typology == typology:
            out[lab.group_id].append(lab)
    return out


def accounts(rows: list[NetworkLabel], role: str) -> list[str]:
    return [r.account_id for r in rows if r.role == role]


def flows(bank: Bank, rows: list[NetworkLabel]) -> list[Transfer]:
    return bank.between({r.account_id for r in rows}, rows[0].start, rows[0].end)


def hours(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)) / timedelta(hours=1)


def window_hours(rows: list[NetworkLabel]) -> float:
    return hours(rows[0].start, rows[0].end)


def test_every_typology_fast_and_slow_with_labelled_members(bank):
    seen = {(lab.typology, lab.variant) for lab in bank.population.network_labels}
    assert seen == {(t, v) for t in NETWORK_TYPOLOGIES for v in ("fast", "slow")}
    customer_level = {lab.customer_id for lab in bank.population.labels}
    members: dict[str, set[str]] = defaultdict(set)
    for lab in bank.population.network_labels:
        assert lab.start <= lab.end
        if lab.customer_id:
            assert lab.account_id in bank.profiles[lab.customer_id]["accounts"]
        members[lab.account_id].add(lab.group_id)
        if lab.typology != "high_risk_exposure" or lab.role != "high_risk_party":
            assert lab.customer_id not in customer_level  # the members of a network are in no other label
    assert all(len(g) == 1 for g in members.values())  # an account is in one group


@pytest.mark.parametrize("typology", NETWORK_TYPOLOGIES)
def test_every_member_transacts_within_the_groups_span(bank, typology):
    for rows in groups(bank, typology).values():
        involved = {a for t in flows(bank, rows) for a in (t.payer, t.payee)}
        assert {r.account_id for r in rows} <= involved, rows[0].group_id
        assert any(r.customer_id for r in rows)
        assert window_hours(rows) <= (4 * 24 if rows[0].variant == "fast" else 45 * 24)


def _hop_sums(transfers: list[Transfer], path: list[str]) -> list[tuple[float, str, str]]:
    """Per hop of the path: (amount, first ts, last ts)."""
    out = []
    for a, b in pairwise(path):
        hop = [t for t in transfers if t.payer == a and t.payee == b]
        assert hop, (a, b)
        out.append((sum(t.amount for t in hop), hop[0].ts, hop[-1].ts))
    return out


@pytest.mark.parametrize("typology", ["cycle", "layering_chain"])
def test_money_moves_along_the_path_each_hop_forwarding_most_of_it(bank, typology):
    for rows in groups(bank, typology).values():
        path = [r.account_id for r in rows]
        if typology == "cycle":
            path.append(path[0])  # the money returns to its origin
            assert rows[0].role == "origin" and {r.role for r in rows[1:]} == {"intermediary"}
        else:
            assert rows[0].role == "origin" and rows[-1].role == "beneficiary"
        hops = _hop_sums(flows(bank, rows), path)
        for (received, _, arrived), (forwarded, left, _) in pairwise(hops):
            assert FORWARD[0] <= forwarded / received <= FORWARD[1]
            assert left > arrived  # passed on after it arrived
        assert 3_000 <= hops[0][0] <= 50_000


def test_scatter_gather_reconverges(bank):
    for rows in groups(bank, "scatter_gather").values():
        (origin,), (collector,) = accounts(rows, "origin"), accounts(rows, "collector")
        transfers = flows(bank, rows)
        for m in accounts(rows, "intermediary"):
            (given,) = [t for t in transfers if t.payer == origin and t.payee == m]
            (passed,) = [t for t in transfers if t.payer == m and t.payee == collector]
            assert FORWARD[0] <= passed.amount / given.amount <= FORWARD[1] and passed.ts > given.ts


def test_gather_scatter_converges_then_fans_out(bank):
    for rows in groups(bank, "gather_scatter").values():
        (collector,) = accounts(rows, "collector")
        transfers = flows(bank, rows)
        gathered = [t for t in transfers if t.payee == collector]
        scattered = [t for t in transfers if t.payer == collector]
        assert {t.payer for t in gathered} == set(accounts(rows, "origin"))
        assert {t.payee for t in scattered} == set(accounts(rows, "beneficiary"))
        assert 0.9 - 0.001 <= sum(t.amount for t in scattered) / sum(t.amount for t in gathered) <= 0.98 + 0.001
        assert min(t.ts for t in scattered) > max(t.ts for t in gathered)


def test_closed_group_members_pay_each_other_and_share_third_parties(bank):
    for rows in groups(bank, "closed_group").values():
        members, shared = set(accounts(rows, "member")), set(accounts(rows, "shared_counterparty"))
        transfers = flows(bank, rows)
        for m in members:
            partners = {t.payee for t in transfers if t.payer == m and t.payee in members} | {t.payer for t in transfers if t.payee == m and t.payer in members}
            assert len(partners) >= 2
        for s in shared:
            assert len({t.payer if t.payee == s else t.payee for t in transfers if s in (t.payer, t.payee)}) >= 2


def test_small_set_fan_in_and_fan_out(bank):
    for rows in groups(bank, "small_set_fan_in").values():
        (collector,), (beneficiary,) = accounts(rows, "collector"), accounts(rows, "beneficiary")
        transfers = flows(bank, rows)
        gathered = [t for t in transfers if t.payee == collector]
        onward = [t for t in transfers if t.payer == collector and t.payee == beneficiary]
        assert 3 <= len({t.payer for t in gathered}) <= 6
        assert 0.85 - 0.001 <= sum(t.amount for t in onward) / sum(t.amount for t in gathered) <= 0.95 + 0.001
        if rows[0].variant == "slow":
            assert window_hours(rows) >= 20 * 24  # a long window: few new payers in any ten days
    for rows in groups(bank, "small_set_fan_out").values():
        (distributor,) = accounts(rows, "distributor")
        transfers = flows(bank, rows)
        received = sum(t.amount for t in transfers if t.payee == distributor)
        paid = [t for t in transfers if t.payer == distributor]
        assert {t.payee for t in paid} == set(accounts(rows, "beneficiary")) and 3 <= len({t.payee for t in paid}) <= 6
        assert 0.85 - 0.001 <= sum(t.amount for t in paid) / received <= 0.97 + 0.001


def test_transfer_splitting_breaks_the_pairs_habit(bank):
    for rows in groups(bank, "transfer_splitting").values():
        (payer,), (payee,) = accounts(rows, "origin"), accounts(rows, "beneficiary")
        per_day: dict[str, list[Transfer]] = defaultdict(list)
        for t in bank.transfers:
            if t.payer == payer and t.payee == payee:
                per_day[t.ts[:10]].append(t)
        split = {d: ts for d, ts in per_day.items() if rows[0].start[:10] <= d <= rows[0].end[:10] and len(ts) >= 3}
        habit = {d: ts for d, ts in per_day.items() if not rows[0].start[:10] <= d <= rows[0].end[:10]}
        assert split and habit
        assert all(len(ts) == 1 and t.amount <= 5_000 for ts in habit.values() for t in ts)  # the habit: one modest transfer a day
        assert all(5_000 <= t.amount < 50_000 for ts in split.values() for t in ts)
        assert max(len(ts) for ts in split.values()) >= (4 if rows[0].variant == "fast" else 3)


def test_high_risk_exposure_follows_a_listing_or_a_suspicion(bank):
    customer_level = {lab.customer_id: lab for lab in bank.population.labels}
    for rows in groups(bank, "high_risk_exposure").values():
        (hub,) = [r for r in rows if r.role == "high_risk_party"]
        transfers = flows(bank, rows)
        if hub.customer_id in customer_level:
            # a typology the standard rates suspicious (not round amounts or night bursts: watch at most)
            assert customer_level[hub.customer_id].typology in {"structuring", "fan_out"}
            assert customer_level[hub.customer_id].end < min(t.ts for t in transfers)  # after it became suspicious
        else:
            assert bank.profiles[hub.customer_id]["listed"]
        for r in rows:
            if r.role == "exposed":
                assert any(hub.account_id in (t.payer, t.payee) and r.account_id in (t.payer, t.payee) for t in transfers)


def test_amounts_are_retail():
    population, stream = generate(300, 50, seed=4)
    members = {lab.account_id for lab in population.network_labels}
    amounts = [float(t["amount"]) for t in stream if t["account_id"] in members and t.get("counterparty_account") in members]
    assert amounts and all(100 <= a < 50_000 for a in amounts)


def test_network_from_day_starts_every_group_on_or_after_it():
    """`generate --network-from-day`: a short bank (the demo's) whose groups come after the
    network rules' 30 days of history; the rest of the bank is what it is without it."""
    population, stream = generate(400, 45, seed=1, network_from_day=31)
    first = min(t["ts"] for t in stream)[:10]
    day_31 = (datetime.fromisoformat(first) + timedelta(days=31)).date().isoformat()
    assert {lab.typology for lab in population.network_labels} == set(NETWORK_TYPOLOGIES)
    assert min(lab.start for lab in population.network_labels)[:10] >= day_31
    plain, _ = generate(400, 45, seed=1)
    assert min(lab.start for lab in plain.network_labels)[:10] < day_31
    assert population.profiles == plain.profiles and population.labels == plain.labels
    for bad in (-1, 45):
        with pytest.raises(ValueError, match="network-from-day"):
            generate(400, 45, seed=1, network_from_day=bad)
