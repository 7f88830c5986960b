"""The benchmark: one command, real local Kafka and Redis, a JSON result file and a table.

    python -m bench.run                              # every section, full size
    python -m bench.run --only busy --only latency   # some sections (repeatable)
    python -m bench.run --quick                      # smaller inputs, shorter runs
    python -m bench.run --redis redis://127.0.0.1:6408/0   # an existing Redis (default: a private one)

Sections (results merged into bench/results/latest.json and a dated copy; other sections keep
their last results, each with the date it was measured):
  throughput  plain aiokafka consumer, bare faust pass-through and one worker over one topic
  scale-out   1 vs 2 workers in one group
  latency     event time -> risk change at 50 % of the worker's measured rate, batch window 200 and 50 ms
  busy        one customer with 50,000 receipts from 20,000 payers in a day among ordinary customers
  memory      Redis bytes per customer (90 days; 100k x 30 days and the 1 M extrapolation; by key kind)
  scaling     replay rate and memory with 10x more customers for about the same transactions
  network     the network stage alone (replay engine)
  stages      the customer stage alone vs beside the network stage (both workers), one topic
  iso20022    the ISO 20022 adapter alone
  profile     py-spy of one worker under load (top functions by own and total time)
  scripts     server-side cost of one state-script call: ordinary customers vs a busy one
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
from datetime import UTC, datetime
from typing import Any

import orjson

from bench.common import RESULTS, ROOT, Bench, bench_redis, generated, lines, log, merge_results, new_tag

SECTIONS = ("throughput", "scale-out", "latency", "busy", "memory", "scaling", "network", "stages", "iso20022", "profile", "scripts")
DEFAULT = tuple(s for s in SECTIONS if s not in ("profile", "scripts"))  # those two are for diagnosis, not figures


def _last(section: str) -> dict[str, Any]:
    latest = RESULTS / "latest.json"
    return orjson.loads(latest.read_bytes()).get("sections", {}).get(section, {}) if latest.exists() else {}


async def run_section(name: str, bench: Bench, args: argparse.Namespace, done: dict[str, Any]) -> dict[str, Any]:
    customers = max(1000, args.transactions // 45)
    if name == "throughput":
        from bench.throughput import run_throughput

        data = generated(customers, 30, seed=7)
        return await run_throughput(bench, lines(data / "transactions.jsonl", args.transactions), args.repeat)
    if name == "scale-out":
        from bench.throughput import run_scale_out

        data = generated(customers, 30, seed=7)
        return await run_scale_out(bench, lines(data / "transactions.jsonl", min(args.transactions, 100_000 if bench.quick else 300_000)))
    if name == "latency":
        from bench.latency import run_latency

        rate = args.rate or (done.get("throughput") or _last("throughput")).get("worker_tx_per_s")
        if not rate:
            raise SystemExit("latency: no measured worker rate (run --only throughput first or give --rate)")
        return await run_latency(bench, float(rate) * 0.5, 30 if bench.quick else 60)
    if name == "busy":
        from bench.busy import run_busy

        return await run_busy(bench, args.busy_receipts, args.busy_payers)
    if name == "memory":
        from bench.memory import run_memory

        return await run_memory(bench, args.scale_customers, args.scale_days, tuple(args.memory_customers or ()))
    if name == "scaling":
        from bench.memory import run_scaling

        return await run_scaling(bench)
    if name == "network":
        from bench.stages import network_stage

        return await network_stage(bench, 1_000 if bench.quick else 2_000, 30 if bench.quick else 45)
    if name == "stages":
        from bench.stages import run_stages

        data = generated(customers, 30, seed=7)
        return await run_stages(bench, lines(data / "transactions.jsonl", min(args.transactions, 50_000 if bench.quick else 200_000)), args.repeat)
    if name == "iso20022":
        from bench.stages import iso20022_rate

        data = generated(customers, 30, seed=7)
        return await iso20022_rate(bench, data, min(args.transactions, 100_000))
    if name == "profile":
        from bench.profile import run_profile

        data = generated(customers, 30, seed=7)
        return await run_profile(bench, lines(data / "transactions.jsonl", min(args.transactions, 200_000)), args.profile_seconds, args.profile_stage)
    if name == "scripts":
        from bench.scripts import run_scripts

        return await run_scripts(bench)
    raise SystemExit(f"unknown section {name}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run this section (repeatable); default: all but profile")
    parser.add_argument("--transactions", type=int, default=1_000_000, help="input of the throughput section (generated, 30 days)")
    parser.add_argument("--quick", action="store_true", help="smaller inputs and shorter runs everywhere")
    parser.add_argument("--redis", help="Redis URL for the measured processes (default: a private redis-server started for the run)")
    parser.add_argument("--rate", type=float, help="latency: the worker's maximum rate (default: this run's or the last throughput result)")
    parser.add_argument("--busy-receipts", type=int, default=50_000)
    parser.add_argument("--busy-payers", type=int, default=20_000)
    parser.add_argument("--scale-customers", type=int, default=100_000, help="memory: customers of the run extrapolated to 1 M")
    parser.add_argument("--scale-days", type=int, default=30)
    parser.add_argument("--memory-customers", type=int, action="append", help="memory: customers of a 90-day run (repeatable; default 1000)")
    parser.add_argument("--profile-seconds", type=int, default=60)
    parser.add_argument("--profile-stage", choices=("customer", "network"), default="customer", help="profile: the worker to sample")
    parser.add_argument("--repeat", type=int, default=1, help="throughput: pass-through and worker runs, alternately (medians reported)")
    parser.add_argument("--iso20022-only", action="store_true", help=argparse.SUPPRESS)  # the earlier spelling of --only iso20022
    args = parser.parse_args()
    if args.iso20022_only:
        args.only = ["iso20022"]
    if args.quick:
        args.transactions = min(args.transactions, 100_000)
        args.busy_receipts, args.busy_payers = min(args.busy_receipts, 12_000), min(args.busy_payers, 5_000)
        args.scale_customers, args.scale_days = min(args.scale_customers, 10_000), min(args.scale_days, 30)
    subprocess.run(["bash", str(ROOT / "deploy/local/services.sh"), "start", "kafka"], check=True, stdout=subprocess.DEVNULL)
    header = {
        "date": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "note": "Kafka broker, Redis and the measured processes share these cores (and so do other people's jobs)",
        },
    }
    results: dict[str, Any] = {}
    async with bench_redis(args.redis) as url:
        bench = Bench(new_tag(), url, args.quick, own_server=not args.redis)
        for name in args.only or DEFAULT:
            log(f"section {name}")
            results[name] = await run_section(name, bench, args, results) | {"quick": args.quick}
            merged = merge_results({name: results[name]}, header)  # after each section: a later failure loses nothing
    print(table(merged["sections"]))


NO_SHARED = "redis_bytes_per_customer_without_shared_keys"


def table(s: dict[str, Any]) -> str:
    rows: list[tuple[str, Any]] = []
    if t := s.get("throughput"):
        rows += [
            ("plain aiokafka getmany (msgs/s)", t["aiokafka_getmany_msgs_per_s"]),
            ("bare faust pass-through (msgs/s)", t["faust_passthrough_msgs_per_s"]),
            ("one amlstream worker (tx/s)", t["worker_tx_per_s"]),
            ("worker / pass-through", t["worker_vs_passthrough"]),
        ]
    if t := s.get("scale-out"):
        rows.append(("2 workers / 1 worker", t["ratio"]))
    if t := s.get("latency"):
        for run in t["runs"]:
            rows.append((f"latency p50/p95/p99 ms, window {run['batch_window_ms']} ms", f"{run['p50_ms']} / {run['p95_ms']} / {run['p99_ms']}"))
    if t := s.get("busy"):
        rows += [
            ("busy customer: last 10k / first 10k rate", t["last_vs_first"]),
            ("busy customer: longest Redis call (ms)", t["redis"]["slowest_call_ms"]),
            ("busy customer: reports equal recomputation", t["report_check"]["busy_customer_equal"]),
        ]
    if t := s.get("memory"):
        rows += [
            *(
                (f"Redis bytes per customer, {r['customers']} x 90 days (without shared keys)", f"{r['redis_bytes_per_customer']} ({r.get(NO_SHARED)})")
                for r in t.get("memory_90d_runs", [t["memory_90d"]])
            ),
            *(
                [("the same, Redis' default hash-max-listpack-value 64", t["memory_90d_redis_default_listpack"]["redis_bytes_per_customer"])]
                if "memory_90d_redis_default_listpack" in t
                else []
            ),
            (f"Redis bytes per customer, {t['memory_scale']['customers']} x {t['memory_scale']['days']} days", t["memory_scale"]["redis_bytes_per_customer"]),
            ("1 M customers x 30 days (GiB, linear)", t["extrapolated_1m"]["linear_gib"]),
        ]
    if t := s.get("scaling"):
        rows += [(f"{r['customers']} customers: replay tx/s, bytes/customer", f"{r['replay_tx_per_s']}, {r['redis_bytes_per_customer']}") for r in t["runs"]]
    if t := s.get("iso20022"):
        rows.append(("ISO 20022 adapter messages/s (legs/s)", f"{t['messages_per_s']} ({t['legs_per_s']})"))
    width = max((len(k) for k, _ in rows), default=0)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


if __name__ == "__main__":
    asyncio.run(main())
