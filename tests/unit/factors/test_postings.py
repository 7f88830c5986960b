"""The posting classification shared by the customer and filing stages (factors.postings)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from factors.postings import effective, posting


@dataclass(frozen=True)
class _Posted:
    tx_type: str | None = None
    counterparty_id: str | None = "K-1"
    counterparty_account: str | None = None
    counterparty_bank: str | None = None
    is_cash: bool = False
    cross_border: bool = False
    customer_id: str = "C-1"


@pytest.mark.parametrize(
    ("leg", "own", "expected"),
    [
        (_Posted(), (), "payment"),
        (_Posted("payment", "C-1"), (), "own"),  # to itself by customer id
        (_Posted(counterparty_account="ＡＣ-12 34"), ["ac1234"], "own"),  # by account number, normalised (NFKC, case, punctuation)
        (_Posted(counterparty_account="AC-12 35"), ["ac1234"], "payment"),
        (_Posted(counterparty_account="AC1234", counterparty_bank="this bank"), ["ac1234"], "own"),  # the bank names itself
        (_Posted(counterparty_account="AC1234", counterparty_bank="OTHER BANK"), ["ac1234"], "payment"),  # the same number elsewhere
        (_Posted(counterparty_id="C-1", is_cash=True), (), "payment"),  # cash is never an own-account move
        (_Posted(counterparty_account="AC1234", cross_border=True), ["ac1234"], "payment"),  # nor is a cross-border leg
        (_Posted("fee", "C-1"), (), "bank"),  # the bank's posting wins over an own-account id
        (_Posted("interest", None), (), "bank"),
        (_Posted("reversal", "C-1"), (), "reversal"),  # undoing an own move is still an undoing
        (_Posted("correction", None), (), "correction"),
        (_Posted("return", None), (), "return"),
    ],
)
def test_posting_kind(leg: _Posted, own: list[str], expected: str) -> None:
    assert posting(leg, own, own_bank=["THIS BANK"]) == expected


@dataclass(frozen=True)
class _Leg:
    tx_id: str
    amount: str
    amount_fen: int
    tx_type: str | None = None
    original_tx_id: str | None = None
    currency: str = "CNY"


def test_effective_drops_reversed_legs_and_amends_corrected_ones() -> None:
    legs = [_Leg("A", "10.00", 1000), _Leg("B", "20.00", 2000), _Leg("C", "30.00", 3000)]
    undoings = [_Leg("R", "-10.00", -1000, "reversal", "A"), _Leg("X", "25.50", 2550, "correction", "B"), _Leg("P", "5.00", 500, "payment", "C")]
    assert [(leg.tx_id, leg.amount, leg.amount_fen) for leg in effective(legs, undoings)] == [("B", "25.50", 2550), ("C", "30.00", 3000)]
    assert effective(legs, []) == legs


def test_effective_follows_chains_of_corrections() -> None:
    legs = [_Leg("K", "60000.00", 6000000), _Leg("M", "60000.00", 6000000)]
    undoings = [
        _Leg("K-C1", "6000.00", 600000, "correction", "K"),
        _Leg("K-C2", "60500.00", 6050000, "correction", "K-C1"),  # corrects the correction
        _Leg("M-C1", "70000.00", 7000000, "correction", "M"),
        _Leg("M-R", "70000.00", 7000000, "reversal", "M-C1"),  # reverses the corrected leg
    ]
    assert [(leg.tx_id, leg.amount_fen) for leg in effective(legs, undoings)] == [("K", 6050000)]


def test_effective_carries_the_currency_of_the_correction_as_the_customer_stage_does() -> None:
    legs = [_Leg("U", "10000.00", 7100000, currency="USD")]
    fixed = effective(legs, [_Leg("U-C", "71000.00", 7100000, "correction", "U", "CNY")])
    assert [(leg.tx_id, leg.amount, leg.currency) for leg in fixed] == [("U", "71000.00", "CNY")]
