"""Backtest: the same input under two scoring standards, compared (levels, alerts per pattern,
large-value reports per rule and direction), and scored against labels."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from factors.large_value import rules_from
from streams.model import Model
from streams.replay import ReplayResult, replay
from streams.settings import Settings


def read_labels(path: Path) -> dict[str, set[str]]:
    """customer_id -> typologies (a `labels.csv` with columns customer_id and typology or label)."""
    labels: dict[str, set[str]] = {}
    with path.open(newline="", encoding="utf-8-sig") as f:  # Excel's "CSV UTF-8" starts with a BOM
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


def _standing(result: ReplayResult) -> dict[str, dict[str, Any]]:
    """The reports that stand at the end of a run: latest event `report`, not withdrawn."""
    return {key: r for key, r in result.reports.items() if r["action"] == "report"}


def _figures(r: dict[str, Any]) -> tuple[Any, ...]:
    return (r["total_cny"], sorted(r["totals_by_currency"].items()), r["usd_equivalent"], r["tx_count"])


def _entry(key: str, a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any]:
    one = a or b
    assert one is not None
    entry = {"report_key": key, "customer_id": one["customer_id"], "business_date": one["business_date"]}
    if a is not None and b is not None:
        return entry | {"total_cny": [a["total_cny"], b["total_cny"]], "tx_count": [a["tx_count"], b["tx_count"]]}
    return entry | {"total_cny": one["total_cny"], "tx_count": one["tx_count"]}


def compare_reports(a: ReplayResult, b: ReplayResult, rules: tuple[dict[str, Any], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Large-value reports of A and B per rule and direction ("0501 in"): reports standing at the
    end of each run (counts and CNY totals), and by `report_key` (customer, rule, direction,
    business day) those only B files (added), only A files (removed), both with other figures
    (changed: total, amounts by currency, USD equivalent or count), and manual reports asked for.
    Lists are sorted by business date and customer; totals are CNY, summed exactly in fen.
    `rules`: each side's thresholds by rule code, shown with the group."""
    sa, sb = _standing(a), _standing(b)
    groups: dict[str, dict[str, Any]] = {}
    fen: dict[str, list[int]] = {}  # group -> standing A, standing B, added, removed, changed A, changed B

    def group(r: dict[str, Any]) -> dict[str, Any]:
        name = f"{r['rule_code']} {r['direction']}"
        if name not in groups:
            groups[name] = {
                "reports": [0, 0],
                "total_cny": [0.0, 0.0],
                "added": {"count": 0, "total_cny": 0.0, "reports": []},
                "removed": {"count": 0, "total_cny": 0.0, "reports": []},
                "changed": {"count": 0, "total_cny": [0.0, 0.0], "reports": []},
                "unchanged": 0,
                "manual": [0, 0],
            }
            if rules is not None:
                groups[name]["thresholds"] = [rules[0].get(r["rule_code"]), rules[1].get(r["rule_code"])]
            fen[name] = [0] * 6
        return groups[name]

    def cents(r: dict[str, Any]) -> int:
        return round(r["total_cny"] * 100)

    for side, standing in enumerate((sa, sb)):
        for r in standing.values():
            group(r)["reports"][side] += 1
            fen[f"{r['rule_code']} {r['direction']}"][side] += cents(r)
    for side, run in enumerate((a, b)):
        for r in run.manual_reports.values():
            group(r)["manual"][side] += 1

    def order(key: str) -> tuple[str, str, str]:
        r = sa.get(key) or sb[key]
        return (r["business_date"], r["customer_id"], key)

    for key in sorted(set(sa) | set(sb), key=order):
        ra, rb = sa.get(key), sb.get(key)
        one = ra or rb
        assert one is not None
        name = f"{one['rule_code']} {one['direction']}"
        g, sums = group(one), fen[name]
        if ra is None or rb is None:
            kind = "added" if ra is None else "removed"
            g[kind]["count"] += 1
            g[kind]["reports"].append(_entry(key, None, one))
            sums[2 if ra is None else 3] += cents(one)
        elif _figures(ra) != _figures(rb):
            g["changed"]["count"] += 1
            g["changed"]["reports"].append(_entry(key, ra, rb))
            sums[4] += cents(ra)
            sums[5] += cents(rb)
        else:
            g["unchanged"] += 1
    for name, g in groups.items():
        sums = fen[name]
        g["total_cny"] = [sums[0] / 100, sums[1] / 100]
        g["added"]["total_cny"] = sums[2] / 100
        g["removed"]["total_cny"] = sums[3] / 100
        g["changed"]["total_cny"] = [sums[4] / 100, sums[5] / 100]
    return dict(sorted(groups.items()))


def _thresholds(model: Model) -> dict[str, dict[str, float]]:
    return {r.code: {"cny": r.cny, "usd": r.usd} for r in rules_from(model.standard.large_value.model_dump(exclude_none=True))}


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
        "large_value": compare_reports(results[0], results[1], (_thresholds(models[0]), _thresholds(models[1]))),
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
    lines += _render_reports(report.get("large_value", {}))
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


def _render_reports(groups: dict[str, Any], listed: int = 20) -> list[str]:
    """The large-value comparison: per rule and direction, reports standing in A and B with their
    CNY totals, then added / removed / changed ones (the first `listed` of each named)."""
    lines = ["", f"{'large-value reports':<26}{'A':>8}{'B':>8}{'CNY A':>18}{'CNY B':>18}{'added':>8}{'removed':>9}{'changed':>9}{'manual A/B':>12}"]
    if not groups:
        return [*lines, "  none in either run"]
    for name, g in groups.items():
        lines.append(
            f"{name:<26}{g['reports'][0]:>8}{g['reports'][1]:>8}{g['total_cny'][0]:>18,.2f}{g['total_cny'][1]:>18,.2f}"
            f"{g['added']['count']:>8}{g['removed']['count']:>9}{g['changed']['count']:>9}{g['manual'][0]:>6}/{g['manual'][1]:<5}"
        )
    for name, g in groups.items():
        thresholds = g.get("thresholds")
        if thresholds and thresholds[0] != thresholds[1]:
            a, b = thresholds
            lines.append(f"  {name}: thresholds A CNY {a['cny']:,.2f} / USD {a['usd']:,.2f}, B CNY {b['cny']:,.2f} / USD {b['usd']:,.2f}")
        for kind, sign in (("added", "+"), ("removed", "-")):
            part = g[kind]
            if part["count"]:
                lines.append(f"  {name} {kind}: {_n(part['count'], 'report')}, CNY {part['total_cny']:,.2f}")
                lines += [
                    f"    {sign} {r['business_date']} {r['customer_id']}  CNY {r['total_cny']:,.2f} ({_n(r['tx_count'], 'leg')})  {r['report_key']}"
                    for r in part["reports"][:listed]
                ]
                if part["count"] > listed:
                    lines.append(f"    ... {part['count'] - listed} more in backtest.json")
        changed = g["changed"]
        if changed["count"]:
            lines.append(f"  {name} changed: {_n(changed['count'], 'report')}, CNY {changed['total_cny'][0]:,.2f} -> {changed['total_cny'][1]:,.2f}")
            lines += [
                f"    ~ {r['business_date']} {r['customer_id']}  CNY {r['total_cny'][0]:,.2f} -> {r['total_cny'][1]:,.2f} "
                f"({r['tx_count'][0]} -> {_n(r['tx_count'][1], 'leg')})  {r['report_key']}"
                for r in changed["reports"][:listed]
            ]
            if changed["count"] > listed:
                lines.append(f"    ... {changed['count'] - listed} more in backtest.json")
    return lines


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _cell(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"
