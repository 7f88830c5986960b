"""The account directory: deterministic whatever the order profiles arrive in."""

from __future__ import annotations

import itertools

import orjson

from iso20022.directory import AccountDirectory, apply_profile_message


def test_lookup_ignores_spaces_and_case():
    d = AccountDirectory()
    d.apply("C-1", 1, ["6222 0210 0000 1234", "gb33bukb20201555555555"])
    assert d.lookup("6222021000001234") == "C-1"
    assert d.lookup("GB33 BUKB 2020 1555 5555 55") == "C-1"
    assert d.lookup("other") is None and d.lookup(None) is None


def test_a_newer_profile_replaces_the_account_list_and_an_older_one_is_ignored():
    d = AccountDirectory()
    assert d.apply("C-1", 10, ["A", "B"]) == "applied"
    assert d.apply("C-1", 5, ["C"]) == "stale"
    assert (d.lookup("A"), d.lookup("C")) == ("C-1", None)
    assert d.apply("C-1", 20, ["B", "C"]) == "applied"
    assert (d.lookup("A"), d.lookup("B"), d.lookup("C")) == (None, "C-1", "C-1")
    assert len(d) == 2 and d.customers == 1


def test_a_tombstone_removes_the_customers_accounts():
    d = AccountDirectory()
    d.apply("C-1", 10, ["A"])
    assert d.delete("C-1") == "deleted" and d.lookup("A") is None
    assert d.delete("C-1") == "absent"


def test_a_contested_account_belongs_to_the_latest_profile_in_any_arrival_order():
    profiles = [("C-1", 10, ["A"]), ("C-2", 20, ["A"]), ("C-3", 20, ["A", "B"])]
    owners = set()
    for order in itertools.permutations(profiles):
        d = AccountDirectory()
        for profile in order:
            d.apply(*profile)
        owners.add((d.lookup("A"), d.conflicts()))
    assert owners == {("C-2", 1)}  # 20 beats 10; C-2 < C-3 breaks the tie


def test_profile_messages_as_the_customer_stage_reads_them():
    d = AccountDirectory()
    doc = {"customer_id": "C-1", "kind": "individual", "updated_at": "2026-11-01T00:00:00+08:00", "accounts": ["A-1"]}
    assert apply_profile_message(d, b"C-1", orjson.dumps(doc)) == "applied"
    assert d.lookup("A-1") == "C-1"
    assert apply_profile_message(d, b"C-2", orjson.dumps(doc)) == "invalid"  # key mismatch
    assert apply_profile_message(d, b"C-1", orjson.dumps(doc | {"accounts": "A-1"})) == "invalid"
    assert apply_profile_message(d, b"C-1", orjson.dumps(doc | {"updated_at": "yesterday"})) == "invalid"
    assert apply_profile_message(d, b"C-1", b"{not json") == "invalid"
    assert apply_profile_message(d, b"C-1", orjson.dumps(doc | {"updated_at": "2026-10-01T00:00:00Z", "accounts": []})) == "stale"
    assert apply_profile_message(d, b"C-1", None) == "deleted"
    assert d.lookup("A-1") is None
    assert apply_profile_message(d, b"C-1", orjson.dumps(doc | {"accounts": None})) == "applied"  # a v1 profile: no accounts
