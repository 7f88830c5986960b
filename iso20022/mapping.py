"""Parsed message + account directory -> the transaction legs (contract v1.1) of the bank's customers.

Pure: no I/O, no clock. A message maps completely or not at all (IsoError: the whole message is
dead-lettered); a side that is not the bank's customer gives no leg and a `Skip` with its reason.
The field-by-field rules are the table in docs/events.md ("ISO 20022 input").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from factors.iso_codes import is_country, minor_unit
from factors.model import CHANNELS, METHODS
from factors.money import minor_unit_problem
from iso20022.codes import derive
from iso20022.errors import INVALID_VALUE, IsoError
from iso20022.model import Agent, Camt054, CreditTransfer, Declared, EntryLeg, LegHint, Pacs008, Party
from iso20022.parse import Message
from iso20022.read import read

SIDES = ("DBIT", "CRDT")  # the debtor's leg (out) and the creditor's leg (in), in ISO's CreditDebitCode words
_PLAIN_DECIMAL = re.compile(r"(0|[1-9]\d*)(\.\d+)?")


class Directory(Protocol):
    def lookup(self, account: str | None) -> str | None: ...


@dataclass(frozen=True, slots=True)
class MappingContext:
    """timezone: the bank's (the standard's), for ISO times and dates without an offset.
    bank_ids: the bank's own BICs (8 or 11 characters; compared on the first 8) and clearing member
    ids; a side counts only if its agent is one of them. Empty: the account alone decides.
    bank_country: the bank's country when a camt.054 does not name the account servicer."""

    timezone: tzinfo
    bank_ids: frozenset[str] = frozenset()
    bank_country: str = "CN"

    def is_bank(self, agent: Agent | None) -> bool:
        if not self.bank_ids or agent is None:
            return True
        return bool((agent.bic and (agent.bic[:8] in self.bank_ids or agent.bic in self.bank_ids)) or (agent.member_id and agent.member_id in self.bank_ids))


@dataclass(frozen=True, slots=True)
class Skip:
    """A side (or camt.054 entry) that gave no leg: `not_customer`, `no_account`, `other_bank`, `not_booked`."""

    xpath: str
    side: str
    reason: str


@dataclass
class MappingResult:
    message_id: str
    legs: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)


def map_message(message: Message | Pacs008 | Camt054, directory: Directory, context: MappingContext) -> MappingResult:
    record = read(message) if isinstance(message, Message) else message
    if isinstance(record, Pacs008):
        return _map_pacs008(record, directory, context)
    return _map_camt054(record, directory, context)


# ---- values --------------------------------------------------------------------------------------


def _amount(text: str, currency: str, xpath: str) -> str:
    """The amount as the leg's decimal string. More decimal places than the currency's ISO 4217
    minor unit (the XSD allows 5 for any currency) are refused, as the customer stage refuses them
    in a JSON leg; a currency ISO 4217 does not know is left to the customer stage's FX table."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise IsoError(INVALID_VALUE, f"amount {text[:40]!r} is not a decimal number", xpath) from None
    if not value.is_finite() or value <= 0:
        raise IsoError(INVALID_VALUE, f"amount must be > 0, got {text[:40]} {currency}", xpath)
    if minor_unit(currency) is not None:
        problem = minor_unit_problem(text.lstrip("+"), currency)
        if problem is not None:
            raise IsoError(INVALID_VALUE, f"amount {problem}", xpath)
    return text if _PLAIN_DECIMAL.fullmatch(text) else str(value)


def _check_declared(declared: tuple[Declared, ...]) -> None:
    """A header's count or control sum must be what the message holds (a cut or badly built message)."""
    for d in declared:
        try:
            agree = Decimal(d.declared) == Decimal(d.actual)
        except InvalidOperation:
            agree = False
        if not agree:
            raise IsoError(INVALID_VALUE, f"declares {d.declared[:40]} {d.what}, the message holds {d.actual}", d.xpath)


def _moment(lexical: str, xpath: str, context: MappingContext) -> datetime:
    try:
        moment = datetime.fromisoformat(lexical)
    except ValueError:
        raise IsoError(INVALID_VALUE, f"time {lexical[:40]!r} cannot be read", xpath) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=context.timezone)


def _timestamp(lexical: str, xpath: str, context: MappingContext) -> str:
    """An ISODateTime as RFC 3339: kept as written when it has an offset, else in the bank's timezone."""
    moment = _moment(lexical, xpath, context)
    return lexical if datetime.fromisoformat(lexical).tzinfo is not None else moment.isoformat()


def _day_start(lexical: str, xpath: str, context: MappingContext) -> datetime:
    try:
        day = date.fromisoformat(lexical[:10])
    except ValueError:
        raise IsoError(INVALID_VALUE, f"date {lexical[:40]!r} cannot be read", xpath) from None
    return datetime(day.year, day.month, day.day, tzinfo=context.timezone)


