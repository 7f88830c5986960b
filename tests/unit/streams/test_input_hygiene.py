"""Input hygiene of the decoder: amounts are plain decimals exact in their currency's minor unit,
timestamps strict RFC 3339 (the schemas' patterns agree), countries assigned ISO 3166-1 codes."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator

from factors.iso_codes import is_country, minor_unit
from factors.money import FxTable, decimal_places, minor_unit_problem
from streams.decode import decode_profile, decode_transaction, parse_timestamp
from streams.errors import DecodeError

SCHEMAS = Path(__file__).resolve().parents[3] / "streams" / "schemas"
FX = FxTable("2026-11-01", {"CNY": Decimal(1), "USD": Decimal("7.10"), "JPY": Decimal("0.047"), "KWD": Decimal("23.10")})
GOOD = {"tx_id": "t1", "customer_id": "c1", "ts": "2026-11-27T10:00:00+08:00", "direction": "in", "amount": "100.50", "currency": "CNY", "method": "cash"}
PROFILE = {"customer_id": "c1", "kind": "individual", "updated_at": "2026-10-01T00:00:00+08:00"}


def decode(**fields: Any):
    return decode_transaction(b"c1", orjson.dumps(GOOD | fields), FX, 1 << 20)


def refused(code: str, **fields: Any) -> str:
    with pytest.raises(DecodeError) as caught:
        decode(**fields)
    assert caught.value.code == code, caught.value.detail
    return caught.value.detail


# ---- amounts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount",
    ["5_0000", " 50000 ", "50000 ", "+50000", "-0", "1e5", "1E5", "50,000.00", ".5", "5.", "0x10", "٥٠٠٠٠", "５００００", "Infinity", "NaN", "", "50000.00\n"],
)
def test_amount_strings_must_be_plain_decimals(amount: str) -> None:
    """Python's Decimal reads underscores, spaces, signs, exponents and non-ASCII digits; the contract does not."""
    assert "amount" in refused("invalid_amount", amount=amount)


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("25000.005", "CNY"), ("49999.995", "CNY"), ("100.5", "JPY"), ("100.00", "JPY"), ("1.2345", "KWD"), ("0.001", "USD"), (50000.005, "CNY"), (100.5, "JPY")],
)
def test_more_decimal_places_than_the_currency_has_are_refused_not_rounded(amount: Any, currency: str) -> None:
    detail = refused("invalid_amount", amount=amount, currency=currency)
    assert "ISO 4217 minor unit" in detail and currency in detail


@pytest.mark.parametrize(
    ("amount", "currency", "fen"),
    [("49999.99", "CNY", 4_999_999), ("100", "JPY", 470), ("1.234", "KWD", 2_851), ("0.5", "CNY", 50), (0.5, "CNY", 50), (100.0, "JPY", 470), (30000, "CNY", 3_000_000)],
)
def test_amounts_within_the_minor_unit_are_exact(amount: Any, currency: str, fen: int) -> None:
    assert decode(amount=amount, currency=currency).amount_fen == fen


@pytest.mark.parametrize(("amount", "shown"), [("10000000000000.01", "10000000000000.01"), (10000000000000.01, "10000000000000.01"), (20000000000000, "20000000000000")])
def test_an_amount_above_the_limit_is_shown_as_given_not_rounded_onto_the_limit(amount: Any, shown: str) -> None:
    assert refused("invalid_amount", amount=amount) == f"'amount' {shown} exceeds the limit 10000000000000"


def test_a_cash_amount_just_under_the_reporting_line_stays_under_it() -> None:
    """The break-test case: 49999.995 was rounded half-even to a reportable 50,000.00."""
    refused("invalid_amount", amount="49999.995", method="cash")
    assert decode(amount="49999.99", method="cash").amount_fen == 4_999_999


def test_decimal_places_of_strings_as_written_and_of_numbers_by_value() -> None:
    assert [decimal_places(a) for a in ("100", "100.5", "100.50", "100.000")] == [0, 1, 2, 3]
    assert [decimal_places(a) for a in (100, 100.0, 100.5, 0.125, 1e-05)] == [0, 0, 1, 3, 5]


