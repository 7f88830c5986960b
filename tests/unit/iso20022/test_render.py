"""Rendering legs as messages and mapping them back gives the legs again (the equivalence the
replay test relies on), and every rendered message is schema-valid."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest

from iso20022.directory import AccountDirectory
from iso20022.mapping import MappingContext, map_message
from iso20022.parse import parse_message
from iso20022.render import RenderError, RenderOptions, render

CASES = Path(__file__).parent / "cases"  # copies of the field cases' legs (shared/cases)
DEFAULTS = {"channel": "other", "cross_border": False, "tx_type": "payment"}


def leg(tx_id: str, customer: str, direction: str, amount: str, method: str, **extra) -> dict:
    return {
        "tx_id": tx_id,
        "customer_id": customer,
        "account_id": f"A-{customer}",
        "ts": extra.pop("ts", "2026-11-02T10:00:00+08:00"),
        "direction": direction,
        "amount": amount,
        "currency": extra.pop("currency", "CNY"),
        "method": method,
        **extra,
    }


LEGS = [
    leg("P-OUT", "C-1", "out", "104.85", "transfer", channel="mobile", counterparty_id="C-2"),  # a pair between two customers
    leg("P-IN", "C-2", "in", "104.85", "transfer", channel="online", counterparty_id="C-1"),
    leg("X-1", "C-1", "out", "2500.00", "remittance", currency="USD", cross_border=True, counterparty_id="K-9", counterparty_country="US", counterparty_name="Bob"),
    leg("X-2", "C-2", "in", "800", "remittance", currency="HKD", cross_border=True, counterparty_id="K-8"),  # cross-border, country unknown
    leg("X-3", "C-1", "in", "12.30", "transfer", counterparty_id="K-7", counterparty_country="SG", counterparty_bank="DBSSSGSGXXX", cross_border=True),
    leg("D-1", "C-2", "out", "99.99", "transfer", counterparty_name="Zhou Liu", counterparty_bank="ICBC SH", counterparty_country="VN", counterparty_account="6212"),
    leg("T-" + "9" * 60, "C-1", "in", "1.00", "transfer", counterparty_id="E-1"),  # a tx_id longer than any ISO reference
    leg("K-1", "C-1", "out", "36.92", "card", channel="pos", counterparty_id="M-1"),
    leg("K-2", "C-1", "out", "76.07", "card", channel="online", counterparty_id="M-2"),
    leg("K-3", "C-2", "out", "10.00", "card", channel="mobile", counterparty_id="M-3", cross_border=True, counterparty_country="JP"),
    leg("H-1", "C-1", "in", "30000.00", "cash", channel="counter"),
    leg("H-2", "C-1", "out", "1500.00", "cash", channel="atm"),
    leg("H-3", "C-2", "in", "100.00", "cash", channel="agent"),
    leg("Q-1", "C-2", "out", "5000.00", "cheque", counterparty_name="Landlord"),
    leg("F-1", "C-1", "out", "15.00", "other", tx_type="fee"),
    leg("I-1", "C-1", "in", "1.23", "other", tx_type="interest"),
    leg("H-1-REV", "C-1", "out", "30000.00", "other", channel="counter", tx_type="reversal", original_tx_id="H-1"),
    leg("X-3-RET", "C-1", "out", "12.30", "transfer", tx_type="return", original_tx_id="X-3", counterparty_id="K-7"),
    leg("K-1-COR", "C-1", "in", "0.92", "card", tx_type="correction", original_tx_id="K-1"),
    # no account_id, an integer amount
    {"tx_id": "N-1", "customer_id": "C-3", "ts": "2026-11-02T11:00:00Z", "direction": "in", "amount": 7, "currency": "CNY", "method": "other"},
]


def round_trip(legs: list[dict], options: RenderOptions | None = None) -> tuple[list[dict], list]:
    accounts: dict[str, set[str]] = {}
    for item in legs:
        accounts.setdefault(item["customer_id"], set()).add(item.get("account_id") or item["customer_id"])
    directory = AccountDirectory()
    for customer, ids in accounts.items():
        directory.apply(customer, 0, ids)
    messages = list(render(legs, options))
    out = []
    for message in messages:
        out += map_message(parse_message(message.xml), directory, MappingContext(ZoneInfo("Asia/Shanghai"))).legs
    return out, messages


def expected(item: dict, pair_accounts: dict[str, str] | None = None) -> dict:
    want = DEFAULTS | item
    want["account_id"] = item.get("account_id") or item["customer_id"]
    want["amount"] = str(item["amount"])
    if pair_accounts and item["tx_id"] in pair_accounts:  # a pair's legs learn the other account and the bank's BIC
        want |= {"counterparty_account": pair_accounts[item["tx_id"]], "counterparty_bank": RenderOptions().bank_bic}
    return want


def test_every_kind_of_leg_round_trips():
    out, messages = round_trip(LEGS, RenderOptions(per_message=4))
    assert out == [expected(item, {"P-OUT": "A-C-2", "P-IN": "A-C-1"}) for item in LEGS]
    kinds = [m.kind for m in messages]
    assert kinds[0] == "pacs.008" and "camt.054" in kinds
    pair = parse_message(messages[0].xml).root
    assert len(pair.findall(".//{*}CdtTrfTxInf")) == 4  # the pair is one transaction; 4 per message


@pytest.mark.parametrize(("pacs", "camt"), [("pacs.008.001.08", "camt.054.001.08"), ("pacs.008.001.13", "camt.054.001.14")])
def test_rendered_messages_validate_in_the_chosen_versions(pacs, camt):
    out, messages = round_trip(LEGS, RenderOptions(pacs008=pacs, camt054=camt))
    assert {parse_message(m.xml).message_id for m in messages} == {pacs, camt}
    assert [o["tx_id"] for o in out] == [item["tx_id"] for item in LEGS]


@pytest.mark.parametrize("case", ["reversal-and-return", "own-account-transfers", "counterparty-name-variants"])
def test_the_field_cases_round_trip(case):
    path = CASES / f"{case}.jsonl"
    legs = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    out, _ = round_trip(legs)
    pairs = {}
    if case == "own-account-transfers":  # S-1/S-2 and S-3/S-4 are pairs: each learns the other account
        pairs = {"S-1": "A-TIMEDEP", "S-2": "A-CURRENT", "S-3": "A-CURRENT", "S-4": "A-TIMEDEP"}
    want = [expected(item, pairs) for item in legs]
    if case == "own-account-transfers":
        for w in want:
            w["counterparty_bank"] = RenderOptions().bank_bic  # "THIS BANK" becomes the bank's BIC
    assert out == want


def test_what_iso_20022_cannot_carry_is_refused_with_a_reason():
    with pytest.raises(RenderError, match="34 characters"):
        list(render([leg("L-1", "C-1", "out", "1", "cash") | {"account_id": "A" * 40}]))
    with pytest.raises(RenderError, match="contradicts"):
        list(render([leg("L-2", "C-1", "out", "1", "transfer", counterparty_bank="CHASUS33XXX", cross_border=False)]))
    with pytest.raises(RenderError, match="5 decimals"):
        list(render([leg("L-3", "C-1", "out", "0.000001", "cash")]))
    with pytest.raises(RenderError, match="not a BIC"):
        RenderOptions(bank_bic="not a bic")
