"""The synthetic bank generator: deterministic, valid against the decoder, ordered, both legs of
internal transfers, labels that name real customers and pattern ids, realistic proportions."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from itertools import islice, pairwise

import orjson
import pytest

from factors.patterns import PATTERNS
from streams.decode import decode_profile, decode_transaction
from streams.model import load_model
from synthbank import CNY_PER_UNIT, DEFAULT_START, HIGH_RISK_FLOW_COUNTRIES, TYPOLOGIES, generate, write

MAX_BYTES = 1 << 20
CST = timezone(timedelta(hours=8))


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def small():
    population, stream = generate(200, 10, seed=7)
    return population, list(stream)


def test_same_seed_same_output_and_another_seed_differs():
    pop_a, txs_a = generate(120, 8, seed=3)
    pop_b, txs_b = generate(120, 8, seed=3)
    assert pop_a == pop_b
    assert list(txs_a) == list(txs_b)
    pop_c, txs_c = generate(120, 8, seed=4)
    assert pop_c.profiles != pop_a.profiles
    assert list(islice(txs_c, 200)) != list(islice(generate(120, 8, seed=3)[1], 200))


def test_every_profile_and_transaction_decodes(small, model):
    population, txs = small
    assert len(population.profiles) == 200 and len(txs) > 2_000
    for doc in population.profiles:
        profile = decode_profile(doc["customer_id"].encode(), orjson.dumps(doc), MAX_BYTES)
        assert profile.kind in ("individual", "entity")
    for doc in txs:
        tx = decode_transaction(doc["customer_id"].encode(), orjson.dumps(doc), model.standard.fx, MAX_BYTES)
        assert tx.amount_fen > 0


def test_profiles_use_the_standards_codes(small, model):
    population, _ = small
    tables = model.standard.tables
    start = DEFAULT_START
    ids = [p["customer_id"] for p in population.profiles]
    assert ids == sorted(ids) and ids[0] == "C0000001" and len(set(ids)) == len(ids)
    for p in population.profiles:
        assert p.get("industry") is None or p["industry"] in tables["industries"]
        assert p.get("occupation") is None or p["occupation"] in tables["occupations"]
        assert set(p["products"]) <= set(tables["products"]) and len(set(p["products"])) == len(p["products"])
        assert datetime.fromisoformat(p["updated_at"]) == start - timedelta(days=1)
        assert datetime.fromisoformat(p["onboarded_at"]) < start
        if p["kind"] == "individual":
            assert p["declared_annual_income"] >= 0 and "declared_annual_turnover" not in p
        else:
            assert p["declared_annual_turnover"] > 0 and "declared_annual_income" not in p


def test_constants_follow_the_default_standard(model):
    assert {c: Decimal(str(v)) for c, v in CNY_PER_UNIT.items()} == dict(model.standard.fx.cny_per_unit)
    assert frozenset(model.high_risk_countries) == HIGH_RISK_FLOW_COUNTRIES
    assert set(TYPOLOGIES) <= set(PATTERNS)


def test_event_time_order_period_and_unique_ids(small):
    _, txs = small
    stamps = [t["ts"] for t in txs]
    assert all(s.endswith("+08:00") for s in stamps)
    assert stamps == sorted(stamps)  # one offset and one format: string order is time order
    first, last = datetime.fromisoformat(stamps[0]), datetime.fromisoformat(stamps[-1])
    assert first >= DEFAULT_START and last < DEFAULT_START + timedelta(days=10)
    ids = [t["tx_id"] for t in txs]
    assert len(set(ids)) == len(ids) and ids[0] == "T000000001"


def test_both_legs_of_internal_transfers(small):
    population, txs = small
    customers = {p["customer_id"] for p in population.profiles}
    legs = Counter((t["customer_id"], t["counterparty_id"], t["ts"], t["amount"], t["direction"]) for t in txs if t.get("counterparty_id") in customers)
    assert len(legs) > 20
    mirror = {"in": "out", "out": "in"}
    for (customer, other, ts, amount, direction), n in legs.items():
        assert legs[(other, customer, ts, amount, mirror[direction])] == n


def test_labels_name_customers_patterns_and_injected_activity(small):
    population, txs = small
    customers = {p["customer_id"] for p in population.profiles}
    assert len(population.labels) == 4
    by_customer: dict[str, list[str]] = {}
    for t in txs:
        by_customer.setdefault(t["customer_id"], []).append(t["ts"])
    for label in population.labels:
        assert label.customer_id in customers and label.typology in PATTERNS
        assert label.start <= label.end
        assert label.start in by_customer[label.customer_id] and label.end in by_customer[label.customer_id]
    assert len({lab.customer_id for lab in population.labels}) == len(population.labels)


def test_about_one_customer_in_fifty_gets_a_typology():
    population, _ = generate(5_000, 30, seed=11)  # the stream is lazy: never generated here
    share = len(population.labels) / 5_000
    assert 0.015 <= share <= 0.025
    assert len({lab.customer_id for lab in population.labels}) == len(population.labels)
    kinds = {lab.typology for lab in population.labels}
    assert kinds == set(TYPOLOGIES) - {"dormant_reactivation"}  # 30 days: no dormancy possible


def test_population_proportions():
    population, _ = generate(5_000, 1, seed=5)
    profiles = population.profiles
    kinds = Counter(p["kind"] for p in profiles)
    assert 0.83 <= kinds["individual"] / 5_000 <= 0.87
    individuals = [p for p in profiles if p["kind"] == "individual"]
    entities = [p for p in profiles if p["kind"] == "entity"]
    occupations = Counter(p["occupation"] for p in individuals)
    assert {"employee", "student", "retired", "self_employed", "pep_domestic"} <= set(occupations)
    assert all(p["pep"] == p["occupation"].startswith("pep_") for p in individuals)
    assert 0.90 <= sum(p["country"] == "CN" for p in profiles) / 5_000 <= 0.96
    assert any(p["country"] in HIGH_RISK_FLOW_COUNTRIES for p in profiles)
    assert 0 < sum(p["listed"] for p in profiles) <= 30
    industries = Counter(p["industry"] for p in entities)
    assert len(industries) >= 20 and industries.most_common(1)[0][0] in ("manufacturing", "retail", "wholesale")
    assert any(p["ownership_opaque"] for p in entities)


def test_ordinary_activity_is_daytime_domestic_or_low_risk_and_not_round(small):
    population, txs = small
    labelled = {lab.customer_id: lab.typology for lab in population.labels}
    for t in txs:
        if t["customer_id"] in labelled:
            continue
        assert 7 <= int(t["ts"][11:13]) <= 22, t
        assert t.get("counterparty_country") not in HIGH_RISK_FLOW_COUNTRIES
        assert t.get("cross_border", False) == ("counterparty_country" in t)
        if t["channel"] != "atm":
            assert Decimal(t["amount"]) % 1000 != 0, t


def test_dormant_reactivation_needs_200_days():
    population, _ = generate(600, 199, seed=2)
    assert "dormant_reactivation" not in {lab.typology for lab in population.labels}
    population, _ = generate(600, 200, seed=2)
    (label,) = [lab for lab in population.labels if lab.typology == "dormant_reactivation"]
    assert datetime.fromisoformat(label.start) - DEFAULT_START >= timedelta(days=190)


def test_dormant_customer_is_silent_for_more_than_180_days():
    population, stream = generate(300, 205, seed=1)
    dormant = {lab.customer_id: lab for lab in population.labels if lab.typology == "dormant_reactivation"}
    assert dormant
    stamps: dict[str, list[datetime]] = {c: [] for c in dormant}
    for t in stream:
        if t["customer_id"] in stamps:
            stamps[t["customer_id"]].append(datetime.fromisoformat(t["ts"]))
    for customer, times in stamps.items():
        gaps = [b - a for a, b in pairwise(times)]
        assert max(gaps) >= timedelta(days=180)
        assert times[-1] == datetime.fromisoformat(dormant[customer].end)


def test_start_is_configurable():
    start = datetime(2027, 1, 4, tzinfo=CST)
    population, stream = generate(30, 2, seed=1, start=start)
    assert all(p["updated_at"] == "2027-01-03T00:00:00+08:00" for p in population.profiles)
    stamps = [t["ts"] for t in stream]
    assert stamps and stamps[0].startswith("2027-01-04T") and stamps[-1][:10] <= "2027-01-05"


def test_write_files_and_counts(tmp_path):
    counts = write(tmp_path, 150, 5, seed=1)
    customers = (tmp_path / "customers.jsonl").read_bytes().splitlines()
    transactions = (tmp_path / "transactions.jsonl").read_bytes().splitlines()
    with open(tmp_path / "labels.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["customer_id", "typology", "start", "end"]
    with open(tmp_path / "network_labels.csv", newline="", encoding="utf-8") as f:
        network_rows = list(csv.reader(f))
    with open(tmp_path / "benign_structures.csv", newline="", encoding="utf-8") as f:
        benign_rows = list(csv.reader(f))
    assert network_rows[0] == ["group_id", "typology", "variant", "role", "account_id", "customer_id", "start", "end", "party_id", "party_name", "party_bank"]
    assert benign_rows[0] == ["structure_id", "kind", "role", "account_id", "customer_id"]
    assert counts == {
        "customers": len(customers),
        "transactions": len(transactions),
        "labels": len(rows) - 1,
        "network_labels": len(network_rows) - 1,
        "network_groups": len({r[0] for r in network_rows[1:]}),
        "benign_structure_rows": len(benign_rows) - 1,
    }
    assert counts["customers"] == 150 and counts["labels"] == 3 and counts["transactions"] > 1_000
    population, stream = generate(150, 5, seed=1)
    assert [orjson.loads(line) for line in customers] == population.profiles
    assert orjson.loads(transactions[-1]) == list(stream)[-1]
    assert [tuple(r) for r in rows[1:]] == [(lab.customer_id, lab.typology, lab.start, lab.end) for lab in population.labels]


def test_every_foreign_currency_amount_decodes_with_its_minor_unit(model):
    """Firms' cross-border remittances (in JPY among others) appear only in a larger bank than `small`."""
    _, txs = generate(800, 20, seed=11)
    foreign = [doc for doc in txs if doc["currency"] != "CNY"]
    assert {"JPY", "USD"} <= {doc["currency"] for doc in foreign}
    for doc in foreign:
        decode_transaction(doc["customer_id"].encode(), orjson.dumps(doc), model.standard.fx, MAX_BYTES)
