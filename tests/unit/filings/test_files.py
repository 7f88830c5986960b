"""Report files: XML content, schema validation, names, ZIP packing, receipts, config, leg selection."""

from __future__ import annotations

import io
import os
import zipfile
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from lxml import etree

from filings.config import DEFAULT_CONFIG_PATH, load_config, parse_config
from filings.errors import FilingConfigError, InvalidFiling, InvalidInput
from filings.identity import Identity, parse_identity
from filings.legs import select
from filings.model import Decision, Leg, ReportEvent, parse
from filings.naming import Name, parse_receipt_name
from filings.packing import plan_packages, zip_bytes
from filings.receipts import read_receipt
from filings.schema import validate
from filings.xml import Customer, SuspiciousCase, build_bstr, build_hvtr
from streams.errors import DecodeError
from tests.filings_stream import FX

CONFIG = load_config()
PERSON = Identity(legal_name="张三", id_type="110001", id_number="110101199001011234", phones=("13800000000",), nationality="CN")
CUSTOMER = Customer("C-1", "individual", PERSON, "CN")
# 2026-11-02 09:00 and 23:30 Shanghai; a USD leg at 2026-11-02T17:00Z = 11-03 01:00 Shanghai
LEGS = [
    Leg(1, "T-1", "C-1", 1793581200000, 20759, "in", "30000.00", "CNY", 3000000, "cash", "counter", False, "A-1"),
    Leg(2, "T-2", "C-1", 1793633400000, 20759, "in", "25000.5", "CNY", 2500050, "cash", "atm", False, "A-1"),
]
USD_LEG = Leg(3, "T-3", "C-1", 1793638800000, 20760, "in", "12000.00", "USD", 8520000, "remittance", "online", True, "A-1", None, "John Smith", "HSBC", "HK", "HK-1")


def hvtr(legs: list[Leg] | None = None) -> bytes:
    return build_hvtr(CONFIG, FX, CUSTOMER, "0501", "2026-11-02", legs or LEGS)


def test_hvtr_carries_the_event_values_and_validates() -> None:
    doc = validate(hvtr(), "HVTR")
    assert doc.findtext("RBIF/RICD") == CONFIG.institution.code
    assert doc.findtext("RBIF/CTTN") == "1"
    cati = doc.find("CATIs/CATI")
    assert cati.findtext("HTDT") == "20261102"
    assert cati.findtext("CBIF/CTNTs/CTNT") == "CHN"
    htcr = cati.find("HTCRs/HTCR")
    assert (htcr.findtext("CRCD"), htcr.findtext("TTNM")) == ("0501", "2")
    assert htcr.findtext("CCIFs/CCIF/CTID") == "110101199001011234"
    tsif = [t.find("TSIF") for t in htcr.iterfind("CCIFs/CCIF/TSDTs/TSDT")]
    assert [t.findtext("TSTM") for t in tsif] == ["20261102090000", "20261102233000"]  # bank timezone
    assert [t.findtext("CRAT") for t in tsif] == ["30000.000", "25000.500"]
    assert [t.findtext("CRMB") for t in tsif] == ["30000.000", "25000.500"]
    assert tsif[0].findtext("CUSD") == str((Decimal(30000) / FX.cny_per_unit["USD"]).quantize(Decimal("0.001")))
    assert [t.findtext("TSDR") for t in tsif] == ["01", "01"]
    assert [t.findtext("TSTP") for t in tsif] == [CONFIG.codes.methods["cash"]] * 2
    assert hvtr() == hvtr()  # deterministic bytes