def test_minor_units_come_from_iso_4217() -> None:
    assert [minor_unit(c) for c in ("CNY", "USD", "JPY", "KWD", "CLF", "XAU", "ABC")] == [2, 2, 0, 3, 4, None, None]
    assert minor_unit_problem("1", "XAU") is not None


def test_an_fx_table_with_a_currency_without_minor_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="XAU"):
        FxTable("2026-11-01", {"CNY": Decimal(1), "USD": Decimal("7.1"), "XAU": Decimal("600")})


def test_declared_income_strings_must_be_plain_decimals_too() -> None:
    assert decode_profile(b"c1", orjson.dumps(PROFILE | {"declared_annual_income": "240000.00"}), 1 << 20).declared_annual_income_fen == 24_000_000
    with pytest.raises(DecodeError, match="invalid_value"):
        decode_profile(b"c1", orjson.dumps(PROFILE | {"declared_annual_income": "240_000"}), 1 << 20)


# ---- countries ----------------------------------------------------------------------------------


@pytest.mark.parametrize("country", ["A1", "ZZ", "XX", "EU", "UK", "AN", "cn", "Cn", "CHN", "C"])
def test_counterparty_country_must_be_an_assigned_alpha_2_code(country: str) -> None:
    assert "ISO 3166-1" in refused("invalid_value", counterparty_country=country)


@pytest.mark.parametrize("field", ["country", "residence_country"])
def test_profile_countries_must_be_assigned_codes(field: str) -> None:
    with pytest.raises(DecodeError, match="invalid_value"):
        decode_profile(b"c1", orjson.dumps(PROFILE | {field: "A1"}), 1 << 20)
    assert getattr(decode_profile(b"c1", orjson.dumps(PROFILE | {field: "HK"}), 1 << 20), field) == "HK"


def test_assigned_codes_and_kosovo_are_accepted() -> None:
    for country in ("CN", "HK", "US", "KP", "SS", "XK"):
        assert decode(counterparty_country=country).counterparty_country == country
    assert is_country("XK") and not is_country("XA")


# ---- timestamps: the decoder and the schemas' patterns agree --------------------------------------

VALID_TIMESTAMPS = [
    "2026-11-02T11:00:00+08:00",
    "2026-11-02T03:00:00Z",
    "2026-11-02t03:00:00z",
    "2026-11-02T03:00:00.5Z",
    "2026-11-02T03:00:00.123456789-05:00",
    "2026-11-02T03:00:00-00:00",
    "1990-01-01T14:00:00Z",
    "2099-12-31T09:59:59.999Z",
]
INVALID_TIMESTAMPS = [
    "2026-11-02 11:00:00+08:00",  # space separator
    "20261102T110000+0800",  # ISO 8601 basic format
    "2026-W45-1T12:00+08:00",  # week date
    "2026-306T11:00:00+08:00",  # ordinal date
    "2026-11-02T11:00:00+08:00:30",  # offset with seconds
    "2026-11-02T11:00:00+08",  # offset without minutes
    "2026-11-02T11:00:00+0800",
    "2026-11-02T11:00+08:00",  # no seconds
    "2026-11-02T11:00:00",  # no offset
    "2026-11-02",
    "2026-11-02T11:00:00.+08:00",
    "2026-11-02T11:00:00,5+08:00",
    "2026-11-02T24:00:00Z",
    "2026-11-02T11:60:00Z",
    "2026-11-02T23:59:60Z",  # a leap second: RFC 3339's, not Python's or the schema's
    "2026-13-02T11:00:00Z",
    "2026-11-00T11:00:00Z",
    "2026-11-02T11:00:00+24:00",
    " 2026-11-02T11:00:00Z",
    "2026-11-02T11:00:00Z ",
    "1989-12-31T23:59:59Z",
    "2101-01-01T00:00:00Z",
    "２０２６-11-02T11:00:00Z",
]
# the schemas' pattern admits the written years 1990-2100; the decoder also wants the instant's date
# within 1990-2099 in every time zone (a filing's date cannot say 2100; no calendar knows 1989)
INSTANT_ONLY = ["1990-01-01T00:00:00Z", "1990-01-01T13:59:59+00:00", "2100-12-31T23:59:59Z", "2100-12-31T23:59:59-08:00", "2099-12-31T10:00:00Z"]
CALENDAR_ONLY = ["2026-02-30T11:00:00Z", "2026-04-31T11:00:00Z", "2025-02-29T00:00:00Z"]  # a pattern cannot know month lengths


