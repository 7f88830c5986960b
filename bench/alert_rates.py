"""Alert rates of the customer-level rules on a generated bank: benign customers vs labelled ones.

    python -m bench.alert_rates --gen GEN_DIR --run before=OUT_A --run after=OUT_B [--json FILE]

GEN_DIR is what `amlstream generate` wrote (labels.csv, network_labels.csv, customers.jsonl);
each OUT is a `replay` output directory (or a `backtest` run-a / run-b directory) over it. Per
run: the share of benign customers (neither in labels.csv nor a customer member of a network
group) alerted by each customer-level pattern and by any of them; per customer-level typology
the recall of its own pattern and of any customer-level pattern; how many network member
customers any customer-level pattern alerts. Counts are customers, not alerts; an alert is a
`suspicious_pattern` event with status `open` (withdrawn alerts do not count).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import Any

import orjson

from factors.patterns import PATTERNS


def _alerts(out: Path) -> dict[str, set[str]]:
    """pattern -> customers with at least one open alert of it (customer-level patterns only)."""
    by_pattern: dict[str, set[str]] = {}
    with (out / "suspicious-patterns.jsonl").open("rb") as f:
        for line in f:
            event = orjson.loads(line)
            if event.get("status", "open") == "open" and event["pattern"] in PATTERNS:
                by_pattern.setdefault(event["pattern"], set()).add(event["customer_id"])
    return by_pattern


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def measure(gen: Path, out: Path) -> dict[str, Any]:
    customers = {orjson.loads(line)["customer_id"] for line in (gen / "customers.jsonl").read_bytes().splitlines() if line.strip()}
    labels: dict[str, set[str]] = {}
    for row in _rows(gen / "labels.csv"):
        labels.setdefault(row["typology"], set()).add(row["customer_id"])
    members = {row["customer_id"] for row in _rows(gen / "network_labels.csv") if row.get("customer_id")}
    labelled = set().union(*labels.values()) if labels else set()
    benign = customers - labelled - members
    alerts = _alerts(out)
    any_alert = set().union(*alerts.values()) if alerts else set()
    return {
        "customers": len(customers),
        "benign_customers": len(benign),
        "benign_alerted": {p: len(c & benign) for p, c in sorted(alerts.items()) if c & benign},
        "benign_alerted_any": len(any_alert & benign),
        "benign_alert_rate": round(len(any_alert & benign) / len(benign), 5) if benign else None,
        "recall": {
            t: {"labelled": len(c), "own_pattern": round(len(c & alerts.get(t, set())) / len(c), 4), "any_pattern": round(len(c & any_alert) / len(c), 4)}
            for t, c in sorted(labels.items())
        },
        "network_members": len(members),
        "network_members_alerted": len(members & any_alert),
    }


def render(results: dict[str, dict[str, Any]]) -> str:
    names = list(results)
    lines = [f"{'':<28}" + "".join(f"{n:>14}" for n in names)]
    first = results[names[0]]
    lines.append(f"{'benign customers':<28}" + "".join(f"{r['benign_customers']:>14}" for r in results.values()))
    lines.append(f"{'benign alerted (any rule)':<28}" + "".join(f"{r['benign_alerted_any']:>8} {100 * r['benign_alert_rate']:>4.1f}%" for r in results.values()))
    for p in sorted({p for r in results.values() for p in r["benign_alerted"]}):
        lines.append(f"{'  ' + p:<28}" + "".join(f"{r['benign_alerted'].get(p, 0):>14}" for r in results.values()))
    lines.append("recall (own pattern / any)")
    for t in first["recall"]:
        cells = "".join(f"{r['recall'][t]['own_pattern']:>8.2f}/{r['recall'][t]['any_pattern']:.2f}" for r in results.values())
        lines.append(f"{'  ' + t + ' (' + str(first['recall'][t]['labelled']) + ')':<28}{cells}")
    lines.append(f"{'network members alerted':<28}" + "".join(f"{r['network_members_alerted']:>10}/{r['network_members']:<3}" for r in results.values()))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gen", required=True, type=Path)
    parser.add_argument("--run", action="append", required=True, help="NAME=REPLAY_OUT_DIR (repeatable)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = {name: measure(args.gen, Path(path)) for name, path in (r.split("=", 1) for r in args.run)}
    print(render(results), end="")
    if args.json:
        args.json.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))


if __name__ == "__main__":
    main()