def test_foreign_currency_leg_amounts_and_counterparty() -> None:
    doc = validate(build_hvtr(CONFIG, FX, CUSTOMER, "0504", "2026-11-03", [USD_LEG]), "HVTR")
    tsdt = doc.find(".//TSDT")
    assert (tsdt.findtext("TSIF/TSTM"), tsdt.findtext("TSIF/CRTP"), tsdt.findtext("TSIF/CRAT")) == ("20261103010000", "USD", "12000.000")
    assert (tsdt.findtext("TSIF/CRMB"), tsdt.findtext("TSIF/CUSD")) == ("85200.000", "12000.000")
    assert (tsdt.findtext("TCIF/TCNM"), tsdt.findtext("TCIF/CFRC"), tsdt.findtext("TCIF/TCAC")) == ("John Smith", "HKG", "HK-1")


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (".//CRAT", "1.2345", "CRAT"),  # more than 3 decimals
        (".//TSTM", "2026-11-02", "TSTM"),
        (".//CRCD", "0505", "CRCD"),
        (".//CITP", "11001", "CITP"),
        (".//CTNT", "CN", "CTNT"),
        ("RBIF/RICD", "SHORT", "RICD"),
        ("RBIF/CTTN", "2", "CTTN"),  # the count must equal the number of CATI
        (".//TTNM", "3", "TTNM"),
    ],
)
def test_the_schema_refuses_bad_content(path: str, value: str, problem: str) -> None:
    doc = etree.fromstring(hvtr())
    doc.find(path).text = value
    with pytest.raises(InvalidFiling, match=problem):
        validate(etree.tostring(doc, xml_declaration=True, encoding="UTF-8"), "HVTR")


def test_the_schema_refuses_missing_and_unknown_elements() -> None:
    doc = etree.fromstring(hvtr())
    tsif = doc.find(".//TSIF")
    tsif.remove(tsif.find("CUSD"))
    with pytest.raises(InvalidFiling, match="CUSD"):
        validate(etree.tostring(doc), "HVTR")
    doc = etree.fromstring(hvtr())
    etree.SubElement(doc.find("RBIF"), "XTRA").text = "1"
    with pytest.raises(InvalidFiling):
        validate(etree.tostring(doc), "HVTR")
    with pytest.raises(InvalidFiling, match="root"):
        validate(hvtr(), "BSTR")


def test_bstr_for_an_entity_with_legal_representative() -> None:
    entity = Identity.model_validate(
        {
            "legal_name": "上海示例贸易有限公司",
            "id_type": "610001",
            "id_number": "91310000MA1K000001",
            "legal_representative": {"name": "李四", "id_type": "110001", "id_number": "310101197001011234"},
        }
    )
    case = SuspiciousCase("D-1", False, 2, "NBSA0000000000001-20261130-00000001.XML", "行为", "分析", ("1106",), ("0101",), None)
    doc = validate(build_bstr(CONFIG, FX, Customer("C-E", "entity", entity, "CN", industry="F51"), case, [*LEGS, USD_LEG]), "BSTR")
    assert (doc.findtext("RBIF/TORP"), doc.findtext("RBIF/ORXN"), doc.findtext("RBIF/DETR")) == ("2", case.first_file, "01")
    assert (doc.findtext("RBIF/STNM"), doc.findtext("RBIF/SETN")) == ("3", "1")
    assert (doc.findtext(".//SRIF/SRNM"), doc.findtext(".//SRIF/SCNM"), doc.findtext(".//SEIF/SEVC")) == ("李四", "@N", "F51")
    assert [s.findtext("CATP") for s in doc.iterfind(".//STIF/ATIF")] == [CONFIG.codes.account_types["entity"]] * 3


def test_names() -> None:
    name = Name("N", "BH", CONFIG.institution.code, "20261130", 7)
    assert name.xml == "NBHA0000000000001-20261130-00000007.XML"
    assert name.as_action("C").xml == "CBHA0000000000001-20261130-00000007.XML"
    assert Name.parse(name.xml) == name and Name.parse(name.zip) == name
    with pytest.raises(ValueError):
        Name.parse("NBHA000-20261130-00000007.XML")
    receipt = parse_receipt_name(f"FDSC[{name.xml}]20261201093000.XML")
    assert receipt and (receipt.kind, receipt.answered, receipt.arrived) == ("FDSC", name, "20261201093000")
    assert parse_receipt_name(f"FDRC{name.stem}20261201093000.XML").kind == "FDRC"
    assert parse_receipt_name("notes.txt") is None


