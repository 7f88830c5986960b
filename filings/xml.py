"""Build the report files' XML (lxml): HVTR for a large-value report, BSTR for a suspicious one.

Pure builders: plain inputs in, bytes out; no clock (times are event times in the bank's
timezone), so the same inputs always give the same bytes. Amounts: original amount (CRAT), its
CNY equivalent (CRMB) and USD equivalent (CUSD) from the scoring standard's FX table, with three
decimals, rounded half-even. "@N" where a field does not apply or is not known.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from lxml import etree

from factors.money import FxTable
from filings.config import FilingConfig
from filings.identity import Identity, PersonId
from filings.model import Leg

NA = "@N"
MILLI = Decimal("0.001")


def amount3(value: Decimal) -> str:
    return format(value.quantize(MILLI, rounding=ROUND_HALF_EVEN), "f")


def cny_of(leg: Leg) -> Decimal:
    return Decimal(leg.amount_fen) / 100


def usd_of(leg: Leg, fx: FxTable) -> Decimal:
    if leg.currency == "USD":
        return Decimal(leg.amount)
    return cny_of(leg) / fx.cny_per_unit["USD"]


def tstm(ts_ms: int, timezone: str) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).astimezone(ZoneInfo(timezone)).strftime("%Y%m%d%H%M%S")


def _el(parent: etree._Element, tag: str, text: str | int | None = None, **attrs: str) -> etree._Element:
    node = etree.SubElement(parent, tag, **attrs)
    if text is not None:
        node.text = str(text) if str(text) != "" else NA
    return node


def _list(parent: etree._Element, container: str, item: str, values: Iterable[str]) -> None:
    box = _el(parent, container)
    values = list(values) or [NA]
    for i, v in enumerate(values, 1):
        _el(box, item, v, seqno=str(i))


def _or_na(value: str | None) -> str:
    return value if value else NA


@dataclass(frozen=True, slots=True)
class Customer:
    """What a file says about the customer: the profile's kind and codes plus its identity."""

    customer_id: str
    kind: str  # individual | entity
    identity: Identity
    country: str | None = None  # profile country (alpha-2), fallback nationality
    occupation: str | None = None
    industry: str | None = None

    def vocation(self) -> str:
        if self.kind == "entity":
            return self.identity.industry_code or self.industry or NA
        return self.identity.occupation_code or self.occupation or NA

    def nationality(self) -> str | None:
        return self.identity.nationality or self.country


def _tx_blocks(parent: etree._Element, leg: Leg, customer: Customer, config: FilingConfig, fx: FxTable, *, suspicious: bool) -> None:
    codes, inst = config.codes, config.institution
    rini = _el(parent, "RINI")
    _el(rini, "FINC", inst.branch_code)
    _el(rini, "RLFC", inst.customer_relationship)
    if suspicious:
        ciif = _el(parent, "CIIF")
        _id_fields(
            ciif, ("CTNM", "CITP", "OITP", "CTID"), customer.identity.legal_name, customer.identity.id_type, customer.identity.id_type_other, customer.identity.id_number
        )
        _el(ciif, "CSNM", customer.customer_id)
    atif = _el(parent, "ATIF")
    _el(atif, "CATP", codes.account_types[customer.kind])
    _el(atif, "CTAC", _or_na(leg.account_id))
    _el(atif, "OATM", NA)
    if suspicious:
        _el(atif, "CATM", NA)
    for tag in ("CBCT", "OCBT", "CBCN"):
        _el(atif, tag, NA)
    tbif = _el(parent, "TBIF")  # the contract carries no agent (代办人) details
    for tag in ("TBNM", "TBIT", "OITP", "TBID", "TBNT"):
        _el(tbif, tag, NA)
    tsif = _el(parent, "TSIF")
    _el(tsif, "TSTM", tstm(leg.ts_ms, config.timezone))
    _el(tsif, "TRCD", inst.region_code)
    _el(tsif, "TICD", leg.tx_id)
    _el(tsif, "RPMT", NA)
    _el(tsif, "RPMN", NA)
    _el(tsif, "TSTP", codes.methods[leg.method])
    _el(tsif, "OCTT", codes.channels[leg.channel])
    for tag in ("OOCT", "OCEC", "BPTC", "TSCT"):
        _el(tsif, tag, NA)
    _el(tsif, "TSDR", codes.directions[leg.direction])
    _el(tsif, "CRSP" if suspicious else "CRPP", NA)
    _el(tsif, "CRTP", leg.currency)
    _el(tsif, "CRAT", amount3(Decimal(leg.amount)))
    if not suspicious:
        _el(tsif, "CRMB", amount3(cny_of(leg)))
        _el(tsif, "CUSD", amount3(usd_of(leg, fx)))
    tcif = _el(parent, "TCIF")
    _el(tcif, "CFIN", _or_na(leg.counterparty_bank))
    _el(tcif, "CFCT", NA)
    _el(tcif, "CFIC", NA)
    _el(tcif, "CFRC", codes.country3(leg.counterparty_country))
    _el(tcif, "TCNM", _or_na(leg.counterparty_name or leg.counterparty_id))
    for tag in ("TCIT", "OITP", "TCID", "TCAT"):
        _el(tcif, tag, NA)
    _el(tcif, "TCAC", _or_na(leg.counterparty_account))
    _list(parent, "ROTFs", "ROTF", [f"tx_type={leg.tx_type}"] if leg.tx_type else [])


