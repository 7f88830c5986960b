"""Mapping, field by field: pacs.008 (several transactions of every kind), camt.054 (every code
family the mapping reads), identities, times, amounts, the bank's own agents, and bad values."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from iso20022.directory import AccountDirectory
from iso20022.errors import INVALID_VALUE, IsoError
from iso20022.mapping import MappingContext, Skip, map_message
from iso20022.parse import SUPPORTED, parse_message
from tests.iso20022_samples import ACCOUNTS, BANK, CAMT054_LEGS, PACS008_LEGS, camt054, pacs008

SHANGHAI = MappingContext(ZoneInfo("Asia/Shanghai"))
TX = "/Document/FIToFICstmrCdtTrf/CdtTrfTxInf"


def directory(accounts: dict[str, list[str]] = ACCOUNTS) -> AccountDirectory:
    d = AccountDirectory()
    for customer, ids in accounts.items():
        d.apply(customer, 1, ids)
    return d


def mapped(raw: bytes, context: MappingContext = SHANGHAI, accounts: dict[str, list[str]] = ACCOUNTS):
    return map_message(parse_message(raw), directory(accounts), context)


@pytest.mark.parametrize("version", [m for m in SUPPORTED if m.startswith("pacs")])
def test_pacs008_legs_field_by_field(version):
    result = mapped(pacs008(version))
    assert result.legs == PACS008_LEGS
    assert result.skipped == [
        Skip(f"{TX}[2]/Cdtr", "CRDT", "not_customer"),
        Skip(f"{TX}[3]/Dbtr", "DBIT", "not_customer"),
        Skip(f"{TX}[4]/Dbtr", "DBIT", "not_customer"),
        Skip(f"{TX}[4]/Cdtr", "CRDT", "not_customer"),
    ]


@pytest.mark.parametrize("version", [m for m in SUPPORTED if m.startswith("camt")])
def test_camt054_legs_field_by_field(version):
    result = mapped(camt054(version))
    assert result.legs == CAMT054_LEGS
    notification = "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn"
    assert result.skipped == [Skip(f"{notification}[1]/Ntry[4]", "CRDT", "not_booked"), Skip(f"{notification}[3]/Ntry", "CRDT", "not_customer")]


def test_a_redelivered_message_gives_the_same_tx_ids():
    assert [leg["tx_id"] for leg in mapped(pacs008()).legs] == [leg["tx_id"] for leg in mapped(pacs008()).legs]
    assert len({leg["tx_id"] for leg in mapped(pacs008()).legs}) == 4


def test_the_fallback_tx_id_depends_on_the_message_id():
    ids = {leg["tx_id"] for leg in mapped(pacs008(msg_id="MSG-P-2")).legs}
    assert "MSG-P-2/NOTPROVIDED/3:CRDT" in ids


def test_no_customer_on_either_side_gives_no_leg():
    result = mapped(pacs008(), accounts={})
    assert result.legs == []
    assert {s.reason for s in result.skipped} == {"not_customer"}


def test_a_side_at_another_bank_is_not_the_customers_even_with_the_same_account_number():
    """Account numbers are unique only within a bank: with the bank's BIC configured, an account
    number at another agent never matches a customer's."""
    accounts = {"C-9": ["955880000111"], **ACCOUNTS}  # the outside debtor of transaction 3 has the same number at CNAPS 102100099996
    open_result = mapped(pacs008(), accounts=accounts)
    assert any(leg["customer_id"] == "C-9" for leg in open_result.legs)
    strict = mapped(pacs008(), MappingContext(ZoneInfo("Asia/Shanghai"), frozenset({BANK[:8]})), accounts)
    assert not any(leg["customer_id"] == "C-9" for leg in strict.legs)
    assert Skip(f"{TX}[3]/Dbtr", "DBIT", "other_bank") in strict.skipped
    assert [leg["tx_id"] for leg in strict.legs] == [leg["tx_id"] for leg in PACS008_LEGS]


def test_clearing_member_ids_identify_the_bank_too():
    strict = mapped(pacs008(), MappingContext(ZoneInfo("Asia/Shanghai"), frozenset({"102100099996"})), {"C-9": ["955880000111"]})
    assert [(leg["customer_id"], leg["direction"]) for leg in strict.legs] == [("C-9", "out")]


def test_times_without_offset_are_in_the_banks_timezone():
    utc = mapped(pacs008(), MappingContext(ZoneInfo("UTC")))
    assert [leg["ts"] for leg in utc.legs] == ["2026-11-02T09:15:00+08:00", "2026-11-02T09:15:02+08:00", "2026-11-02T08:30:00+00:00", "2026-11-03T00:00:00+00:00"]