def test_packages_stay_under_the_limit_and_keep_the_files() -> None:
    entries = [(f"NBHA0000000000001-20261130-{i:08d}.XML", os.urandom(40_000)) for i in range(1, 8)]  # incompressible
    groups = plan_packages(entries, 100_000)
    assert [len(g) for g in groups] == [2, 2, 2, 1]
    for group in groups:
        data = zip_bytes([e for e in entries if e[0] in group])
        assert len(data) <= 100_000
        assert zipfile.ZipFile(io.BytesIO(data)).namelist() == group
    assert zip_bytes(entries[:2]) == zip_bytes(entries[:2])
    with pytest.raises(InvalidFiling, match="even alone"):
        plan_packages([("BIG.XML", os.urandom(200_000))], 100_000)


def _fdbk(name: str, result: str, errors: str = "") -> bytes:
    return f"<?xml version='1.0' encoding='UTF-8'?><FDBK><FINM>{name}</FINM><SFID>{result}</SFID><TTNM>1</TTNM>{errors}</FDBK>".encode()


def test_receipts() -> None:
    name = "NBHA0000000000001-20261130-00000001.ZIP"
    ok = read_receipt(f"FDSC[{name}]20261201093000.XML", _fdbk(name, "SUCC"))
    assert (ok.kind, ok.result, ok.answered.zip) == ("FDSC", "SUCC", name)
    errors = "<ERRSs><ERRS seqno='1'><RPNM>NBHA0000000000001-20261130-00000002.XML</RPNM><ERLC>CTID</ERLC><ERDS>证件号码校验失败</ERDS></ERRS></ERRSs>"
    bad = read_receipt(f"FDRC[{name}]20261201093000.XML", _fdbk(name, "E1001", errors))
    assert bad.kind == "FDRC" and [n.seq for n in bad.files] == [2] and "证件号码" in bad.detail
    with pytest.raises(InvalidFiling, match="SUCC"):
        read_receipt(f"FDSC[{name}]20261201093000.XML", _fdbk(name, "E1001"))
    with pytest.raises(InvalidFiling, match="FINM"):
        read_receipt(f"FDSC[{name}]20261201093000.XML", _fdbk(name.replace("0001.ZIP", "0009.ZIP"), "SUCC"))
    notice = read_receipt(
        "MCVR[NBHA0000000000001-20261130-00000002.XML]20261202100000.XML",
        b"<MCVR><FINM>NBHA0000000000001-20261130-00000002.XML</FINM><MCRS>please correct CTVC</MCRS><MCDL>20261209</MCDL></MCVR>",
    )
    assert (notice.kind, notice.result, notice.deadline) == ("MCVR", "MANUAL", "20261209") and "CTVC" in notice.detail


def test_config_is_validated(tmp_path: Path) -> None:
    text = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
    assert load_config().codes.country3("HK") == "HKG"
    for bad, where in (
        (text.replace('code = "A0000000000001"', 'code = "A0001"'), "institution.code"),
        (text.replace("consolidation_days = 90", "consolidation_days = 120"), "suspicious.consolidation_days"),
        (text.replace('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"'), "timezone"),
        (text.replace('cash = "000001", ', ""), "methods lacks cash"),
    ):
        with pytest.raises(FilingConfigError, match=where):
            parse_config(bad.encode())


