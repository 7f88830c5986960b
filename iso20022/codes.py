"""ISO 20022 Bank Transaction Codes (Domain / Family / Sub-family, the external code sets of the
ISO 20022 RA) -> the leg's method, channel and tx_type, and back for rendering.

Source: ISO 20022 Bank Transaction Codes - External Code Sets (BTC code list). Only the codes
that decide a contract value are listed; anything else is method `other`, channel `other`,
tx_type `payment`.
"""

from __future__ import annotations

from dataclasses import dataclass

from iso20022.model import BankTransactionCode

CASH_COUNTER = frozenset({"CDPT", "CWDL", "BCDP", "BCWD", "FCDP", "FCWD", "MIXD", "TCDP", "TCWD", "MSCD"})  # family CNTR (counter transactions)
CASH_CARD = frozenset({"CDPT", "CWDL", "XBCW"})  # family CCRD: ATM deposit / withdrawal, cross-border withdrawal
CARD_POS = frozenset({"POSD", "POSC", "SMRT", "XBCP", "POSP"})  # point-of-sale payments (debit, credit, smart card, cross-border)
FEE = frozenset({"FEES", "CHRG", "COMM", "COMI"})  # generic sub-families: fees, charges, commission
INTEREST = frozenset({"INTR"})
RETURN = frozenset({"RRTN"})  # reversal due to a payment return
CORRECTION = frozenset({"ADJT", "CAJT", "DAJT"})  # adjustments, credit / debit adjustment
REVERSAL = frozenset({"RPCR", "RCDD", "UPDD"})  # reversal due to a cancellation request; reversals of direct debits


@dataclass(frozen=True, slots=True)
class Derived:
    method: str
    channel: str
    tx_type: str


def derive(btc: BankTransactionCode, reversal: bool, cross_border: bool) -> Derived:
    """What a bank transaction code says about a leg. `reversal` is the entry's RvslInd."""
    family, sub = btc.family or "", btc.subfamily or ""
    if btc.domain is None:
        method, channel = "other", "other"
    elif family == "CNTR" and sub in CASH_COUNTER:
        method, channel = "cash", "counter"
    elif family == "CCRD" and sub in CASH_CARD:
        method, channel = "cash", "atm"
    elif family in ("CCRD", "MCRD"):
        method, channel = "card", "pos" if sub in CARD_POS else "other"
    elif family in ("ICHQ", "RCHQ"):
        method, channel = "cheque", "other"
    elif family in ("ICDT", "RCDT"):
        method, channel = ("remittance" if cross_border or sub == "XBCT" else "transfer"), "other"
    else:
        method, channel = "other", "other"
    if reversal or sub in REVERSAL:
        tx_type = "reversal"
    elif sub in RETURN:
        tx_type = "return"
    elif sub in CORRECTION:
        tx_type = "correction"
    elif sub in FEE:
        tx_type = "fee"
    elif sub in INTEREST:
        tx_type = "interest"
    else:
        tx_type = "payment"
    return Derived(method, channel, tx_type)


def code_for(method: str, channel: str, tx_type: str, direction: str, cross_border: bool) -> tuple[BankTransactionCode, bool]:
    """The bank transaction code (and RvslInd) a renderer writes for a leg; `derive` of the result
    gives back as much of the leg as the code can carry (the rest goes into the envelope)."""
    incoming = direction == "in"
    if tx_type == "fee":
        return BankTransactionCode("ACMT", "MCOP" if incoming else "MDOP", "FEES"), False
    if tx_type == "interest":
        return BankTransactionCode("ACMT", "MCOP" if incoming else "MDOP", "INTR"), False
    if tx_type == "return":
        return BankTransactionCode("PMNT", "RCDT" if incoming else "ICDT", "RRTN"), False
    if tx_type == "correction":
        return BankTransactionCode("PMNT", "MCOP" if incoming else "MDOP", "ADJT"), False
    reversal = tx_type == "reversal"
    if method == "cash":
        if channel == "atm":
            return BankTransactionCode("PMNT", "CCRD", "CDPT" if incoming else "CWDL"), reversal
        return BankTransactionCode("PMNT", "CNTR", "CDPT" if incoming else "CWDL"), reversal
    if method == "card":
        return BankTransactionCode("PMNT", "CCRD", "XBCP" if cross_border else "POSD"), reversal
    if method == "cheque":
        return BankTransactionCode("PMNT", "RCHQ" if incoming else "ICHQ", "CCHQ"), reversal
    if method in ("transfer", "remittance"):
        return BankTransactionCode("PMNT", "RCDT" if incoming else "ICDT", "XBCT" if cross_border else "DMCT"), reversal
    return BankTransactionCode("PMNT", "MCOP" if incoming else "MDOP", "OTHR"), reversal
