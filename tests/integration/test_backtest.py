"""Backtest over a generated stream with ground truth: two standards compared, and each scored
per pattern against the injected typologies."""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from factors.standard import DEFAULT_STANDARD_PATH
from streams.backtest import backtest
from streams.model import load_model
from streams.settings import load_settings
from synthbank import write


async def test_backtest_reports_per_pattern_precision_and_recall_on_a_generated_stream(local_services, tmp_path):
    counts = write(tmp_path / "gen", 800, 20, 11)
    assert counts["labels"] >= 10
    stricter = tmp_path / "stricter.toml"
    text = DEFAULT_STANDARD_PATH.read_text().replace('version = "default-2026.11"', 'version = "stricter"')
    stricter.write_text(text.replace('[[levels]]\nlevel = "watch"\ndisplay = "关注"\nmin_score = 30', '[[levels]]\nlevel = "watch"\ndisplay = "关注"\nmin_score = 10'))
    os.chmod(stricter, 0o600)
    models = (load_model(), load_model(stricter))
    gen = tmp_path / "gen"
    _append_large_values(gen)
    report = await backtest(load_settings({}), models, str(gen / "transactions.jsonl"), str(gen / "customers.jsonl"), tmp_path / "bt", gen / "labels.csv")

    assert report["standards"][1].startswith("stricter+")
    moves = report["level_changes"]
    assert moves["up"] > 0 and moves["down"] == 0  # a lower watch cut-off only ever raises levels
    assert moves["customers"] == counts["customers"]
    for side in report["labels"]:
        overall = side["overall"]
        assert overall["recall"] >= 0.9 and overall["precision"] >= 0.5, overall
        labelled = {p: m for p, m in side["per_pattern"].items() if m["labelled"]}
        assert labelled and all(m["recall"] is not None for m in labelled.values())
    assert report["alerts_by_pattern"][0] == report["alerts_by_pattern"][1]  # level cut-offs do not change detections
    assert {"0501 in", "0502 out"} <= set(report["large_value"]) and all(  # nor large-value reports
        g["reports"][0] == g["reports"][1] == g["unchanged"] and not (g["added"]["count"] or g["removed"]["count"] or g["changed"]["count"])
        for g in report["large_value"].values()
    )
    text_report = (tmp_path / "bt" / "backtest.txt").read_text()
    assert "against labels" in text_report and "overall" in text_report


def _append_large_values(gen: Path) -> None:
    """The generated bank has no benign large-value activity (its cash stays under 50,000 CNY and its
    transfers under the 0502/0503 lines), so a cash deposit by an individual and a transfer by an
    entity are added at the end of the stream."""
    customers = [orjson.loads(line) for line in (gen / "customers.jsonl").read_bytes().splitlines()]
    person = next(c["customer_id"] for c in customers if c["kind"] == "individual")
    firm = next(c["customer_id"] for c in customers if c["kind"] == "entity")
    last = orjson.loads((gen / "transactions.jsonl").read_bytes().splitlines()[-1])["ts"]
    legs = [
        {"tx_id": "LV-1", "customer_id": person, "ts": last, "direction": "in", "amount": "62000.50", "currency": "CNY", "method": "cash"},
        {
            "tx_id": "LV-2",
            "customer_id": firm,
            "ts": last,
            "direction": "out",
            "amount": "2500000.30",
            "currency": "CNY",
            "method": "transfer",
            "counterparty_id": "X-1",
            "counterparty_bank": "Other Bank",
        },
    ]
    with (gen / "transactions.jsonl").open("ab") as f:
        f.write(b"".join(orjson.dumps(leg) + b"\n" for leg in legs))


async def test_backtest_compares_large_value_reports_per_rule_and_direction(local_services, tmp_path):
    legs = [
        ("K-1", "in", "60000", "CNY", "cash"),  # reported under both: unchanged
        ("K-2", "in", "30000", "CNY", "cash"),  # B's cash line is 20,000: added
        ("K-3", "out", "12000", "USD", "cash"),  # reported under both, B converts USD at another rate: changed
        ("K-4", "out", "600000", "CNY", "transfer"),  # B's domestic transfer line is 700,000: removed
    ]
    tx = tmp_path / "tx.jsonl"
    tx.write_text(
        "".join(
            f'{{"tx_id":"{c}-1","customer_id":"{c}","ts":"2026-11-02T10:00:00+08:00","direction":"{d}","amount":"{a}","currency":"{ccy}","method":"{m}"}}\n'
            for c, d, a, ccy, m in legs
        )
    )
    b = tmp_path / "b.toml"
    rules = "# rules.0501 = { cny = 50000, usd = 10000 } ... override the PBOC thresholds here if needed"
    b.write_text(DEFAULT_STANDARD_PATH.read_text().replace(rules, "rules.0501 = { cny = 20000 }\nrules.0503 = { cny = 700000 }").replace('USD = "7.10"', 'USD = "7.20"'))
    os.chmod(b, 0o600)
    report = await backtest(load_settings({}), (load_model(), load_model(b)), str(tx), None, tmp_path / "bt")

    lv = report["large_value"]
    assert set(lv) == {"0501 in", "0501 out", "0503 out"}
    cash_in, cash_out, transfer_out = lv["0501 in"], lv["0501 out"], lv["0503 out"]
    assert cash_in["reports"] == [1, 2] and cash_in["total_cny"] == [60000.0, 90000.0] and cash_in["unchanged"] == 1
    assert cash_in["added"]["count"] == 1 and cash_in["added"]["total_cny"] == 30000.0
    assert [(r["customer_id"], r["business_date"], r["total_cny"], r["tx_count"]) for r in cash_in["added"]["reports"]] == [("K-2", "2026-11-02", 30000.0, 1)]
    assert cash_out["changed"]["count"] == 1 and cash_out["changed"]["total_cny"] == [85200.0, 86400.0]
    assert cash_out["changed"]["reports"][0]["customer_id"] == "K-3" and cash_out["unchanged"] == 0
    assert transfer_out["removed"]["count"] == 1 and transfer_out["removed"]["total_cny"] == 600000.0 and transfer_out["reports"] == [1, 0]
    assert transfer_out["thresholds"] == [{"cny": 500000.0, "usd": 100000.0}, {"cny": 700000.0, "usd": 100000.0}]
    key = cash_in["added"]["reports"][0]["report_key"]
    runs = {side: (tmp_path / "bt" / f"run-{side}" / "large-value-reports.jsonl").read_text() for side in "ab"}
    assert key in runs["b"] and key not in runs["a"]

    text = (tmp_path / "bt" / "backtest.txt").read_text()
    assert "large-value reports" in text
    assert "  0501 in added: 1 report, CNY 30,000.00" in text and "    + 2026-11-02 K-2  CNY 30,000.00 (1 leg)  " + key in text
    assert "  0501 out changed: 1 report, CNY 85,200.00 -> 86,400.00" in text
    assert "  0503 out removed: 1 report, CNY 600,000.00" in text
    assert "  0503 out: thresholds A CNY 500,000.00 / USD 100,000.00, B CNY 700,000.00 / USD 100,000.00" in text