def test_a_message_created_after_the_settlement_date_uses_its_creation_time():
    raw = pacs008().replace(b"<IntrBkSttlmDt>2026-11-03</IntrBkSttlmDt>", b"<IntrBkSttlmDt>2026-11-01</IntrBkSttlmDt>")
    assert mapped(raw).legs[3]["ts"] == "2026-11-02T09:00:00+08:00"


@pytest.mark.parametrize("amount", ["0", "0.00000"])
def test_a_zero_amount_dead_letters_the_whole_message(amount):
    raw = pacs008().replace(b'Ccy="CNY">0.01<', f'Ccy="CNY">{amount}<'.encode())
    with pytest.raises(IsoError) as caught:
        mapped(raw)
    assert caught.value.code == INVALID_VALUE
    assert caught.value.xpath == f"{TX}[3]/IntrBkSttlmAmt"


@pytest.mark.parametrize(("text", "expected"), [("1234567890123.12", "1234567890123.12"), ("+5.5", "5.5"), ("007", "7"), (".5", "0.5"), ("100.50", "100.50")])
def test_amounts_keep_their_decimals(text, expected):
    raw = pacs008().replace(b'Ccy="CNY">0.01<', f'Ccy="CNY">{text}<'.encode())
    assert mapped(raw).legs[3]["amount"] == expected


@pytest.mark.parametrize(("text", "currency"), [("49999.99500", "CNY"), ("25000.005", "CNY"), ("100.5", "JPY"), ("100.00", "JPY"), ("1.2345", "KWD"), ("+0.001", "USD")])
def test_more_decimal_places_than_the_currency_has_dead_letter_the_message(text, currency):
    """The XSD allows 5 decimals for any currency; the customer stage refuses what its minor unit cannot hold, so the adapter does too."""
    raw = pacs008().replace(b'Ccy="CNY">0.01<', f'Ccy="{currency}">{text}<'.encode())
    with pytest.raises(IsoError) as caught:
        mapped(raw)
    assert caught.value.code == INVALID_VALUE and caught.value.xpath == f"{TX}[3]/IntrBkSttlmAmt"
    assert "ISO 4217 minor unit" in caught.value.detail


@pytest.mark.parametrize(("text", "currency"), [("100", "JPY"), ("1.234", "KWD"), ("12.34567", "XAU")])
def test_amounts_within_the_minor_unit_map(text, currency):
    """XAU has no minor unit: the customer stage's FX table decides (unknown_currency), as for a JSON leg."""
    raw = pacs008().replace(b'Ccy="CNY">0.01<', f'Ccy="{currency}">{text}<'.encode())
    assert (mapped(raw).legs[3]["amount"], mapped(raw).legs[3]["currency"]) == (text, currency)


def test_camt054_amounts_follow_the_minor_unit_too():
    raw = camt054().replace(b'<Amt Ccy="CNY">1.23</Amt>', b'<Amt Ccy="CNY">1.235</Amt>')
    with pytest.raises(IsoError, match="ISO 4217 minor unit") as caught:
        mapped(raw)
    assert caught.value.code == INVALID_VALUE and caught.value.xpath.endswith("/Amt")


@pytest.mark.parametrize("count", ["7", "3", "5"])
def test_a_group_header_counting_other_transactions_dead_letters_the_message(count):
    raw = pacs008().replace(b"<NbOfTxs>4</NbOfTxs>", f"<NbOfTxs>{count}</NbOfTxs>".encode())
    with pytest.raises(IsoError) as caught:
        mapped(raw)
    assert caught.value.code == INVALID_VALUE and caught.value.xpath == "/Document/FIToFICstmrCdtTrf/GrpHdr/NbOfTxs"
    assert f"declares {count} transactions, the message holds 4" in caught.value.detail


def test_a_control_sum_must_be_the_sum_of_the_settlement_amounts():
    right = pacs008().replace(b"<NbOfTxs>4</NbOfTxs>", b"<NbOfTxs>4</NbOfTxs><CtrlSum>62445.18</CtrlSum>")
    assert len(mapped(right).legs) == len(PACS008_LEGS)
    wrong = pacs008().replace(b"<NbOfTxs>4</NbOfTxs>", b"<NbOfTxs>4</NbOfTxs><CtrlSum>62445.19</CtrlSum>")
    with pytest.raises(IsoError) as caught:
        mapped(wrong)
    assert caught.value.xpath == "/Document/FIToFICstmrCdtTrf/GrpHdr/CtrlSum"


