"""Plain records read from a message (version-independent): what the mapping needs, nothing more.

Times and amounts are kept as the message wrote them (lexical forms); the mapping interprets them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# An agent's country code may make a transfer cross-border whatever it is; only an assigned
# ISO 3166-1 code (or XK) becomes a counterparty_country (iso20022.mapping._counterparty_country).


def bic_country(bic: str | None) -> str | None:
    """Letters 5-6 of a BIC are its ISO 3166 country (ISO 9362)."""
    return bic[4:6] if bic and len(bic) >= 6 else None


@dataclass(frozen=True, slots=True)
class Agent:
    """A financial institution (DbtrAgt, CdtrAgt, Acct/Svcr, RltdAgts/*)."""

    bic: str | None = None
    member_id: str | None = None  # ClrSysMmbId/MmbId, e.g. a CNAPS bank code
    clearing_system: str | None = None  # ClrSysMmbId/ClrSysId/Cd (e.g. CNAPS) or Prtry
    name: str | None = None
    address_country: str | None = None  # FinInstnId/PstlAdr/Ctry

    @property
    def country(self) -> str | None:
        """BIC letters 5-6, else the agent's address country, else the country of its clearing
        system (the external code list names each system with its country first: CNAPS, USABA, GBDSC)."""
        if self.bic:
            return bic_country(self.bic)
        if self.address_country:
            return self.address_country
        code = self.clearing_system
        return code[:2] if code and len(code) == 5 and code.isalpha() and code.isupper() else None

    @property
    def label(self) -> str | None:
        """What the leg's counterparty_bank says: the BIC, else the name, else the clearing member id."""
        if self.bic:
            return self.bic
        if self.name:
            return self.name
        if self.member_id:
            return f"{self.clearing_system} {self.member_id}" if self.clearing_system else self.member_id
        return None


@dataclass(frozen=True, slots=True)
class Party:
    name: str | None = None
    identifier: str | None = None  # OrgId/AnyBIC, OrgId/LEI, OrgId/Othr/Id or PrvtId/Othr/Id (the first present)
    country: str | None = None  # PstlAdr/Ctry, else CtryOfRes


@dataclass(frozen=True, slots=True)
class LegHint:
    """Values the bank's payment hub knows but ISO 20022 has no element for, carried in the
    amlstream supplementary-data envelope (docs/events.md). Each one overrides the derived value."""

    side: str | None = None  # DBIT | CRDT (pacs.008: which leg the hint is for)
    ref: str | None = None  # the leg's tx_id
    channel: str | None = None
    method: str | None = None
    original_ref: str | None = None  # original_tx_id
    xpath: str = ""


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a credit transfer: the party, its account and its agent."""

    party: Party
    account: str | None
    agent: Agent
    xpath: str  # of the party element (Dbtr / Cdtr)


@dataclass(frozen=True, slots=True)
class CreditTransfer:
    """One CdtTrfTxInf of a pacs.008."""

    xpath: str
    position: int  # 1-based among the message's transactions
    end_to_end_id: str
    tx_id: str | None
    uetr: str | None
    amount: str
    currency: str
    amount_xpath: str
    settlement_date: str | None  # IntrBkSttlmDt of the transaction, else of the group header
    debit_time: str | None  # SttlmTmIndctn/DbtDtTm
    credit_time: str | None  # SttlmTmIndctn/CdtDtTm
    acceptance_time: str | None  # AccptncDtTm (AddtlDtTm/AccptncDtTm from .13)
    debtor: Side
    creditor: Side
    instructing_agent: Agent | None
    hints: tuple[LegHint, ...] = ()


@dataclass(frozen=True, slots=True)
class Declared:
    """A count or sum a header declares and what the message holds: pacs.008 GrpHdr/NbOfTxs (the
    number of CdtTrfTxInf) and GrpHdr/CtrlSum (the sum of their IntrBkSttlmAmt), camt.054
    Ntfctn/TxsSummry/TtlNtries/NbOfNtries (the number of Ntry). They must agree: a message that
    says it holds 7 transactions and holds 1 was cut or built wrong."""

    xpath: str
    what: str  # "transactions", "the sum of the settlement amounts", "entries"
    declared: str
    actual: str


@dataclass(frozen=True, slots=True)
class Pacs008:
    message_id: str  # pacs.008.001.NN
    msg_id: str  # GrpHdr/MsgId
    created: str  # GrpHdr/CreDtTm
    created_xpath: str
    transactions: tuple[CreditTransfer, ...]
    declared: tuple[Declared, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class BankTransactionCode:
    domain: str | None = None
    family: str | None = None
    subfamily: str | None = None
    proprietary: str | None = None


@dataclass(frozen=True, slots=True)
class EntryLeg:
    """One booked movement of a camt.054: a TxDtls, or an Ntry without details."""

    xpath: str
    account: str  # Ntfctn/Acct/Id (IBAN or Othr/Id)
    servicer: Agent | None  # Ntfctn/Acct/Svcr
    notification_id: str
    entry_position: int
    detail_position: int  # 1-based among the entry's TxDtls; 0 for an entry without details
    detail_count: int
    entry_ref: str | None  # Ntry/NtryRef
    entry_servicer_ref: str | None  # Ntry/AcctSvcrRef
    servicer_ref: str | None  # TxDtls/Refs/AcctSvcrRef
    uetr: str | None
    amount: str
    currency: str
    amount_xpath: str
    credit: bool
    reversal: bool
    status: str | None  # Sts/Cd (BOOK, PDNG, INFO, FUTR) or Sts/Prtry
    times: tuple[tuple[str, str], ...]  # (what, lexical) in order of preference
    btc: BankTransactionCode
    counterparty: Party | None
    counterparty_account: str | None
    counterparty_agent: Agent | None
    hints: tuple[LegHint, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Camt054:
    message_id: str
    msg_id: str
    created: str
    legs: tuple[EntryLeg, ...]
    declared: tuple[Declared, ...] = field(default=())
