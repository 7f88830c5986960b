"""Backtest over a generated stream with ground truth: two standards compared, and each scored
per pattern against the injected typologies."""

from __future__ import annotations

import os

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
    text_report = (tmp_path / "bt" / "backtest.txt").read_text()
    assert "against labels" in text_report and "overall" in text_report