def _ts_validators() -> dict[str, Draft202012Validator]:
    """Every input timestamp property of the input schemas (pattern only: jsonschema checks the
    date-time format only when rfc3339-validator is installed)."""
    transaction = json.loads((SCHEMAS / "transaction.v1.schema.json").read_text(encoding="utf-8"))
    profile = json.loads((SCHEMAS / "customer-profile.v1.schema.json").read_text(encoding="utf-8"))
    decision = json.loads((SCHEMAS / "case-decision.v1.schema.json").read_text(encoding="utf-8"))
    found = {
        "transaction.ts": transaction["properties"]["ts"],
        "transaction.original_ts": transaction["properties"]["original_ts"],
        "profile.updated_at": profile["properties"]["updated_at"],
        "profile.onboarded_at": profile["properties"]["onboarded_at"],
        "decision.decided_at": decision["properties"]["decided_at"],
    }
    return {name: Draft202012Validator(prop) for name, prop in found.items()}


def _decoder_accepts(value: str) -> bool:
    try:
        parse_timestamp(value, "ts")
    except DecodeError as exc:
        assert exc.code == "invalid_timestamp"
        return False
    return True


@pytest.mark.parametrize("value", VALID_TIMESTAMPS + INVALID_TIMESTAMPS)
def test_decoder_and_schema_patterns_agree_on_timestamps(value: str) -> None:
    expected = value in VALID_TIMESTAMPS
    assert _decoder_accepts(value) is expected
    for name, validator in _ts_validators().items():
        if name == "decision.decided_at" and value[:4] in ("1989", "2101"):
            continue  # a decision's date has no year range
        assert validator.is_valid(value) is expected, name


@pytest.mark.parametrize("value", CALENDAR_ONLY + INSTANT_ONLY)
def test_dates_that_do_not_exist_or_leave_1990_to_2099_somewhere_are_refused_by_the_decoder(value: str) -> None:
    assert not _decoder_accepts(value)


def test_equal_instants_in_any_rfc_3339_spelling_are_equal() -> None:
    assert parse_timestamp("2026-11-02t03:00:00z", "ts") == parse_timestamp("2026-11-02T11:00:00+08:00", "ts") == parse_timestamp("2026-11-02T03:00:00-00:00", "ts")


def test_case_decisions_take_the_same_timestamps() -> None:
    from filings.errors import InvalidInput
    from filings.model import Decision, parse

    decision = {"decision_id": "D-1", "customer_id": "c1", "decision": "dismissed"}
    for value in VALID_TIMESTAMPS:
        assert parse(Decision, decision | {"decided_at": value}, "invalid_decision").decided_at.utcoffset() is not None
    for value in ("2026-11-11 10:00:00+08:00", "20261111T100000+0800", 1794000000, "2026-11-11T10:00:00"):
        with pytest.raises(InvalidInput, match="decided_at"):
            parse(Decision, decision | {"decided_at": value}, "invalid_decision")


def test_the_schemas_country_list_is_the_decoders() -> None:
    import pycountry

    decoder = sorted({c.alpha_2 for c in pycountry.countries if is_country(c.alpha_2)} | {"XK"})
    for name in ("transaction.v1", "customer-profile.v1"):
        listed = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))["$defs"]["country_code"]["enum"]
        assert listed == [*decoder, None], name


def test_a_standard_naming_an_unassigned_country_is_refused(tmp_path) -> None:
    from factors.standard import DEFAULT_STANDARD_PATH
    from streams.check import check_standard

    text = DEFAULT_STANDARD_PATH.read_text(encoding="utf-8")
    assert 'countries = ["KP", "IR", "MM"]' in text
    bad = tmp_path / "standard.toml"
    bad.write_text(text.replace('countries = ["KP", "IR", "MM"]', 'countries = ["KP", "ZZ", "MM"]'), encoding="utf-8")
    bad.chmod(0o600)
    result = check_standard(bad, 72)
    assert result.exit_code == 2
    assert any("countries[1]: not an assigned ISO 3166-1 alpha-2 country code" in line for line in result.lines), result.lines