def test_identity_and_decision_validation() -> None:
    with pytest.raises(InvalidInput, match="id_type"):
        parse_identity({"legal_name": "x", "id_type": "119999", "id_number": "1"}, "C-1", set(CONFIG.codes.id_types))  # other without what
    with pytest.raises(InvalidInput, match="code table"):
        parse_identity({"legal_name": "x", "id_type": "123456", "id_number": "1"}, "C-1", set(CONFIG.codes.id_types))
    base = {"decision_id": "D", "customer_id": "C", "decided_at": "2026-11-11T10:00:00+08:00", "decision": "confirmed", "alert_keys": ["0" * 32]}
    with pytest.raises(InvalidInput, match="analysis"):
        parse(Decision, base, "invalid_decision")
    assert parse(Decision, {**base, "analysis": "a", "crime_types": ["1106"], "characteristic_codes": ["0101"]}, "invalid_decision").decided_ms == 1794362400000
    with pytest.raises(InvalidInput, match="unknown"):
        parse(Decision, {**base, "decision": "dismissed", "unknown": 1}, "invalid_decision")


def _event(tx_ids: list[str], total: float, by_ccy: dict[str, float]) -> ReportEvent:
    return ReportEvent.model_validate(
        {"event_id": "a" * 32, "customer_id": "C-1", "report_key": "b" * 32, "revision": 2, "rule_code": "0501", "direction": "in", "business_date": "2026-11-02",
         "total_cny": total, "totals_by_currency": by_ccy, "tx_ids": tx_ids, "tx_count": len(tx_ids), "cause": {"kind": "transaction", "ref": tx_ids[-1]}}
    )  # fmt: skip


def test_leg_selection_is_exact_or_says_why() -> None:
    reversal = Leg(3, "T-R", "C-1", 1793590000000, 20759, "in", "500.00", "CNY", 50000, "cash", "counter", False, tx_type="reversal")
    later = Leg(9, "T-9", "C-1", 1793600000000, 20759, "in", "1000.00", "CNY", 100000, "cash", "counter", False)
    day = [*LEGS, reversal, later, Leg(4, "T-O", "C-1", 1793590000000, 20759, "out", "9.00", "CNY", 900, "cash", "counter", False)]
    ok = select(_event(["T-1", "T-2"], 55000.5, {"CNY": 55000.5}), day, 2)
    assert ok.problem is None and [leg.tx_id for leg in ok.legs] == ["T-1", "T-2"]  # not the reversal, the out leg, nor what came after
    assert "total" in select(_event(["T-1", "T-2"], 55000.0, {"CNY": 55000.0}), day, 2).problem
    assert "counts 1" in select(_event(["T-2"], 25000.5, {"CNY": 25000.5}), day, 2).problem


def test_selection_lists_the_legs_as_they_stand_after_reversals_and_corrections() -> None:
    reversal = Leg(6, "T-R1", "C-1", 1793677000000, 20760, "in", "30000.00", "CNY", 3000000, "cash", "counter", False, tx_type="reversal", original_tx_id="T-1")
    correction = Leg(7, "T-C2", "C-1", 1793677100000, 20760, "in", "45000.00", "CNY", 4500000, "cash", "atm", False, tx_type="correction", original_tx_id="T-2")
    # before the undoing legs (cause 2): both payments
    before = select(_event(["T-1", "T-2"], 55000.5, {"CNY": 55000.5}), LEGS, 2, LEGS)
    assert before.problem is None and [leg.tx_id for leg in before.legs] == ["T-1", "T-2"]
    # after them (cause 7, posted on the next day): T-1 is gone, T-2 carries the corrected amount
    after = select(_event(["T-2"], 45000.0, {"CNY": 45000.0}), LEGS, 7, [*LEGS, reversal, correction])
    assert after.problem is None and [(leg.tx_id, leg.amount_fen) for leg in after.legs] == [("T-2", 4500000)]