def _check_hints(hints: tuple[LegHint, ...], sided: bool) -> dict[str | None, LegHint]:
    by_side: dict[str | None, LegHint] = {}
    for hint in hints:
        if sided and hint.side not in SIDES:
            raise IsoError(INVALID_VALUE, f"amlstream envelope: side must be DBIT or CRDT, got {str(hint.side)[:8]!r}", hint.xpath)
        if not sided and hint.side is not None and hint.side not in SIDES:
            raise IsoError(INVALID_VALUE, f"amlstream envelope: side must be DBIT or CRDT, got {hint.side[:8]!r}", hint.xpath)
        for name, value in (("ref", hint.ref), ("orig", hint.original_ref)):
            if value is not None and not (1 <= len(value) <= 128 and value.isprintable() and value == value.strip()):
                raise IsoError(INVALID_VALUE, f"amlstream envelope: {name} must be 1-128 printable characters without surrounding spaces", hint.xpath)
        if hint.channel is not None and hint.channel not in CHANNELS:
            raise IsoError(INVALID_VALUE, f"amlstream envelope: channel {hint.channel[:16]!r} is not one of {', '.join(sorted(CHANNELS))}", hint.xpath)
        if hint.method is not None and hint.method not in METHODS:
            raise IsoError(INVALID_VALUE, f"amlstream envelope: method {hint.method[:16]!r} is not one of {', '.join(sorted(METHODS))}", hint.xpath)
        key = hint.side if sided else None
        if key in by_side:
            raise IsoError(INVALID_VALUE, "amlstream envelope: more than one Leg for the same side", hint.xpath)
        by_side[key] = hint
    return by_side


def _counterparty_country(party: Party | None, agent: Agent | None, cross_border: bool) -> str | None:
    """Only a code the customer stage takes (an assigned ISO 3166-1 code, or XK): a user-assigned
    one (AA, QM-QZ, XA-XZ, ZZ: an unknown country) or an unassigned one (EU, UK) is no country."""
    if party is not None and party.country and is_country(party.country):
        return party.country
    country = agent.country if agent is not None else None
    return country if cross_border and country and is_country(country) else None


