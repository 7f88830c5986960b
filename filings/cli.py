"""`amlstream filings ...`: the filing stage's commands (hooked into streams/cli.py).

worker        run the filing worker (Kafka, own consumer group)
render        the same over files (replay output, backfills, audits)
status        filing statuses with their history; --customer ID, --overdue
correct       write the corrected (C) file of a filing that needs correction, now
check-config  validate a filings config file
create-topics create the case-decisions topic if missing
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import time
from datetime import datetime
from pathlib import Path

import orjson

from filings.config import load_config
from filings.errors import FilingError
from filings.settings import load_filing_settings
from streams.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("filings", help="regulatory filing: PBoC BH/BS report files, receipts, working-day deadlines")
    cmds = p.add_subparsers(dest="filings_command", required=True)
    cmds.add_parser("worker", help="run the filing worker (AMLSTREAM_FILINGS_* and the worker's connection settings)")
    r = cmds.add_parser("render", help="write the report files for report/decision files (e.g. replay's output)")
    r.add_argument("--reports", type=Path, help="large-value-reports.jsonl")
    r.add_argument("--decisions", type=Path, help="case decisions, JSON Lines")
    r.add_argument("--customers", type=Path, help="customer profiles with identity, JSON Lines")
    r.add_argument("--transactions", type=Path, help="the transactions the reports were computed from (the report files list each one)")
    r.add_argument("--alerts", type=Path, help="suspicious-patterns.jsonl: the evidence of confirmed alerts")
    r.add_argument("--risk-changes", type=Path, help="risk-changes.jsonl: first ratings for the deadline count")
    r.add_argument("--receipts", type=Path, help="a directory of receipts (FDSC/FDRC/MCVR) to apply afterwards")
    r.add_argument("--config", type=Path, help="filings config (default: AMLSTREAM_FILINGS_CONFIG or the packaged one)")
    r.add_argument("--asof", help="RFC 3339 time that ends monitoring periods and counts deadlines (default: now)")
    r.add_argument("--date", help="submission date in file names, YYYYMMDD (default: --asof's date, bank timezone)")
    r.add_argument("--out", type=Path, required=True)
    s = cmds.add_parser("status", help="filing statuses and their history")
    s.add_argument("--customer")
    s.add_argument("--overdue", action="store_true", help="only obligations past their deadline (reports and first ratings)")
    s.add_argument("--json", action="store_true")
    c = cmds.add_parser("correct", help="write the C file of a filing in needs_correction now")
    c.add_argument("--customer", required=True)
    c.add_argument("--out", type=Path, help="the outbox to write to, e.g. the one `render --out` wrote (default: AMLSTREAM_FILINGS_OUTBOX, filings-outbox)")
    k = cmds.add_parser("check-config", help="validate a filings config")
    k.add_argument("file", type=Path, nargs="?")
    t = cmds.add_parser("create-topics", help="create the case-decisions topic if missing")
    t.add_argument("--partitions", type=int, default=4)
    t.add_argument("--replication", type=int, default=1)


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        return _run(args, settings)
    except FilingError as exc:
        print(f"amlstream filings: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, settings: Settings) -> int:
    fsettings = load_filing_settings()
    cmd = args.filings_command
    if cmd == "check-config":
        config = load_config(args.file or fsettings.config)
        from filings.calendar import WorkingCalendar
        from filings.worker import check_timezone
        from streams.model import open_model

        WorkingCalendar.load(config.deadlines.calendar_override)
        check_timezone(config, settings, open_model(settings))
        print(f"ok: {config.config_version}, institution {config.institution.code}, {len(config.codes.countries)} countries, codes reviewed: {config.codes_reviewed}")
        return 0
    if cmd == "worker":
        from filings.worker import run as run_worker

        return asyncio.run(run_worker(settings, fsettings))
    if cmd == "render":
        from filings.render import render
        from streams.decode import parse_timestamp

        asof = datetime.fromtimestamp(parse_timestamp(args.asof, "--asof") / 1000).astimezone() if args.asof else None
        result = asyncio.run(
            render(
                settings,
                args.out,
                transactions=args.transactions,
                customers=args.customers,
                reports=args.reports,
                decisions=args.decisions,
                alerts=args.alerts,
                risk_changes=args.risk_changes,
                receipts=args.receipts,
                config=args.config or fsettings.config,
                asof=asof,
                file_date=args.date,
            )
        )
        print(f"wrote {len(result.written)} report files in {len(result.packages)} packages to {args.out} ({len(result.dead_letters)} dead letters)")
        for kind, (due, overdue) in result.deadlines.items():
            print(f"  {kind}: {due} open, {overdue} overdue")
        for note in result.notes:
            print(f"  {note}")
        return 0
    if cmd == "create-topics":
        return asyncio.run(_create_topic(settings, fsettings.decisions_topic, args.partitions, args.replication))
    return asyncio.run(_status(settings, fsettings, args))


async def _create_topic(settings: Settings, topic: str, partitions: int, replication: int) -> int:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    from streams.connections import kafka_options

    admin = AIOKafkaAdminClient(**kafka_options(settings))
    await admin.start()
    try:
        if topic not in set(await admin.list_topics()):
            try:
                await admin.create_topics([NewTopic(topic, partitions, replication)])
                print(f"created: {topic}")
                return 0
            except TopicAlreadyExistsError:
                pass
        print(f"exists: {topic}")
    finally:
        await admin.close()
    return 0


async def _status(settings: Settings, fsettings, args: argparse.Namespace) -> int:
    from filings.store import FilingStore
    from streams.connections import make_redis

    config = load_config(fsettings.config)
    redis = make_redis(settings)
    store = FilingStore(redis, prefix=f"aml:filings:{config.institution.code}:")
    now_ms = int(time.time() * 1000)
    try:
        if args.filings_command == "correct":
            from filings.worker import build_filer

            if args.out is not None:
                fsettings = dataclasses.replace(fsettings, outbox=args.out)
            filer, _ = build_filer(settings, fsettings, redis)
            written = await filer.retry_corrections(args.customer, force=True)
            print("\n".join(written) or "nothing needs correction")
            return 0
        ids = await store.customer_filings(args.customer) if args.customer else await store.all_filings()
        rows = []
        overdue_ids = {i for kind in ("large_value", "suspicious") for i, due in await store.open_items(kind) if due <= now_ms}
        for fid in ids:
            filing = await store.filing(fid)
            if filing is None or (args.overdue and fid not in overdue_ids):
                continue
            rows.append(
                {k: filing.get(k) for k in ("id", "kind", "customer_id", "status", "due", "file", "package", "detail")}
                | {"overdue": fid in overdue_ids, "history": await store.history(fid)}
            )
        ratings = [(c, due) for c, due in await store.open_items("first_rating") if (not args.customer or c == args.customer) and (not args.overdue or due <= now_ms)]
        if args.json:
            print(
                orjson.dumps(
                    {"filings": rows, "first_ratings": [{"customer_id": c, "due_ms": d, "overdue": d <= now_ms} for c, d in ratings]}, option=orjson.OPT_INDENT_2
                ).decode()
            )
            return 0
        for row in rows:
            flag = "  OVERDUE" if row["overdue"] else ""
            print(f"{row['id']}  {row['customer_id']}  {row['status']}  due {row['due']}{flag}  {row['file'] or '-'}")
            for h in row["history"]:
                print(f"    {h['at']}  {h['status']:<20} {h.get('file') or ''}  {h['note']}")
        for customer_id, due in ratings:
            when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(due / 1000)) + " UTC"
            print(f"first_rating  {customer_id}  due {when}{'  OVERDUE' if due <= now_ms else ''}")
        print(f"{len(rows)} filings, {len(ratings)} open first ratings")
    finally:
        await redis.aclose()
    return 0