def test_selection_leaves_out_own_account_moves_at_this_bank_only() -> None:
    def transfer(seq: int, tx_id: str, account: str, bank: str | None) -> Leg:
        ts = 1793590000000 + seq
        return Leg(seq, tx_id, "C-1", ts, 20759, "in", "300000.00", "CNY", 30000000, "transfer", "online", False, counterparty_account=account, counterparty_bank=bank)

    day = [transfer(1, "T-A", "6222 0000-1111", "THIS BANK"), transfer(2, "T-B", "62220000 1111", "OTHER BANK"), transfer(3, "T-C", "9999", None)]
    event = ReportEvent.model_validate(
        {"event_id": "a" * 32, "customer_id": "C-1", "report_key": "b" * 32, "revision": 1, "rule_code": "0503", "direction": "in", "business_date": "2026-11-02",
         "total_cny": 600000.0, "totals_by_currency": {"CNY": 600000.0}, "tx_ids": ["T-B", "T-C"], "tx_count": 2, "cause": {"kind": "transaction", "ref": "T-C"}}
    )  # fmt: skip
    chosen = select(event, day, 3, day, ["62220000 1111"], own_bank=["this-bank"])
    assert chosen.problem is None and [leg.tx_id for leg in chosen.legs] == ["T-B", "T-C"]  # T-A is the customer's own account here
    assert "counts 2" in select(event, day, 3, day).problem  # without the profile's accounts T-A is listed too


def test_the_json_schemas_and_the_models_agree_on_the_scenario() -> None:
    import json

    from jsonschema import Draft202012Validator

    from tests.filings_stream import DECISIONS, PROFILES

    root = Path(__file__).resolve().parents[3] / "streams" / "schemas"
    decision = Draft202012Validator(json.loads((root / "case-decision.v1.schema.json").read_text(encoding="utf-8")))
    profile = Draft202012Validator(json.loads((root / "customer-profile.v1.schema.json").read_text(encoding="utf-8")))
    for doc in DECISIONS:
        assert decision.is_valid(doc) and parse(Decision, doc, "invalid_decision")
    bad = {**DECISIONS[0], "crime_types": []}
    assert not decision.is_valid(bad)
    with pytest.raises(InvalidInput):
        parse(Decision, bad, "invalid_decision")
    for doc in PROFILES:
        assert profile.is_valid(doc)
        if doc.get("identity"):
            parse_identity(doc["identity"], doc["customer_id"], set(CONFIG.codes.id_types))
    assert not profile.is_valid({**PROFILES[0], "identity": {"legal_name": "x", "id_type": "1", "id_number": "1"}})


def _lv(tx_ids: list[str], total: float, by_ccy: dict[str, float], cause: str, cause_kind: str = "transaction", **extra: object) -> ReportEvent:
    return ReportEvent.model_validate(
        {"event_id": "a" * 32, "customer_id": "C-1", "report_key": "b" * 32, "revision": 3, "rule_code": "0501", "direction": "in", "business_date": "2026-11-02",
         "total_cny": total, "totals_by_currency": by_ccy, "tx_ids": tx_ids, "tx_count": len(tx_ids), "cause": {"kind": cause_kind, "ref": cause}, **extra}
    )  # fmt: skip


def _cash(seq: int, tx_id: str, amount: str, day: int = 20759, **extra: object) -> Leg:
    fen = round(Decimal(amount) * 100)
    return Leg(seq, tx_id, "C-1", 1793581200000 + seq * 60_000 + (day - 20759) * 86_400_000, day, "in", amount, "CNY", fen, "cash", "counter", False, **extra)  # type: ignore[arg-type]


def test_the_cause_of_a_revision_by_an_undoing_is_the_reversal_or_correction() -> None:
    """streams.events writes cause.kind `reversal` (ref: the reversal's or correction's tx_id) for
    the revisions they make: the filing stage must find that leg, not wait for None forever."""
    assert _lv(["T-1"], 60000.0, {"CNY": 60000.0}, "T-1-COR", "reversal").cause_tx == "T-1-COR"
    assert _lv(["T-1"], 60000.0, {"CNY": 60000.0}, "T-1").cause_tx == "T-1"
    assert _lv(["T-1"], 60000.0, {"CNY": 60000.0}, "x", "profile").cause_tx is None


