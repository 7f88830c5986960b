"""Backtest: the same input under two scoring standards, compared, and scored against labels."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from streams.model import Model
from streams.replay import ReplayResult, replay
from streams.settings import Settings


def read_labels(path: Path) -> dict[str, set[str]]:
    """customer_id -> typologies (a `labels.csv` with columns customer_id and typology or label)."""
    labels: dict[str, set[str]] = {}
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            typology = (row.get("typology") or row.get("label") or "").strip()
            if typology and typology.lower() not in ("normal", "none", "0"):
                labels.setdefault(row["customer_id"], set()).add(typology)
    return labels


def _prf(flagged: set[str], actual: set[str]) -> dict[str, Any]:
    tp = len(flagged & actual)
    precision = tp / len(flagged) if flagged else None
    recall = tp / len(actual) if actual else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else (0.0 if precision is not None and recall is not None else None)
    return {"flagged": len(flagged), "labelled": len(actual), "true_positives": tp, "precision": _round(precision), "recall": _round(recall), "f1": _round(f1)}


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def score_against_labels(result: ReplayResult, labels: dict[str, set[str]]) -> dict[str, Any]:
    """Per pattern: customers alerted for it vs customers labelled with that typology; overall:
    customers with any alert vs customers with any label."""
    patterns = sorted(set(result.alerts_by_pattern) | {t for ts in labels.values() for t in ts})
    per_pattern = {}
    for p in patterns:
        actual = {c for c, ts in labels.items() if p in ts}
        per_pattern[p] = _prf(result.alerts_by_pattern.get(p, set()), actual)
    flagged_any = set().union(*result.alerts_by_pattern.values()) if result.alerts_by_pattern else set()
    return {"per_pattern": per_pattern, "overall": _prf(flagged_any, set(labels))}


def compare(a: ReplayResult, b: ReplayResult, ranks: dict[str, int]) -> dict[str, Any]:
    moves: Counter[str] = Counter()
    up = down = same = 0
    for customer in sorted(set(a.final) | set(b.final)):
        la, lb = a.final.get(customer, {}).get("level"), b.final.get(customer, {}).get("level")
        if la == lb:
            same += 1
            continue
        moves[f"{la} -> {lb}"] += 1
        if ranks.get(lb, -1) > ranks.get(la, -1):
            up += 1
        else:
            down += 1
    return {"customers": len(set(a.final) | set(b.final)), "unchanged": same, "up": up, "down": down, "moves": dict(moves.most_common())}


async def backtest(
    settings: Settings, models: tuple[Model, Model], transactions: str, customers: str | None, out_dir: Path, labels_path: Path | None = None, progress: bool = False
) -> dict[str, Any]:
    isolated = settings.model_copy(update={"redis_url_given": False})  # each standard on its own throwaway Redis
    results = []
    for i, model in enumerate(models):
        results.append(await replay(isolated, model, transactions, customers, out_dir / f"run-{'ab'[i]}", progress=progress))
    ranks = {cut.level: i for i, cut in enumerate(models[1].standard.levels)} | {cut.level: i for i, cut in enumerate(models[0].standard.levels)}
    report: dict[str, Any] = {
        "standards": [m.version for m in models],
        "level_changes": compare(results[0], results[1], ranks),
        "alerts_by_pattern": [{p: len(c) for p, c in sorted(r.alerts_by_pattern.items())} for r in results],
        "summaries": [r.summary(m.version) for r, m in zip(results, models, strict=True)],
    }
    if labels_path is not None:
        labels = read_labels(labels_path)
        report["labels"] = [score_against_labels(r, labels) for r in results]
    (out_dir / "backtest.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    text = render(report)
    (out_dir / "backtest.txt").write_text(text, encoding="utf-8")
    return report


def render(report: dict[str, Any]) -> str:
    a, b = report["standards"]
    changes = report["level_changes"]
    lines = [
        f"backtest: A = {a}",
        f"          B = {b}",
        "",
        f"customers: {changes['customers']}, level unchanged {changes['unchanged']}, up {changes['up']}, down {changes['down']}",
    ]
    lines += [f"  {move}: {n}" for move, n in changes["moves"].items()]
    lines += ["", f"{'pattern':<26}{'alerted A':>10}{'alerted B':>10}"]
    patterns = sorted(set(report["alerts_by_pattern"][0]) | set(report["alerts_by_pattern"][1]))
    lines += [f"{p:<26}{report['alerts_by_pattern'][0].get(p, 0):>10}{report['alerts_by_pattern'][1].get(p, 0):>10}" for p in patterns]
    if "labels" in report:
        lines += ["", f"{'against labels':<26}{'P(A)':>8}{'R(A)':>8}{'F1(A)':>8}{'P(B)':>8}{'R(B)':>8}{'F1(B)':>8}"]
        names = [*sorted(report["labels"][0]["per_pattern"]), "overall"]
        for name in names:
            cells = []
            for side in report["labels"]:
                m = side["overall"] if name == "overall" else side["per_pattern"].get(name, {})
                cells += [_cell(m.get("precision")), _cell(m.get("recall")), _cell(m.get("f1"))]
            lines.append(f"{name:<26}" + "".join(f"{c:>8}" for c in cells))
    return "\n".join(lines) + "\n"


def _cell(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"