def _leg(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


# ---- pacs.008 ------------------------------------------------------------------------------------


def _pacs_base_id(message: Pacs008, tx: CreditTransfer) -> str:
    """The transaction's identity, the same for a redelivered message: UETR, else TxId scoped by the
    debtor agent (TxId is unique per first instructing agent), else MsgId + EndToEndId + position
    (EndToEndId alone is not unique: `NOTPROVIDED` is common)."""
    if tx.uetr:
        return tx.uetr.lower()
    if tx.tx_id:
        agent = tx.debtor.agent.bic or tx.debtor.agent.member_id or (tx.instructing_agent.bic if tx.instructing_agent else None) or "-"
        return f"{agent}/{tx.tx_id}"
    return f"{message.msg_id}/{tx.end_to_end_id}/{tx.position}"


def _map_pacs008(message: Pacs008, directory: Directory, context: MappingContext) -> MappingResult:
    result = MappingResult(message.message_id)
    _check_declared(message.declared)
    created = _moment(message.created, message.created_xpath, context)
    for tx in message.transactions:
        hints = _check_hints(tx.hints, sided=True)
        amount = _amount(tx.amount, tx.currency, tx.amount_xpath)
        debtor_country, creditor_country = tx.debtor.agent.country, tx.creditor.agent.country
        cross_border = bool(debtor_country and creditor_country and debtor_country != creditor_country)
        base = _pacs_base_id(message, tx)
        fallback: str | None = None
        for code, side, other, time, time_name in (
            ("DBIT", tx.debtor, tx.creditor, tx.debit_time, "SttlmTmIndctn/DbtDtTm"),
            ("CRDT", tx.creditor, tx.debtor, tx.credit_time, "SttlmTmIndctn/CdtDtTm"),
        ):
            if side.account is None:
                result.skipped.append(Skip(side.xpath, code, "no_account"))
                continue
            if not context.is_bank(side.agent):
                result.skipped.append(Skip(side.xpath, code, "other_bank"))
                continue
            customer = directory.lookup(side.account)
            if customer is None:
                result.skipped.append(Skip(side.xpath, code, "not_customer"))
                continue
            hint = hints.get(code) or LegHint()
            if time:
                ts = _timestamp(time, f"{tx.xpath}/{time_name}", context)
            elif tx.acceptance_time:
                ts = _timestamp(tx.acceptance_time, f"{tx.xpath}/AccptncDtTm", context)
            else:
                if fallback is None:
                    # GrpHdr/CreDtTm, but never before the settlement date (a forward-dated payment moves no money earlier)
                    start = _day_start(tx.settlement_date, f"{tx.xpath}/IntrBkSttlmDt", context) if tx.settlement_date else None
                    fallback = start.isoformat() if start is not None and created < start else _timestamp(message.created, message.created_xpath, context)
                ts = fallback
            other_customer = directory.lookup(other.account) if other.account and context.is_bank(other.agent) else None
            result.legs.append(
                _leg(
                    tx_id=hint.ref or f"{base}:{code}",
                    customer_id=customer,
                    account_id=side.account,
                    ts=ts,
                    direction="out" if code == "DBIT" else "in",
                    amount=amount,
                    currency=tx.currency,
                    method=hint.method or ("remittance" if cross_border else "transfer"),
                    channel=hint.channel or "other",
                    cross_border=cross_border,
                    tx_type="payment",
                    counterparty_id=other_customer or other.party.identifier,
                    counterparty_name=other.party.name,
                    counterparty_account=other.account,
                    counterparty_bank=other.agent.label,
                    counterparty_country=_counterparty_country(other.party, other.agent, cross_border),
                )
            )
    return result


# ---- camt.054 ------------------------------------------------------------------------------------


def _camt_time(leg: EntryLeg, context: MappingContext) -> str:
    for what, lexical in leg.times:
        xpath = f"{leg.xpath}/{what}"
        if what.endswith("/Dt"):
            return _day_start(lexical, xpath, context).isoformat()
        return _timestamp(lexical, xpath, context)
    raise IsoError(INVALID_VALUE, "no booking, value or creation time", leg.xpath)


def _camt_tx_id(leg: EntryLeg, side: str) -> str:
    """UETR (the same id as the pacs.008 of the same payment, so the two deduplicate), else the
    account servicer's reference of the transaction, else of the entry (+ /n among several
    details), else notification id / entry reference or position / detail position."""
    if leg.uetr:
        return f"{leg.uetr.lower()}:{side}"
    if leg.servicer_ref:
        return leg.servicer_ref
    if leg.entry_servicer_ref:
        return leg.entry_servicer_ref if leg.detail_count <= 1 else f"{leg.entry_servicer_ref}/{leg.detail_position}"
    return f"{leg.notification_id}/{leg.entry_ref or leg.entry_position}/{leg.detail_position}"


def _map_camt054(message: Camt054, directory: Directory, context: MappingContext) -> MappingResult:
    result = MappingResult(message.message_id)
    _check_declared(message.declared)
    for leg in message.legs:
        side = "CRDT" if leg.credit else "DBIT"
        hints = _check_hints(leg.hints, sided=False)
        hint = hints.get(None) or LegHint()
        if hint.side is not None and hint.side != side:
            raise IsoError(INVALID_VALUE, f"amlstream envelope: side {hint.side} contradicts the credit/debit indicator {side}", hint.xpath)
        if (leg.status or "").upper() != "BOOK":
            result.skipped.append(Skip(leg.xpath, side, "not_booked"))
            continue
        if not leg.amount:
            raise IsoError(INVALID_VALUE, "no amount for this transaction (the entry has several TxDtls and this one has no Amt)", leg.xpath)
        amount = _amount(leg.amount, leg.currency, leg.amount_xpath)
        if not context.is_bank(leg.servicer):
            result.skipped.append(Skip(leg.xpath, side, "other_bank"))
            continue
        customer = directory.lookup(leg.account)
        if customer is None:
            result.skipped.append(Skip(leg.xpath, side, "not_customer"))
            continue
        own_country = (leg.servicer.country if leg.servicer else None) or context.bank_country
        other_country = leg.counterparty_agent.country if leg.counterparty_agent else None
        cross_border = (leg.btc.subfamily or "").startswith("XB") or bool(other_country and other_country != own_country)
        derived = derive(leg.btc, leg.reversal, cross_border)
        original = hint.original_ref
        if original is None and derived.tx_type in ("reversal", "return") and leg.uetr:
            original = f"{leg.uetr.lower()}:{'DBIT' if side == 'CRDT' else 'CRDT'}"  # the original leg went the other way
        other_customer = directory.lookup(leg.counterparty_account) if leg.counterparty_account and context.is_bank(leg.counterparty_agent) else None
        party = leg.counterparty
        result.legs.append(
            _leg(
                tx_id=hint.ref or _camt_tx_id(leg, side),
                customer_id=customer,
                account_id=leg.account,
                ts=_camt_time(leg, context),
                direction="in" if leg.credit else "out",
                amount=amount,
                currency=leg.currency,
                method=hint.method or derived.method,
                channel=hint.channel or derived.channel,
                cross_border=cross_border,
                tx_type=derived.tx_type,
                original_tx_id=original,
                counterparty_id=other_customer or (party.identifier if party else None),
                counterparty_name=party.name if party else None,
                counterparty_account=leg.counterparty_account,
                counterparty_bank=leg.counterparty_agent.label if leg.counterparty_agent else None,
                counterparty_country=_counterparty_country(party, leg.counterparty_agent, cross_border),
            )
        )
    return result