def test_a_revision_after_a_reversal_or_a_correction_lists_the_legs_as_they_stand() -> None:
    a, b = _cash(1, "A", "60000.00"), _cash(2, "B", "20000.00")
    rev = _cash(3, "B-REV", "20000.00", day=20760, tx_type="reversal", original_tx_id="B")  # posted on the next day
    after_reversal = select(_lv(["A"], 60000.0, {"CNY": 60000.0}, "B-REV", "reversal"), [a, b], 3, [rev])
    assert after_reversal.problem is None and [leg.tx_id for leg in after_reversal.legs] == ["A"]
    cor = _cash(4, "A-COR", "65000.00", tx_type="correction", original_tx_id="A")
    after_correction = select(_lv(["A", "B"], 85000.0, {"CNY": 85000.0}, "A-COR", "reversal"), [a, b, cor], 4, [cor])
    assert after_correction.problem is None and [(leg.tx_id, leg.amount, leg.amount_fen) for leg in after_correction.legs] == [
        ("A", "65000.00", 6500000),
        ("B", "20000.00", 2000000),
    ]


def test_an_undoing_the_customer_stage_refused_is_set_aside_because_the_event_does_not_count_it() -> None:
    a, b, c = _cash(1, "A", "60000.00"), _cash(2, "B", "20000.00"), _cash(9, "C", "1000.00")
    other_amount = _cash(3, "A-REV", "50000.00", tx_type="reversal", original_tx_id="A")  # reversal_unmatched: another amount
    cor1 = _cash(4, "B-C1", "25000.00", tx_type="correction", original_tx_id="B")
    cor2 = _cash(5, "B-C2", "30000.00", tx_type="correction", original_tx_id="B")  # reversal_unmatched: B was corrected already
    legs = [a, b, c]
    event = _lv(["A", "B", "C"], 86000.0, {"CNY": 86000.0}, "C")  # what the customer stage counted: A, B as corrected once, C
    chosen = select(event, legs, 9, [other_amount, cor1, cor2])
    assert chosen.problem is None, chosen.problem
    assert [(leg.tx_id, leg.amount_fen) for leg in chosen.legs] == [("A", 6000000), ("B", 2500000), ("C", 100000)]
    assert chosen.set_aside == ("A-REV", "B-C2")
    # the undoing that caused the revision is never set aside: a figure it does not explain is a mismatch
    wrong = select(_lv(["A"], 60000.0, {"CNY": 60000.0}, "B-C1", "reversal"), [a, b], 4, [cor1])
    assert wrong.problem and "counts 1" in wrong.problem
    # undoings after the cause are not applied at all
    before = select(_lv(["A", "B"], 80000.0, {"CNY": 80000.0}, "B"), [a, b], 2, [other_amount, cor1])
    assert before.problem is None and before.set_aside == ()


def test_two_different_selections_that_both_match_are_not_filed() -> None:
    a, b = _cash(1, "A", "20000.00"), _cash(2, "B", "20000.00")
    cor_a = _cash(3, "A-C", "40000.00", tx_type="correction", original_tx_id="A")
    cor_b = _cash(4, "B-C", "40000.00", tx_type="correction", original_tx_id="B")
    x = _cash(5, "X", "1000.00")
    # one of the two corrections was refused, and the event's figures cannot say which
    chosen = select(_lv(["A", "B", "X"], 61000.0, {"CNY": 61000.0}, "X"), [a, b, x], 5, [cor_a, cor_b])
    assert chosen.problem and chosen.problem.startswith("ambiguous")