# ---- CSV cells ----------------------------------------------------------------------------------


def test_csv_cells_become_the_json_the_decoder_expects() -> None:
    from streams.replay import _csv_value

    assert [_csv_value("cross_border", v) for v in ("true", "TRUE", "1", "false", "False", "0")] == [True, True, True, False, False, False]
    assert [_csv_value("pep", v) for v in ("Y", "yes", "maybe", " true")] == ["Y", "yes", "maybe", " true"]  # the decoder refuses them
    assert _csv_value("cross_border", "") is None and _csv_value("amount", "") is None
    assert _csv_value("accounts", "A-1;A-2;") == ["A-1", "A-2"] and _csv_value("amount", " 50000 ") == " 50000 "


CSV_HEADER = "tx_id,customer_id,ts,direction,amount,currency,method"
CSV_ROW = "t1,c1,2026-11-27T10:00:00+08:00,in,100.50,CNY,cash"


def test_a_csv_file_with_a_byte_order_mark_reads_its_first_column(tmp_path) -> None:
    """Excel's "CSV UTF-8" starts with U+FEFF: without utf-8-sig the first header is '\ufefftx_id' and every row lacks tx_id."""
    from streams.replay import read_records

    path = tmp_path / "legs.csv"
    path.write_bytes(f"{CSV_HEADER}\r\n{CSV_ROW}\r\n".encode("utf-8-sig"))
    (raw,) = read_records(str(path))
    assert decode_transaction(None, raw, FX, 1 << 20).tx_id == "t1"


def test_a_csv_row_with_more_cells_than_the_header_is_dead_lettered_not_cut_short(tmp_path) -> None:
    from streams.replay import read_records

    path = tmp_path / "legs.csv"
    path.write_text(f"{CSV_HEADER}\n{CSV_ROW}\n{CSV_ROW},cash-extra\n", encoding="utf-8")
    good, bad = read_records(str(path))
    assert decode_transaction(None, good, FX, 1 << 20).amount_fen == 10_050
    with pytest.raises(DecodeError) as caught:
        decode_transaction(None, bad, FX, 1 << 20)
    assert (caught.value.code, caught.value.customer_id) == ("invalid_value", "c1")
    assert caught.value.detail == "CSV line 3 has 8 cells, the header 7: extra 'cash-extra'"
    assert orjson.loads(bytes(bad))["tx_id"] == "t1"  # the payload a dead letter carries: the row as read


def test_a_csv_file_that_is_not_utf8_is_one_clear_file_error(tmp_path) -> None:
    """A GBK export (common for Chinese names) cannot be split into rows: the file is refused, not a traceback."""
    from streams.errors import InputFileError
    from streams.replay import read_records

    path = tmp_path / "legs.csv"
    path.write_bytes(f"{CSV_HEADER},counterparty_name\n{CSV_ROW},".encode() + "张三".encode("gbk") + b"\n")
    with pytest.raises(InputFileError, match=r"legs.csv: not UTF-8 text \(invalid .* at or after line 1\): save it as CSV UTF-8"):
        list(read_records(str(path)))


def test_fx_rates_written_as_strings_must_be_plain_decimals_too(tmp_path) -> None:
    """Decimal reads "7_10" as 710: a slipped underscore must not multiply a rate by a hundred."""
    from factors.standard import DEFAULT_STANDARD_PATH
    from streams.check import check_standard

    text = DEFAULT_STANDARD_PATH.read_text(encoding="utf-8")
    for rate, valid in (('"7_10"', False), ('" 7.10 "', False), ('"+7.10"', False), ('"7.1e0"', False), ('"7.10"', True), ("7.1", True), ("7", True)):
        path = tmp_path / "standard.toml"
        path.write_text(text.replace('USD = "7.10"', f"USD = {rate}"), encoding="utf-8")
        path.chmod(0o600)
        result = check_standard(path, 72)
        assert (result.exit_code == 0) is valid, (rate, result.lines)
        if not valid:
            assert any(line.startswith("error: fx.cny_per_unit.USD: expected a plain decimal string") for line in result.lines), result.lines