def _id_fields(parent: etree._Element, tags: tuple[str, str, str, str], name: str, id_type: str, other: str | None, number: str) -> None:
    _el(parent, tags[0], name)
    _el(parent, tags[1], id_type)
    _el(parent, tags[2], _or_na(other))
    _el(parent, tags[3], number)


def build_hvtr(config: FilingConfig, fx: FxTable, customer: Customer, rule_code: str, business_date: str, legs: Sequence[Leg]) -> bytes:
    """One large-value report (one customer, one characteristic code, one business day)."""
    root = etree.Element("HVTR")
    rbif = _el(root, "RBIF")
    _el(rbif, "RICD", config.institution.code)
    _el(rbif, "CTTN", 1)
    cati = _el(_el(root, "CATIs"), "CATI", seqno="1")
    cbif = _el(cati, "CBIF")
    ident = customer.identity
    _el(cbif, "CSNM", customer.customer_id)
    _list(cbif, "CTNTs", "CTNT", [config.codes.country3(customer.nationality())])
    _el(cbif, "CTVC", customer.vocation())
    ccif = _el(cbif, "CCIF")
    _list(ccif, "CCTLs", "CCTL", ident.phones)
    _list(ccif, "CATRs", "CTAR", ident.addresses)
    _list(ccif, "CCEIs", "CCEI", ident.other_contacts)
    _el(cati, "HTDT", business_date.replace("-", ""))
    htcr = _el(_el(cati, "HTCRs"), "HTCR", seqno="1")
    _el(htcr, "CRCD", rule_code)
    _el(htcr, "TTNM", len(legs))
    person = _el(_el(htcr, "CCIFs"), "CCIF", seqno="1")
    _id_fields(person, ("CTNM", "CITP", "OITP", "CTID"), ident.legal_name, ident.id_type, ident.id_type_other, ident.id_number)
    tsdts = _el(person, "TSDTs")
    for i, leg in enumerate(legs, 1):
        _tx_blocks(_el(tsdts, "TSDT", seqno=str(i)), leg, customer, config, fx, suspicious=False)
    return serialize(root)


@dataclass(frozen=True, slots=True)
class SuspiciousCase:
    """What one BSTR file reports: the subject, the analysts' conclusions and the transactions."""

    report_number: str  # RPNM: the case's id
    urgent: bool
    times_reported: int  # TORP: 1 for a first report, n for the n-th (continuing) report
    first_file: str | None  # ORXN: the first report's file name, for a continuing report
    behaviour: str  # STCB
    analysis: str  # AOSP
    crime_types: tuple[str, ...]
    characteristic_codes: tuple[str, ...]
    measures: str | None


def build_bstr(config: FilingConfig, fx: FxTable, customer: Customer, case: SuspiciousCase, legs: Sequence[Leg]) -> bytes:
    s, inst, ident = config.suspicious, config.institution, customer.identity
    root = etree.Element("BSTR")
    rbif = _el(root, "RBIF")
    _el(rbif, "RICD", inst.code)
    _el(rbif, "RPNC", inst.report_branch_code)
    _el(rbif, "DETR", s.urgent_code if case.urgent else s.normal_code)
    _el(rbif, "TORP", case.times_reported)
    _el(rbif, "ORXN", case.first_file or NA)
    _el(rbif, "DORP", s.direction_code)
    _el(rbif, "ODRP", NA)
    _el(rbif, "TPTR", s.trigger_code)
    _el(rbif, "OTPR", NA)
    _el(rbif, "STCB", case.behaviour)
    _el(rbif, "AOSP", case.analysis)
    _list(rbif, "TOSCs", "TOSC", case.crime_types)
    _list(rbif, "STCRs", "STCR", case.characteristic_codes)
    _el(rbif, "SETN", 1)
    _el(rbif, "STNM", len(legs))
    _el(rbif, "RPNM", case.report_number)
    _el(rbif, "MIRS", _or_na(case.measures))
    seif = _el(_el(root, "SEIFs"), "SEIF", seqno="1")
    _el(seif, "CSNM", customer.customer_id)
    _el(seif, "SEVC", customer.vocation())
    siif = _el(_el(seif, "SIIFs"), "SIIF", seqno="1")
    _id_fields(siif, ("SENM", "SETP", "OITP", "SEID"), ident.legal_name, ident.id_type, ident.id_type_other, ident.id_number)
    _list(seif, "STNTs", "STNT", [config.codes.country3(customer.nationality())])
    scif = _el(seif, "SCIF")
    _list(scif, "SCTLs", "SCTL", ident.phones)
    _list(scif, "SEARs", "SEAR", ident.addresses)
    _list(scif, "SEEIs", "SEEI", ident.other_contacts)
    srif = _el(seif, "SRIF")
    _person(srif, ("SRNM", "SRIT", "ORIT", "SRID"), ident.legal_representative)
    _person(srif, ("SCNM", "SCIT", "OCIT", "SCID"), ident.controllers[0] if ident.controllers else None)
    stifs = _el(root, "STIFs")
    for i, leg in enumerate(legs, 1):
        _tx_blocks(_el(stifs, "STIF", seqno=str(i)), leg, customer, config, fx, suspicious=True)
    return serialize(root)


def _person(parent: etree._Element, tags: tuple[str, str, str, str], person: PersonId | None) -> None:
    if person is None:
        for tag in tags:
            _el(parent, tag, NA)
    else:
        _id_fields(parent, tags, person.name, person.id_type, person.id_type_other, person.id_number)


def serialize(root: etree._Element) -> bytes:
    # the declaration written as the specification's examples write it (double quotes)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8", xml_declaration=False, pretty_print=True)
