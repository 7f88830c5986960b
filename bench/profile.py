"""Where one worker's time goes (bench section `profile`; diagnosis, not a target figure).

One worker consumes a pre-loaded topic of generated transactions; after a warm-up, py-spy
(sampling, from outside the process: the code under measurement is unchanged) records its
stacks for `seconds` at 100 Hz, idle frames excluded. The collapsed stacks are summed per
function: `own` = share of samples where the function is on top of the stack, `total` = share
where it is anywhere on it (each function counted once per sample). The file with the stacks
is kept under .local/bench/ (flame graph: `py-spy record --format flamegraph`).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import DATA, WORKER, Bench, committed_total, log, produce, provision, start, stop, topics_for, worker_env

WARMUP_S = 15
TOP = 25


def _package(frame: str) -> str:
    """The top-level package (or module) of a frame "function (path/file.py)"."""
    path = frame[frame.find("(") + 1 : -1] if "(" in frame else frame
    if path == "<string>":
        return "generated code (dataclass __init__)"
    return path.split("/", 1)[0].removesuffix(".py") if "/" in path else path.removesuffix(".py")


def summarise(collapsed: Path) -> dict[str, Any]:
    """Shares of the sampled time per function (own, total) and per package (own)."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    by_package: Counter[str] = Counter()
    samples = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        n = int(count_text)
        samples += n
        # a frame reads "function (path/to/file.py:line)": drop the line, keep function and file
        names = [f.rsplit(":", 1)[0] + ")" if f.endswith(")") and ":" in f else f for f in stack.split(";")]
        own[names[-1]] += n
        by_package[_package(names[-1])] += n
        for name in set(names):
            if "(streams/" in name or "(factors/" in name:  # the project's own functions, inclusive
                total[name] += n

    def share(c: Counter[str]) -> list[dict[str, Any]]:
        return [{"function": k, "share": round(v / samples, 4)} for k, v in c.most_common(TOP)] if samples else []

    return {"samples": samples, "own": share(own), "total_project": share(total), "own_by_package": share(by_package)}


async def run_profile(bench: Bench, values: list[bytes], seconds: int, stage: str = "customer") -> dict[str, Any]:
    """py-spy on the customer worker (`stage` "customer"), or on a network worker consuming the
    edges of a customer worker beside it ("network"; the customer worker is not sampled)."""
    if shutil.which("py-spy") is None and not (Path(WORKER[0]).parent / "py-spy").exists():
        raise SystemExit("profile: py-spy is not installed (pip install py-spy)")
    spy = str(Path(WORKER[0]).parent / "py-spy") if (Path(WORKER[0]).parent / "py-spy").exists() else "py-spy"
    tag = bench.tag + "prof"
    topics = topics_for(tag)
    await provision(topics)
    await produce(topics.transactions, values)
    await bench.flush()
    group = f"bench-prof-{tag}"
    env = worker_env(bench, topics, group, 19780)
    proc = start(WORKER, env)
    processes = [proc]
    if stage == "network":
        network_env = env | {"AMLSTREAM_NETWORK": "true", "AMLSTREAM_NETWORK_GROUP_ID": f"{group}-net", "AMLSTREAM_NETWORK_METRICS_PORT": "19781"}
        processes.append(start([*WORKER[:1], "-m", "streams.cli", "network-worker"], network_env))
    sampled = processes[-1]
    out = DATA / f"profile-{time.strftime('%Y%m%d-%H%M%S')}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        await asyncio.sleep(WARMUP_S)
        before = await committed_total([topics.transactions], group)
        log(f"py-spy on the {stage} worker (pid {sampled.pid}) for {seconds} s")
        spy_proc = await asyncio.create_subprocess_exec(
            spy,
            "record",
            "--pid",
            str(sampled.pid),
            "--duration",
            str(seconds),
            "--rate",
            "100",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await spy_proc.wait()
        after = await committed_total([topics.transactions], group)
    finally:
        stop(processes)
    result = summarise(out)
    return {
        "method": "py-spy record --rate 100 --nonblocking --format raw on a running worker, idle frames excluded; own = on top of the stack, total = anywhere on it",
        "stage": stage,
        "seconds": seconds,
        "tx_committed_while_sampled": after - before,
        "stacks_file": str(out.relative_to(DATA.parent.parent)),
        **result,
    }
