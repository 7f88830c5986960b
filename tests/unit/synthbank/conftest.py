"""One generated bank shared by the network and look-alike tests: 1,500 customers over 50 days
gives two groups of every network typology (one fast, one slow) and every benign structure."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

import pytest

from synthbank import generate
from synthbank.records import Population


def canonical_name(name: str) -> str:
    """What a bank's canonicalisation would do: NFKC (full width -> half width), no spaces, one case."""
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


@dataclass(frozen=True)
class Transfer:
    payer: str  # account
    payee: str
    ts: str
    amount: float


@dataclass
class Bank:
    population: Population
    legs: list[dict]
    profiles: dict[str, dict] = field(default_factory=dict)
    transfers: set[Transfer] = field(default_factory=set)
    unresolved: int = 0

    by_payer: dict[str, list[Transfer]] = field(default_factory=dict)

    def between(self, accounts: set[str], start: str, end: str) -> list[Transfer]:
        """Transfers among `accounts` with start <= ts <= end, in time order."""
        found = (t for a in accounts for t in self.by_payer.get(a, ()) if t.payee in accounts and start <= t.ts <= end)
        return sorted(found, key=lambda t: (t.ts, t.payer, t.payee, t.amount))


def build_bank(population: Population, legs: list[dict]) -> Bank:
    bank = Bank(population, legs, {p["customer_id"]: p for p in population.profiles})
    by_name: dict[str, set[str]] = defaultdict(set)
    for leg in legs:
        if "counterparty_account" in leg and "counterparty_name" in leg:
            by_name[canonical_name(leg["counterparty_name"])].add(leg["counterparty_account"])
    for lab in population.network_labels:  # an outside member seen once, by a name variant only
        if lab.party_name:
            by_name[canonical_name(lab.party_name)].add(lab.account_id)
    for leg in legs:
        if leg["method"] not in ("transfer", "remittance"):
            continue
        other = leg.get("counterparty_account")
        if other is None and "counterparty_name" in leg:  # a name variant: resolved by its canonical name
            accounts = by_name.get(canonical_name(leg["counterparty_name"]), set())
            other = next(iter(accounts)) if len(accounts) == 1 else None
        if other is None:
            bank.unresolved += 1
            continue
        own = leg["account_id"]
        payer, payee = (own, other) if leg["direction"] == "out" else (other, own)
        bank.transfers.add(Transfer(payer, payee, leg["ts"], float(leg["amount"])))
    for t in bank.transfers:
        bank.by_payer.setdefault(t.payer, []).append(t)
    return bank


@pytest.fixture(scope="session")
def bank() -> Bank:
    population, stream = generate(1_500, 50, seed=21)
    return build_bank(population, list(stream))