def test_per_currency_totals_are_summed_as_the_customer_stage_sums_them() -> None:
    """CNY from the leg's fen (its amount rounded half-even to the fen when decoded), other currencies
    in thousandths rounded half-even: never the raw amount string (finding: 55,000.005 vs 55,000.00)."""
    from factors.large_value import foreign_amounts
    from streams.decode import decode_transaction

    doc = {"tx_id": "T-5", "customer_id": "C-1", "ts": "2026-11-02T10:00:00+08:00", "direction": "in", "amount": "25000.005", "currency": "CNY", "method": "cash"}
    try:
        tx = decode_transaction(None, orjson.dumps(doc), FX, 1 << 20)
    except DecodeError:
        tx = None  # the decoder refuses sub-fen amounts: neither stage counts the leg
    if tx is not None:
        leg = Leg.of(tx, doc, 2, 20759)
        assert (leg.amount, leg.amount_fen) == (tx.amount, tx.amount_fen), "the archive keeps what the decoder made of the amount"
        assert select(_lv(["T-1", "T-5"], 55000.0, {"CNY": 55000.0}, "T-5"), [LEGS[0], leg], 2).problem is None
    usd = Leg(2, "T-U", "C-1", 1793581300000, 20759, "in", "10000.0005", "USD", FX.to_fen(Decimal("10000.0005"), "USD"), "cash", "counter", False)
    assert foreign_amounts(usd, FX)[1] == 10000000  # type: ignore[arg-type]
    event = _lv(["T-1", "T-U"], (LEGS[0].amount_fen + usd.amount_fen) / 100, {"CNY": 30000.0, "USD": 10000.0}, "T-U")
    assert select(event, [LEGS[0], usd], 2, fx=FX).problem is None
    assert "by currency" in select(_lv(["T-1", "T-U"], event.total_cny, {"CNY": 30000.0, "USD": 10000.001}, "T-U"), [LEGS[0], usd], 2, fx=FX).problem


@pytest.mark.parametrize("form", ["counterparty_id", "counterparty_account"])
def test_own_account_moves_are_not_listed_in_either_form(form: str) -> None:
    """A transfer between the customer's own accounts (its own id as the counterparty, or one of the
    profile's `accounts`; same bank, domestic) is no flow: the customer stage does not count it."""
    own = {"counterparty_id": "C-1"} if form == "counterparty_id" else {"counterparty_account": "6222-0000-1111"}
    legs = [
        Leg(1, "T-1", "C-1", 1793581200000, 20759, "out", "300000.00", "CNY", 30000000, "transfer", "online", False, counterparty_id="K-9"),
        Leg(2, "T-OWN", "C-1", 1793581300000, 20759, "out", "400000.00", "CNY", 40000000, "transfer", "online", False, **own),  # type: ignore[arg-type]
        Leg(3, "T-2", "C-1", 1793581400000, 20759, "out", "250000.00", "CNY", 25000000, "transfer", "online", False, counterparty_id="K-8"),
    ]
    event = ReportEvent.model_validate(
        {"event_id": "a" * 32, "customer_id": "C-1", "report_key": "b" * 32, "revision": 1, "rule_code": "0503", "direction": "out", "business_date": "2026-11-02",
         "total_cny": 550000.0, "totals_by_currency": {"CNY": 550000.0}, "tx_ids": ["T-1", "T-2"], "tx_count": 2, "cause": {"kind": "transaction", "ref": "T-2"}}
    )  # fmt: skip
    chosen = select(event, legs, 3, own_accounts=["6222 0000 1111"])
    assert chosen.problem is None and [leg.tx_id for leg in chosen.legs] == ["T-1", "T-2"]


def test_a_reversal_that_came_before_its_original_leaves_the_original_uncounted() -> None:
    """The customer stage keeps such a reversal until its original arrives, which then counts for nothing."""
    rev = _cash(1, "A-REV", "60000.00", tx_type="reversal", original_tx_id="A")
    a, b, c = _cash(2, "A", "60000.00"), _cash(3, "B", "30000.00"), _cash(4, "C", "25000.00")
    chosen = select(_lv(["B", "C"], 55000.0, {"CNY": 55000.0}, "C"), [rev, a, b, c], 4, [rev])
    assert chosen.problem is None and [leg.tx_id for leg in chosen.legs] == ["B", "C"]