def test_an_unreadable_time_is_an_invalid_value():
    raw = pacs008().replace(b"<DbtDtTm>2026-11-02T09:15:00+08:00</DbtDtTm>", b"<DbtDtTm>2026-11-02T24:00:00+08:00</DbtDtTm>")
    with pytest.raises(IsoError) as caught:
        mapped(raw)
    assert caught.value.code == INVALID_VALUE and caught.value.xpath == f"{TX}[1]/SttlmTmIndctn/DbtDtTm"


ENVELOPE = '<SplmtryData><Envlp><Legs xmlns="urn:amlstream:iso20022:legs:1">{}</Legs></Envlp></SplmtryData>'


def with_envelope(legs: str) -> bytes:
    tail = b"   <CdtrAcct><Id><Othr><Id>6222021000005678</Id></Othr></Id></CdtrAcct>\n"
    return pacs008().replace(tail, tail + ENVELOPE.format(legs).encode(), 1)


def test_the_envelope_gives_the_legs_own_references_channel_and_method():
    raw = with_envelope('<Leg side="DBIT" ref="T-OUT-1" channel="mobile"/><Leg side="CRDT" ref="T-IN-1" method="other"/>')
    debit, credit = mapped(raw).legs[:2]
    assert (debit["tx_id"], debit["channel"], debit["method"]) == ("T-OUT-1", "mobile", "transfer")
    assert (credit["tx_id"], credit["channel"], credit["method"]) == ("T-IN-1", "other", "other")


@pytest.mark.parametrize(
    ("legs", "words"),
    [
        ('<Leg side="DBIT" channel="telepathy"/>', "channel"),
        ('<Leg side="DBIT" method="barter"/>', "method"),
        ('<Leg side="BOTH"/>', "side"),
        ('<Leg ref="T-1"/>', "side"),
        ('<Leg side="DBIT" ref=" padded"/>', "ref"),
        ('<Leg side="DBIT"/><Leg side="DBIT"/>', "more than one"),
    ],
)
def test_a_bad_envelope_is_an_invalid_value_with_its_xpath(legs, words):
    with pytest.raises(IsoError) as caught:
        mapped(with_envelope(legs))
    assert caught.value.code == INVALID_VALUE and words in caught.value.detail
    assert caught.value.xpath.startswith(f"{TX}[1]/SplmtryData/Envlp/Legs/Leg")


def test_an_entry_with_several_details_and_one_without_amount_is_an_invalid_value():
    raw = camt054().replace(b'<TxDtls><Amt Ccy="CNY">1000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>', b"<TxDtls><CdtDbtInd>CRDT</CdtDbtInd>")
    with pytest.raises(IsoError) as caught:
        mapped(raw)
    assert caught.value.code == INVALID_VALUE
    assert caught.value.xpath == "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[5]/NtryDtls/TxDtls[1]"


def test_a_notification_counting_other_entries_dead_letters_the_message():
    account = b"<Acct><Id><Othr><Id>6222021000001234</Id></Othr></Id><Svcr><FinInstnId><BICFI>"
    entries = camt054().decode().split("<Ntfctn>")[1].count("<Ntry>")
    summary = "<TxsSummry><TtlNtries><NbOfNtries>{}</NbOfNtries></TtlNtries></TxsSummry><Ntry>"

    def with_count(n: int) -> bytes:
        head, tail = camt054().split(account, 1)
        first, rest = tail.split(b"<Ntry>", 1)
        return head + account + first + summary.format(n).encode() + rest

    assert mapped(with_count(entries)).legs == mapped(camt054()).legs
    with pytest.raises(IsoError) as caught:
        mapped(with_count(entries + 6))
    assert caught.value.code == INVALID_VALUE and caught.value.xpath == "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/TxsSummry/TtlNtries/NbOfNtries"


@pytest.mark.parametrize(("country", "kept"), [("EU", None), ("UK", None), ("ZZ", None), ("XA", None), ("XK", "XK"), ("DE", "DE")])
def test_only_a_country_the_customer_stage_takes_becomes_counterparty_country(country, kept):
    """The creditor's leg names the debtor's country: a code the decoder would refuse must not cost the leg."""
    raw = pacs008().replace(b"<Dbtr><Nm>Zhang San</Nm><PstlAdr><Ctry>CN</Ctry>", f"<Dbtr><Nm>Zhang San</Nm><PstlAdr><Ctry>{country}</Ctry>".encode())
    leg = next(leg for leg in mapped(raw).legs if leg["direction"] == "in" and leg.get("counterparty_name") == "Zhang San")
    assert leg.get("counterparty_country") == kept
