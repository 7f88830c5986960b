"""A synthetic bank: customer profiles, a transaction stream and ground-truth typology labels.

`generate(customers, days, seed)` returns the population (customer-profile.v1 dicts and the
labels of the injected typologies) and a lazy iterator of transaction.v1 dicts in event-time
order; `write` puts them in `customers.jsonl`, `transactions.jsonl` and `labels.csv`. Pure and
deterministic: the same arguments give the same bytes (no wall clock, no I/O but `write`, no
string hashing). Days run from local midnight (Asia/Shanghai, +08:00) of `start`'s date, default
2026-08-01 (a Saturday). All timestamps carry +08:00. Amounts are decimal strings; every ordinary
amount has non-zero cents (so none is a multiple of 1,000, the engine's round-amount flag) except
ATM withdrawals, which are multiples of CNY 100 as ATMs dispense them. Transactions carry
`tx_id` (T000000001, ... in stream order), `customer_id`, `account_id`, `ts`, `direction`,
`amount`, `currency`, `method`, `channel`, usually `counterparty_id`, and for cross-border legs
`cross_border: true` and `counterparty_country` (`cross_border` is omitted when false, its
default). Figures below are shares of all customers unless stated otherwise.

Modules: `population` (profiles and behaviour parameters), `benign` (the ordinary stream),
`typologies` (injected laundering and its labels), `output` (files), `bank` (`generate`).
"""

from synthbank.bank import generate
from synthbank.output import write
from synthbank.records import BenignMember, Label, NetworkLabel, Population, money
from synthbank.tables import CNY_PER_UNIT, DEFAULT_START, HIGH_RISK_FLOW_COUNTRIES
from synthbank.typologies.customer import TYPOLOGIES
from synthbank.typologies.registry import NETWORK_TYPOLOGIES

__all__ = [
    "CNY_PER_UNIT",
    "DEFAULT_START",
    "HIGH_RISK_FLOW_COUNTRIES",
    "NETWORK_TYPOLOGIES",
    "TYPOLOGIES",
    "BenignMember",
    "Label",
    "NetworkLabel",
    "Population",
    "generate",
    "money",
    "write",
]
