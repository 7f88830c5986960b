"""Transaction legs (contract v1.1 dicts) -> ISO 20022 messages, so a generated (or any) JSON stream
can be replayed or produced as the payment messages a bank has: the inverse of `mapping`.

- transfers and remittances (tx_type payment) -> pacs.008. Two legs of one transfer between two
  customers of the bank (same ts, amount, currency and method, each the other's counterparty_id)
  become one CdtTrfTxInf with both sides; any other leg a CdtTrfTxInf whose other side is the
  outside party.
- every other leg (cash, card, cheque, other; fees, interest, reversals, returns, corrections)
  -> a camt.054 entry of the customer's account, with the bank transaction code `codes.code_for`
  picks.
- What ISO 20022 has no element for (the leg's own tx_id in a pacs.008, a channel or method the
  code does not imply, original_tx_id) goes into the amlstream supplementary-data envelope, which
  the mapping reads back: mapping(render(legs)) gives the legs again (docs/events.md lists the
  fields a leg may gain).

Messages keep the stream's order (a message holds consecutive legs), so replaying the rendering
applies every customer's legs in the same order as the JSON stream. Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from iso20022.codes import code_for, derive
from iso20022.model import bic_country
from iso20022.parse import NAMESPACE_PREFIX
from iso20022.read import ENVELOPE_NS

BIC = re.compile(r"[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?")
IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{1,30}")
MAX35 = 35
PACS_METHODS = ("transfer", "remittance")


class RenderError(ValueError):
    """A leg that ISO 20022 cannot carry (an id longer than the message allows, a contradiction)."""


@dataclass(frozen=True, slots=True)
class RenderOptions:
    bank_bic: str = "AMLSCNSHXXX"  # fictitious: bank AMLS, China, Shanghai
    pacs008: str = "pacs.008.001.08"  # the version CBPR+ uses
    camt054: str = "camt.054.001.08"
    per_message: int = 50  # transactions (pacs.008) or entries (camt.054) per message

    def __post_init__(self) -> None:
        if not BIC.fullmatch(self.bank_bic):
            raise RenderError(f"bank BIC {self.bank_bic!r} is not a BIC")
        if self.per_message < 1:
            raise RenderError("per_message must be >= 1")


@dataclass(frozen=True, slots=True)
class Rendered:
    kind: str  # pacs.008 | camt.054
    name: str  # MsgId
    xml: bytes
    legs: int


def _amount_text(value: Any) -> str:
    text = str(value) if not isinstance(value, float) else repr(value)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise RenderError(f"amount {text[:40]!r} is not a decimal number") from None
    if not amount.is_finite() or amount <= 0:
        raise RenderError(f"amount {text[:40]!r} must be > 0")
    plain = format(amount, "f")
    if "." in plain and len(plain.split(".")[1]) > 5:
        raise RenderError(f"amount {text} has more than 5 decimals (ISO 20022 ActiveCurrencyAndAmount)")
    return text if re.fullmatch(r"\d+(\.\d+)?", text) else plain


def _max35(value: str, what: str) -> str:
    if len(value) > MAX35:
        raise RenderError(f"{what} {value[:40]!r}... is longer than 35 characters (ISO 20022 Max35Text)")
    return value


def _account_id(leg: dict[str, Any]) -> str:
    """The customer's account; a leg without account_id uses its customer_id (the directory the
    converter writes says so too)."""
    return leg.get("account_id") or leg["customer_id"]


class _Builder:
    def __init__(self, message_id: str) -> None:
        self.ns = NAMESPACE_PREFIX + message_id
        self.root = etree.Element(f"{{{self.ns}}}Document", nsmap={None: self.ns})

    def sub(self, parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{self.ns}}}{tag}", attrib)
        if text is not None:
            element.text = text
        return element

    def path(self, parent: etree._Element, path: str, text: str) -> etree._Element:
        *heads, last = path.split("/")
        for head in heads:
            parent = self.sub(parent, head)
        return self.sub(parent, last, text)

    def account(self, parent: etree._Element, tag: str, account: str) -> None:
        element = self.sub(parent, tag)
        if IBAN.fullmatch(account):
            self.path(element, "Id/IBAN", account)
        else:
            self.path(element, "Id/Othr/Id", account if len(account) <= 34 else _too_long(account))

    def party(self, parent: etree._Element, tag: str, name: str | None, country: str | None, identifier: str | None, *, always: bool = True) -> None:
        if not always and not (name or country or identifier):
            return
        element = self.sub(parent, tag)
        if name:
            self.sub(element, "Nm", name[:140])
        if country:
            self.path(element, "PstlAdr/Ctry", country)
        if identifier:
            self.path(element, "Id/OrgId/Othr/Id", _max35(identifier, "counterparty_id"))

    def agent(self, parent: etree._Element, tag: str, bic: str | None, name: str | None = None, country: str | None = None) -> None:
        fin = self.sub(self.sub(parent, tag), "FinInstnId")
        if bic:
            self.sub(fin, "BICFI", bic)
            return
        if name:
            self.sub(fin, "Nm", name[:140])
        if country:
            self.path(fin, "PstlAdr/Ctry", country)

    def envelope(self, parent: etree._Element, legs: list[dict[str, str]]) -> None:
        if not legs:
            return
        supplementary = self.sub(parent, "SplmtryData")
        holder = etree.SubElement(self.sub(supplementary, "Envlp"), f"{{{ENVELOPE_NS}}}Legs", nsmap={None: ENVELOPE_NS})
        for attributes in legs:
            etree.SubElement(holder, f"{{{ENVELOPE_NS}}}Leg", attributes)

    def bytes(self) -> bytes:
        return etree.tostring(self.root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _too_long(account: str) -> str:
    raise RenderError(f"account id {account[:40]!r}... is longer than 34 characters (ISO 20022 Max34Text)")


def _uetr(*parts: str) -> str:
    return str(uuid.UUID(bytes=hashlib.sha256("\x1f".join(parts).encode()).digest()[:16], version=4))


def _external_agent(b: _Builder, parent: etree._Element, tag: str, leg: dict[str, Any], own_country: str) -> None:
    """The outside party's bank: its BIC when counterparty_bank is one, else its name; its country
    says whether the transfer is cross-border (ZZ, 'unknown', when the leg names no other country)."""
    bank, cross_border, country = leg.get("counterparty_bank"), bool(leg.get("cross_border")), leg.get("counterparty_country")
    if bank and BIC.fullmatch(bank):
        if (bic_country(bank) != own_country) != cross_border:
            raise RenderError(f"leg {leg['tx_id']}: cross_border={cross_border} contradicts the counterparty bank's BIC {bank}")
        b.agent(parent, tag, bank)
        return
    agent_country = (country if country and country != own_country else "ZZ") if cross_border else own_country
    b.agent(parent, tag, None, bank, agent_country)


def _pair_key(leg: dict[str, Any], out_customer: str, in_customer: str) -> tuple:
    return (str(leg["amount"]), leg["currency"], leg["method"], out_customer, in_customer)


def _is_pacs(leg: dict[str, Any]) -> bool:
    return leg["method"] in PACS_METHODS and leg.get("tx_type", "payment") == "payment"


def _units(legs: Iterable[dict[str, Any]]) -> Iterator[tuple[str, list[dict[str, Any] | None]]]:
    """(kind, legs) in stream order: ("pacs.008", [out, in]) with None for an outside side, or ("camt.054", [leg]).
    Pairs are looked for among consecutive legs with the same ts."""
    group: list[dict[str, Any]] = []
    for leg in legs:
        if group and leg["ts"] != group[0]["ts"]:
            yield from _group_units(group)
            group = []
        group.append(leg)
    if group:
        yield from _group_units(group)


def _group_units(group: list[dict[str, Any]]) -> Iterator[tuple[str, list[dict[str, Any] | None]]]:
    partner: dict[int, int] = {}
    waiting: dict[tuple, list[int]] = {}
    for i, leg in enumerate(group):
        if not _is_pacs(leg) or leg.get("cross_border") or not leg.get("counterparty_id"):
            continue
        out_c, in_c = (leg["customer_id"], leg["counterparty_id"]) if leg["direction"] == "out" else (leg["counterparty_id"], leg["customer_id"])
        key = _pair_key(leg, out_c, in_c)
        other = "in" if leg["direction"] == "out" else "out"
        mine, theirs = (*key, leg["direction"]), (*key, other)
        if waiting.get(theirs):
            j = waiting[theirs].pop(0)
            partner[i], partner[j] = j, i
        else:
            waiting.setdefault(mine, []).append(i)
    for i, leg in enumerate(group):
        j = partner.get(i)
        if j is not None and j < i:
            continue  # emitted with its partner
        if not _is_pacs(leg):
            yield "camt.054", [leg]
        elif j is not None:
            other = group[j]
            yield "pacs.008", [leg, other] if leg["direction"] == "out" else [other, leg]
        else:
            yield "pacs.008", [leg, None] if leg["direction"] == "out" else [None, leg]


def render(legs: Iterable[dict[str, Any]], options: RenderOptions | None = None) -> Iterator[Rendered]:
    """Messages for the legs, in stream order; consecutive units of one kind share a message."""
    options = options or RenderOptions()
    batch: list[list[dict[str, Any] | None]] = []
    kind = ""
    sequence = 0
    for unit_kind, unit in _units(legs):
        if batch and (unit_kind != kind or len(batch) >= options.per_message):
            sequence += 1
            yield _message(kind, batch, sequence, options)
            batch = []
        kind = unit_kind
        batch.append(unit)
    if batch:
        sequence += 1
        yield _message(kind, batch, sequence, options)


def _message(kind: str, units: list[list[dict[str, Any] | None]], sequence: int, options: RenderOptions) -> Rendered:
    msg_id = f"AMLS{kind[:4].upper()}{sequence:09d}"
    if kind == "pacs.008":
        return Rendered(kind, msg_id, _pacs008(units, msg_id, options), sum(1 for u in units for leg in u if leg))
    return Rendered(kind, msg_id, _camt054([u[0] for u in units if u[0]], msg_id, options), len(units))


def _pacs008(units: list[list[dict[str, Any] | None]], msg_id: str, options: RenderOptions) -> bytes:
    b = _Builder(options.pacs008)
    body = b.sub(b.root, "FIToFICstmrCdtTrf")
    header = b.sub(body, "GrpHdr")
    b.sub(header, "MsgId", msg_id)
    first = next(leg for leg in units[0] if leg)
    b.sub(header, "CreDtTm", first["ts"])
    b.sub(header, "NbOfTxs", str(len(units)))
    b.path(header, "SttlmInf/SttlmMtd", "CLRG")
    own_country = bic_country(options.bank_bic) or ""
    for debit, credit in units:
        legs = [leg for leg in (debit, credit) if leg]
        lead = legs[0]
        ids = [leg["tx_id"] for leg in legs]
        tx = b.sub(body, "CdtTrfTxInf")
        payment_id = b.sub(tx, "PmtId")
        reference = lead["tx_id"] if len(lead["tx_id"]) <= MAX35 else "NOTPROVIDED"
        b.sub(payment_id, "EndToEndId", reference)
        b.sub(payment_id, "TxId", reference)
        b.sub(payment_id, "UETR", _uetr(*ids))
        b.sub(tx, "IntrBkSttlmAmt", _amount_text(lead["amount"]), Ccy=lead["currency"])
        b.sub(tx, "IntrBkSttlmDt", lead["ts"][:10])
        times = b.sub(tx, "SttlmTmIndctn")
        if debit:
            b.sub(times, "DbtDtTm", debit["ts"])
        if credit:
            b.sub(times, "CdtDtTm", credit["ts"])
        b.sub(tx, "ChrgBr", "SHAR")
        # the debtor side, then the creditor side: a customer's side is its account at the bank;
        # an outside side is what the customer's leg says about its counterparty
        if debit:
            b.party(tx, "Dbtr", credit.get("counterparty_name") if credit else None, credit.get("counterparty_country") if credit else None, None)
            b.account(tx, "DbtrAcct", _account_id(debit))
            b.agent(tx, "DbtrAgt", options.bank_bic)
        else:
            assert credit is not None
            b.party(tx, "Dbtr", credit.get("counterparty_name"), credit.get("counterparty_country"), credit.get("counterparty_id"))
            if credit.get("counterparty_account"):
                b.account(tx, "DbtrAcct", credit["counterparty_account"])
            _external_agent(b, tx, "DbtrAgt", credit, own_country)
        if credit:
            b.agent(tx, "CdtrAgt", options.bank_bic)
            b.party(tx, "Cdtr", debit.get("counterparty_name") if debit else None, debit.get("counterparty_country") if debit else None, None)
            b.account(tx, "CdtrAcct", _account_id(credit))
        else:
            assert debit is not None
            _external_agent(b, tx, "CdtrAgt", debit, own_country)
            b.party(tx, "Cdtr", debit.get("counterparty_name"), debit.get("counterparty_country"), debit.get("counterparty_id"))
            if debit.get("counterparty_account"):
                b.account(tx, "CdtrAcct", debit["counterparty_account"])
        hints = []
        for side, leg in (("DBIT", debit), ("CRDT", credit)):
            if leg is None:
                continue
            hint = {"side": side, "ref": leg["tx_id"]}
            if leg.get("channel", "other") != "other":
                hint["channel"] = leg["channel"]
            if leg["method"] != ("remittance" if leg.get("cross_border") else "transfer"):
                hint["method"] = leg["method"]
            hints.append(hint)
        b.envelope(tx, hints)
    return b.bytes()


def _camt054(legs: list[dict[str, Any]], msg_id: str, options: RenderOptions) -> bytes:
    b = _Builder(options.camt054)
    body = b.sub(b.root, "BkToCstmrDbtCdtNtfctn")
    header = b.sub(body, "GrpHdr")
    b.sub(header, "MsgId", msg_id)
    b.sub(header, "CreDtTm", legs[0]["ts"])
    own_country = bic_country(options.bank_bic) or ""
    notification = None
    current_account = None
    for n, leg in enumerate(legs, start=1):
        account = _account_id(leg)
        if notification is None or account != current_account:
            notification = b.sub(body, "Ntfctn")
            b.sub(notification, "Id", f"{msg_id}-{n}")
            acct = b.sub(notification, "Acct")
            if IBAN.fullmatch(account):
                b.path(acct, "Id/IBAN", account)
            else:
                b.path(acct, "Id/Othr/Id", account if len(account) <= 34 else _too_long(account))
            b.agent(acct, "Svcr", options.bank_bic)
            current_account = account
        incoming = leg["direction"] == "in"
        cross_border = bool(leg.get("cross_border"))
        tx_type = leg.get("tx_type") or "payment"
        btc, reversal = code_for(leg["method"], leg.get("channel") or "other", tx_type, leg["direction"], cross_border)
        derived = derive(btc, reversal, cross_border)
        amount = _amount_text(leg["amount"])
        entry = b.sub(notification, "Ntry")
        b.sub(entry, "Amt", amount, Ccy=leg["currency"])
        b.sub(entry, "CdtDbtInd", "CRDT" if incoming else "DBIT")
        if reversal:
            b.sub(entry, "RvslInd", "true")
        b.path(entry, "Sts/Cd", "BOOK")
        b.path(entry, "BookgDt/DtTm", leg["ts"])
        domain = b.sub(b.sub(entry, "BkTxCd"), "Domn")
        b.sub(domain, "Cd", btc.domain or "PMNT")
        family = b.sub(domain, "Fmly")
        b.sub(family, "Cd", btc.family or "OTHR")
        b.sub(family, "SubFmlyCd", btc.subfamily or "OTHR")
        details = b.sub(b.sub(entry, "NtryDtls"), "TxDtls")
        hint: dict[str, str] = {}
        if len(leg["tx_id"]) <= MAX35:
            b.path(details, "Refs/AcctSvcrRef", leg["tx_id"])
        else:
            hint["ref"] = leg["tx_id"]
        b.sub(details, "Amt", amount, Ccy=leg["currency"])
        b.sub(details, "CdtDbtInd", "CRDT" if incoming else "DBIT")
        other = "Dbtr" if incoming else "Cdtr"
        name, country, identifier, cp_account = leg.get("counterparty_name"), leg.get("counterparty_country"), leg.get("counterparty_id"), leg.get("counterparty_account")
        if name or country or identifier or cp_account:
            parties = b.sub(details, "RltdPties")
            if name or country or identifier:
                b.party(b.sub(parties, other), "Pty", name, country, identifier)
            if cp_account:
                b.account(parties, f"{other}Acct", cp_account)
        if cross_border or leg.get("counterparty_bank"):
            _external_agent(b, b.sub(details, "RltdAgts"), f"{other}Agt", leg, own_country)
        if (leg.get("channel") or "other") != derived.channel:
            hint["channel"] = leg.get("channel") or "other"
        if leg["method"] != derived.method:
            hint["method"] = leg["method"]
        if leg.get("original_tx_id"):
            hint["orig"] = leg["original_tx_id"]
        if derived.tx_type != tx_type:
            raise RenderError(f"leg {leg['tx_id']}: tx_type {tx_type!r} has no bank transaction code")
        b.envelope(details, [hint] if hint else [])
    return b.bytes()
