"""Counterparty identity: every spelling of one party maps to one identity, distinct parties stay distinct."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from factors.identity import canonical_counterparty, counterparty_digest, digest, normalise_account, normalise_name

ROOT = Path(__file__).resolve().parents[3]
VARIANTS = ROOT / "tests" / "data" / "counterparty-name-variants.jsonl"


def _ident(row: dict) -> str | None:
    return canonical_counterparty(row.get("counterparty_id"), row.get("counterparty_account"), row.get("counterparty_bank"), row.get("counterparty_name"))


def test_every_name_variant_of_the_field_case_is_one_payer():
    rows = [orjson.loads(line) for line in VARIANTS.read_bytes().splitlines() if line.strip()]
    payers = {_ident(r) for r in rows if r["direction"] == "in"}
    assert len([r for r in rows if r["direction"] == "in"]) == 10
    assert payers == {"name:shanghaihengtongtrading@icbcshanghaibranch"}
    payee = {_ident(r) for r in rows if r["direction"] == "out"}
    assert payee == {"id:SUP-77"}


@pytest.mark.parametrize(
    "variant",
    [
        "Shanghai Hengtong Trading Co., Ltd.",
        "ＳＨＡＮＧＨＡＩ　ＨＥＮＧＴＯＮＧ　ＴＲＡＤＩＮＧ　ＣＯ．，ＬＴＤ．",
        "shanghai hengtong trading company limited",
        "SHANGHAI-HENGTONG TRADING LTD",
        "Shanghai Hengtong Trading (Co. Ltd)",
        " SHANGHAI HENG TONG TRADING CO LTD ",
    ],
)
def test_english_legal_forms_width_and_spacing(variant):
    assert normalise_name(variant) == "shanghaihengtongtrading"


CHINESE_VARIANTS = ["上海恒通贸易有限公司", "上海恒通贸易股份有限公司", "上海恒通贸易有限责任公司", "上海恒通贸易公司", "上海 恒通 贸易 有限公司"]
CHINESE_VARIANTS.append("（上海恒通贸易有限公司）")


@pytest.mark.parametrize("variant", CHINESE_VARIANTS)
def test_chinese_legal_forms(variant):
    assert normalise_name(variant) == "上海恒通贸易"


@pytest.mark.parametrize(
    "a,b",
    [
        ("Shanghai Hengtong Trading Co., Ltd.", "Shanghai Hengtai Trading Co., Ltd."),
        ("上海恒通贸易有限公司", "上海恒通物流有限公司"),
        ("Zhang Wei", "Zhang Wen"),
        ("Acme GmbH", "Acme Holding GmbH"),
        ("Beijing Co-op Supplies Co., Ltd.", "Beijing Supplies Co., Ltd."),
    ],
)
def test_realistic_distinct_names_stay_distinct(a, b):
    assert normalise_name(a) != normalise_name(b)


def test_same_name_at_different_banks_is_two_parties():
    a = canonical_counterparty(None, None, "ICBC Shanghai Branch", "张伟")
    b = canonical_counterparty(None, None, "Bank of China", "张伟")
    assert a != b
    assert canonical_counterparty(None, None, "ICBC  SHANGHAI BRANCH", "张 伟") == a


def test_precedence_account_then_id_then_name():
    assert canonical_counterparty("CP-1", "6222 0210-0112 3456 789", "ICBC", "Zhang Wei") == "acct:62220210011234567 89".replace(" ", "")
    assert canonical_counterparty("CP-1", None, "ICBC", "Zhang Wei") == "id:CP-1"
    assert canonical_counterparty(None, None, None, "Zhang Wei") == "name:zhangwei"
    assert canonical_counterparty(None, None, "ICBC", None) is None
    assert canonical_counterparty(None, "", None, "  ") is None


def test_account_numbers_normalised():
    assert normalise_account("gb82 west 1234 5698 7654 32") == "GB82WEST12345698765432"
    assert normalise_account("６２２２－０２１０") == "62220210"
    assert canonical_counterparty(None, "GB82WEST12345698765432", "NWBKGB2L", "x") == canonical_counterparty(None, "gb82-west-1234-5698-7654-32", None, None)


def test_a_name_that_is_only_a_legal_form_is_kept():
    assert normalise_name("Limited") == "limited"
    assert normalise_name("有限公司") == "有限公司"
    assert normalise_name("...") == ""


def test_digest_is_stable_and_short():
    ident = canonical_counterparty("CP-1", None, None, None)
    assert digest(ident) == digest("id:CP-1") and len(digest(ident)) == 12
    assert counterparty_digest(None, None, None, None) == ""
    assert counterparty_digest("CP-1", None, None, None) == digest("id:CP-1")
    assert digest("id:CP-1") != digest("id:CP-2")


def test_dotted_and_traditional_legal_forms_are_stripped_like_the_plain_ones():
    """Review of #13: 'L.L.C.' kept its letters ('acmellc' vs 'acme' for 'Acme LLC'), the
    traditional 有限責任公司 was not stripped, 'GmbH & Co. KG' kept 'kg'."""
    assert normalise_name("Acme L.L.C.") == normalise_name("ACME LLC") == normalise_name("Acme, Inc.") == "acme"
    assert normalise_name("Acme L.L.P.") == normalise_name("Acme P.L.C.") == "acme"
    assert normalise_name("上海恒通贸易有限責任公司") == normalise_name("上海恒通贸易有限责任公司") == "上海恒通贸易"
    assert normalise_name("Acme GmbH & Co. KG") == "acme"


def test_own_variants_of_one_payer_are_one_identity():
    """Full width, ideographic spaces, trailing dots and commas, Chinese legal forms with or without
    punctuation and full-width parentheses, zero-width spaces; accounts with spaces, dashes, dots."""
    names = [
        "SHANGHAI HENGTONG TRADING CO., LTD.",
        "ＳＨＡＮＧＨＡＩ　ＨＥＮＧＴＯＮＧ　ＴＲＡＤＩＮＧ　ＣＯ．，ＬＴＤ．",
        "Shanghai Hengtong Trading Company Limited",
        "SHANGHAI HENGTONG TRADING CO.,LTD.,",
        "Shanghai Hengtong Trading Co. Ltd...",
    ]
    assert len({canonical_counterparty(None, None, "ICBC", n) for n in names}) == 1
    chinese = ["上海恒通贸易有限公司", "上海恒通贸易有限公司。", "上海恒通贸易（有限公司）", "上海恒通贸易 有限公司"]
    chinese += ["上海恒通贸易股份有限公司", "上海恒通贸易有限公司\u200b"]
    assert {normalise_name(n) for n in chinese} == {"上海恒通贸易"}
    accounts = ["6222 0212 3456 7890", "6222-0212-3456-7890", "６２２２０２１２３４５６７８９０", "6222.0212.3456.7890 "]
    assert {canonical_counterparty("X", a, "ICBC", "n") for a in accounts} == {"acct:6222021234567890"}
