"""`amlstream` command line: worker, topic provisioning, sample producer, event tail."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from redis.exceptions import RedisError

from iso20022 import cli as iso_cli
from streams.connections import kafka_options, make_redis
from streams.decode import json_object
from streams.errors import AmlStreamError, InputFileError, RuntimeFailure
from streams.runtime import tune_gc
from streams.settings import Settings, env_name, load_settings, mask_url

LONG_RUNNING = frozenset(("worker", "network-worker", "replay", "network-replay", "backtest", "rescore-all"))  # streams.runtime.tune_gc


def _topics_for_provisioning(settings: Settings, partitions: int) -> list[NewTopic]:
    t = settings.topics
    outputs = (t.risk_changes, t.patterns, t.large_value, t.dead_letter)
    topics = [NewTopic(t.transactions, partitions, 1), NewTopic(t.customers, partitions, 1, topic_configs={"cleanup.policy": "compact"})]
    topics += [NewTopic(name, partitions, 1) for name in outputs]
    topics += [NewTopic(t.edges, partitions, 1), NewTopic(t.network_detections, partitions, 1)]  # the network stage's
    topics += [NewTopic(name, partitions, 1) for name in (t.iso20022_pacs008, t.iso20022_camt054)]  # ISO 20022 input (iso20022/adapter.py)
    topics += [NewTopic(t.case_decisions, partitions, 1)]  # analysts' decisions, the filing stage's input (filings/)
    # every published peer baseline, keyed "<group>|<version>" (one version per key): compaction keeps them all
    topics += [NewTopic(t.peer_baselines, 1, 1, topic_configs={"cleanup.policy": "compact"})]
    return topics


async def create_topics(settings: Settings, partitions: int, replication: int) -> list[str]:
    admin = AIOKafkaAdminClient(**kafka_options(settings))
    await admin.start()
    created = []
    try:
        existing = set(await admin.list_topics())
        for topic in _topics_for_provisioning(settings, partitions):
            if topic.name in existing:
                continue
            topic.replication_factor = replication
            try:
                await admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
    return created


async def produce_sample(settings: Settings, customers: int, days: int, seed: int) -> int:
    from streams.sample import sample_stream

    producer = AIOKafkaProducer(**kafka_options(settings), acks="all", enable_idempotence=True, linger_ms=10)
    await producer.start()
    n = 0
    try:
        futures = []
        for key, value in sample_stream(customers, days, seed):
            futures.append(await producer.send(settings.topics.transactions, key=key, value=value))
            n += 1
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return n


async def tail(settings: Settings, topics: list[str], idle_seconds: float, max_wait: float, show: int) -> dict[str, int]:
    """Read topics from the beginning until no new event arrived for `idle_seconds`."""
    consumer = AIOKafkaConsumer(*topics, **kafka_options(settings), auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    counts: dict[str, int] = dict.fromkeys(topics, 0)
    started = last = time.monotonic()
    try:
        while time.monotonic() - last < idle_seconds and time.monotonic() - started < max_wait:
            batch = await consumer.getmany(timeout_ms=500)
            for tp, records in batch.items():
                for record in records:
                    last = time.monotonic()
                    counts[tp.topic] += 1
                    if counts[tp.topic] <= show:
                        print(_summary(tp.topic, orjson.loads(record.value)))
    finally:
        await consumer.stop()
    return counts


def evaluation_table(report: dict[str, Any]) -> str:
    """A node-level evaluation (streams.network.evaluation) as a plain-text table."""

    def f(x: float | None) -> str:
        return "-" if x is None else f"{x:.2f}"

    rows = [f"{'pattern':<20} {'named':>6} {'members':>8} {'precision':>9} {'recall':>7} {'F1':>5}"]
    for name, r in [*report["per_pattern"].items(), ("overall", report["overall"])]:
        rows.append(f"{name:<20} {r['named']:>6} {r['labelled']:>8} {f(r['precision']):>9} {f(r['recall']):>7} {f(r['f1']):>5}")
    return "\n".join(rows)


async def topic_partitions(settings: Settings, topic: str) -> list[int]:
    """The partition numbers of an existing topic (InputFileError naming it if it does not exist)."""
    admin = AIOKafkaAdminClient(**kafka_options(settings))
    try:
        await admin.start()
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described.get("error_code") or not described.get("partitions"):
        raise InputFileError(f"topic {topic} does not exist (or has no partitions)")
    return sorted(p["partition"] for p in described["partitions"])


async def topic_to_end(settings: Settings, topic: str) -> list[dict[str, Any]]:
    """Every event of `topic` from its log start to the end offsets it had when called (JSON
    objects; a record that is not one is skipped). Done when each partition's position reaches
    its end offset: a partition whose records retention deleted, or whose last offsets are
    transaction markers that are never delivered, ends too."""
    partitions = [TopicPartition(topic, p) for p in await topic_partitions(settings, topic)]
    consumer = AIOKafkaConsumer(**kafka_options(settings), auto_offset_reset="earliest", enable_auto_commit=False)
    out: list[dict[str, Any]] = []
    try:
        await consumer.start()
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        left = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
        while left:
            for tp, records in (await consumer.getmany(*left, timeout_ms=1000)).items():
                for record in records:
                    if record.offset < ends[tp]:
                        with contextlib.suppress(orjson.JSONDecodeError):
                            value = orjson.loads(record.value or b"")
                            if isinstance(value, dict):
                                out.append(value)
            left = {tp for tp in left if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
    return out


async def rescore_all(settings: Settings, chunk: int = 200) -> dict[str, int]:
    """Re-rate every customer under the current standard; level changes go out with cause
    `config`, through the same engine, emitter and commit as the worker's."""
    from streams.emit import KafkaEmitter
    from streams.engine import Engine
    from streams.state import make_store
    from streams.state.peers import load_baselines
    from streams.worker import open_model

    model = open_model(settings)
    redis = make_redis(settings)
    emitter = KafkaEmitter(settings)
    await emitter.start()
    totals = {"customers": 0, "changes": 0}
    try:
        engine = Engine(make_store(redis, settings, model), model, peers=await load_baselines(redis))
        batch: list[str] = []

        async def flush() -> None:
            result = await engine.rescore(batch)
            await emitter.emit(result.events)
            await engine.commit(result)
            totals["customers"] += len(batch)
            totals["changes"] += sum(1 for e in result.events if e.kind == "risk_change")
            batch.clear()

        async for customer_id in engine.store.customers():
            batch.append(customer_id)
            if len(batch) >= chunk:
                await flush()
        if batch:
            await flush()
    finally:
        await emitter.stop()
        await redis.aclose()
    return totals


async def reviews_due(settings: Settings, asof_ms: int) -> list[tuple[str, str, int]]:
    """(customer, level, next review) of every customer whose review is due at `asof_ms`."""
    from streams.state import StateStore

    redis = make_redis(settings)
    due = []
    try:
        store = StateStore(redis)
        ids = [c async for c in store.customers()]
        for start in range(0, len(ids), 500):
            for customer_id, state in (await store.states(ids[start : start + 500])).items():
                if state.get("next_review") is not None and state["next_review"] <= asof_ms:
                    due.append((customer_id, state.get("level", "?"), state["next_review"]))
    finally:
        await redis.aclose()
    return sorted(due, key=lambda d: (d[2], d[0]))


async def publish_peers(settings: Settings) -> int:
    from streams.worker import open_model, publish_archived, require_topics

    model = open_model(settings)
    await require_topics(settings, settings.topics.peer_baselines)  # never a broker's auto-created, time-deleted one
    redis = make_redis(settings)
    try:
        published, _ = await publish_archived(settings, redis, model.standard.peer.min_customers, model.version)
    finally:
        await redis.aclose()
    for b in published.values():
        print(f"{b.group}: {b.customers} customers, 30-day averages: cash CNY {b.avg_cash_fen_30d / 100:,.2f}, {b.avg_count_30d:.2f} transactions ({b.version})")
    return len(published)


PRODUCE_FILES = ("customers.jsonl", "transactions.jsonl")


def produce_records(settings: Settings, directory: Path, limit: int | None) -> Iterator[tuple[str, bytes, bytes]]:
    """(topic, key, value) of each line `produce` sends: profiles first, at most `limit` in all.
    InputFileError naming the file and line when a line is not a JSON object with a customer_id
    (the message key): `produce` walks this once before it sends anything."""
    if not directory.is_dir():
        raise InputFileError(f"{directory}: not a directory (expected one with customers.jsonl and/or transactions.jsonl)")
    paths = [(topic, directory / name) for topic, name in zip((settings.topics.customers, settings.topics.transactions), PRODUCE_FILES, strict=True)]
    if not any(path.exists() for _, path in paths):
        raise InputFileError(f"{directory}: has neither {' nor '.join(PRODUCE_FILES)}")
    sent = 0
    for topic, path in paths:
        if not path.exists():
            continue
        with path.open("rb") as f:
            for number, line in enumerate(f, 1):
                if limit is not None and sent >= limit:
                    return
                line = line.strip()
                if not line:
                    continue
                try:
                    doc = json_object(line)
                except ValueError as exc:
                    raise InputFileError(f"{path} line {number}: {exc}") from None
                customer_id = doc.get("customer_id")
                if not isinstance(customer_id, str) or not customer_id:
                    raise InputFileError(f"{path} line {number}: no customer_id string (the message key)")
                yield topic, customer_id.encode(), line
                sent += 1


async def produce_generated(settings: Settings, directory: Path, rate: float | None, limit: int | None) -> int:
    """Produce a generated (or any) customers.jsonl + transactions.jsonl to the input topics,
    profiles first; at `rate` messages/s or as fast as possible. Every line is checked first
    (produce_records): a bad file stops the command before anything is sent."""
    for _ in produce_records(settings, directory, limit):
        pass
    producer = AIOKafkaProducer(**kafka_options(settings), acks="all", enable_idempotence=True, linger_ms=20, max_batch_size=1 << 20)
    await producer.start()
    sent = 0
    started = time.monotonic()
    try:
        pending = []
        for topic, key, line in produce_records(settings, directory, limit):
            pending.append(await producer.send(topic, key=key, value=line))
            sent += 1
            if len(pending) >= 10_000:
                await asyncio.gather(*pending)
                pending.clear()
            if rate:
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0.005:
                    await asyncio.sleep(ahead)
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent


def _summary(topic: str, event: dict) -> str:
    kind = event.get("event_type")
    who = event.get("customer_id")
    if kind == "risk_change":
        prev = event["previous"]["level"] if event.get("previous") else "-"
        why = ", ".join(f"{c['factor']} {c['points']:g}" for c in event["contributions"]) or "no risk factor"
        return f"[{topic}] {who}: {prev} -> {event['current']['level']} (score {event['current']['score']:g}: {why})"
    if kind == "suspicious_pattern":
        return f"[{topic}] {who}: {event['pattern']} {event['metrics']} >= {event['thresholds']} ({len(event['tx_ids'])} tx)"
    if kind == "large_value_report":
        return f"[{topic}] {who}: {event['rule_code']} {event['direction']} {event['business_date']} CNY {event['total_cny']:,.2f} (revision {event['revision']})"
    if kind == "dead_letter":
        return f"[{topic}] offset {event['source']['offset']}: {event['error_code']}: {event['error_detail']}"
    return f"[{topic}] {orjson.dumps(event).decode()[:200]}"


class _Parser(argparse.ArgumentParser):
    """argparse with a usage mistake said in one line (exit 2), not the usage block and the error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least `minimum`."""

    def integer(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer of at least {minimum}, got {value}")
        return value

    return integer


def _number(text: str, *, zero: bool) -> float:
    """An argparse type: a finite number above 0 (or at least 0 with `zero`)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value >= 0 if zero else value > 0) or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number {'of at least' if zero else 'above'} 0, got {text}")
    return value


def _positive(text: str) -> float:
    return _number(text, zero=False)


def _non_negative(text: str) -> float:
    return _number(text, zero=True)


def _pattern_map(text: str) -> tuple[str, str]:
    """An argparse type: GEN=PATTERN, a label typology name and a network rule id (factors.network.rules)."""
    from factors.network.rules import NETWORK_PATTERNS
    from streams.settings import did_you_mean

    name, equals, pattern = text.partition("=")
    if not equals or not name.strip() or not pattern.strip():
        raise argparse.ArgumentTypeError(f"expected GEN=PATTERN (a label typology name = a network pattern id), got {text!r}")
    pattern = pattern.strip()
    if pattern not in NETWORK_PATTERNS:
        raise argparse.ArgumentTypeError(
            f"{pattern!r} is not a network pattern id{did_you_mean(pattern, NETWORK_PATTERNS)}; expected one of {', '.join(sorted(NETWORK_PATTERNS))}"
        )
    return name.strip(), pattern


def _like_setting(field: str) -> Callable[[str], object]:
    """An argparse type: a value the Settings field `field` accepts (the same type and range as its variable)."""
    from streams.settings import setting_value

    def value(text: str) -> object:
        try:
            return setting_value(field, text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{exc}, got {text!r} (the bounds of {env_name(field)})") from None

    return value


def _named(exc: BaseException) -> str:
    text = str(exc)
    return text if text.startswith(type(exc).__name__) else f"{type(exc).__name__}: {text}"


def _say(*lines: str) -> None:
    for line in lines or ("",):
        print(f"amlstream: {line}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        _say("interrupted")
        return 130


def _main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="amlstream", description="Real-time AML transaction monitoring")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("worker", help="run a stream worker (settings from AMLSTREAM_* variables)")
    p = sub.add_parser("create-topics", help="create the input and output topics if missing")
    p.add_argument("--partitions", type=_at_least(1), default=4)
    p.add_argument("--replication", type=_at_least(1), default=1)
    p = sub.add_parser("produce-sample", help="produce a small deterministic sample stream to the input topic")
    p.add_argument("--customers", type=_at_least(1), default=50)
    p.add_argument("--days", type=_at_least(1), default=3)
    p.add_argument("--seed", type=int, default=7)
    p = sub.add_parser("tail", help="print the output events (from the beginning) until the topics go idle")
    p.add_argument("--idle-seconds", type=_positive, default=8.0)
    p.add_argument("--max-wait", type=_positive, default=120.0)
    p.add_argument("--show", type=_at_least(0), default=15, help="events to print per topic")
    sub.add_parser("rescore-all", help="re-rate every customer under the current scoring standard (cause: config)")
    p = sub.add_parser("reviews-due", help="list customers whose periodic risk review is due")
    p.add_argument("--asof", help="RFC 3339 time to check against (default: now)")
    sub.add_parser("peer-baselines", help="publish peer-group baselines from the rolling peer statistics")
    p = sub.add_parser("generate", help="write a synthetic bank population and stream with ground-truth labels")
    p.add_argument("--customers", type=_at_least(1), required=True)
    p.add_argument("--days", type=_at_least(1), required=True, help="at most until the end of 2099 (the last year an event date may carry)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--network-from-day",
        type=_at_least(0),
        default=0,
        help="no network group starts before this day (0-based): the network rules judge newness from 30 days after the stage's first edge",
    )
    p.add_argument("--out", type=Path, required=True)
    p = sub.add_parser("produce", help="produce customers.jsonl and transactions.jsonl of a directory to the input topics")
    p.add_argument(
        "--from",
        dest="source",
        type=Path,
        required=True,
        help="a directory written by `amlstream generate`; each line a JSON object with a customer_id (the key), all checked before sending (exit 2 naming the line)",
    )
    p.add_argument("--rate", type=_positive, help="messages per second (default: as fast as possible)")
    p.add_argument("--limit", type=_at_least(0))
    p = sub.add_parser("replay", help="run the engine over files, without Kafka, writing what the topics would receive")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--transactions", help="JSON Lines or CSV file, or - for standard input")
    source.add_argument(
        "--messages",
        help='both input topics in arrival order, one {"topic", "key", "value"[, "timestamp"]} per line (null value: a tombstone); '
        "a line that is not such a record stops replay (exit 2, naming the line)",
    )
    p.add_argument("--customers", help="customer profiles, JSON Lines or CSV")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--config", type=Path, help="scoring standard (default: AMLSTREAM_MODEL_CONFIG or the packaged one)")
    p.add_argument("--peer-baselines", choices=("daily", "none"), default="daily", help="publish peer baselines at each business day of the input (default) or never")
    iso_cli.add_replay_options(p)
    p = sub.add_parser("backtest", help="the same input under two scoring standards, compared (and against labels)")
    p.add_argument("--transactions", required=True)
    p.add_argument("--customers")
    p.add_argument("--config", type=Path, action="append", required=True, help="give twice: standard A, then B")
    p.add_argument("--labels", type=Path, help="labels.csv (customer_id,typology) for precision/recall")
    p.add_argument("--out", type=Path, required=True)
    p = sub.add_parser("check-standard", help="validate and lint a scoring standard (exit 0: valid, 2: refused); prints paths, never values")
    p.add_argument("file", type=Path)
    p.add_argument(
        "--trail-horizon-hours",
        type=_like_setting("trail_horizon_hours"),
        help="the workers' trail horizon for the rule-window warnings (default: AMLSTREAM_TRAIL_HORIZON_HOURS, 72)",
    )
    from filings.cli import add_parser as add_filings  # regulatory filing (its own package, not on the data path)

    add_filings(sub)
    sub.add_parser("network-worker", help="run a network-stage worker on the edge topic (its own consumer group)")
    p = sub.add_parser("network-replay", help="transactions -> edges -> the network stage, without Kafka; with labels, node-level precision/recall")
    p.add_argument("--transactions", required=True, help="JSON Lines or CSV (transaction.v1); a bad leg is counted and written to OUT/network-dead-letter.jsonl")
    p.add_argument("--customers", help="customer profiles (peer groups, accounts); a bad profile is skipped and counted (profiles_skipped)")
    p.add_argument("--labels", type=Path, help="network_labels.csv (synthbank) for the node-level evaluation")
    p.add_argument(
        "--map",
        type=_pattern_map,
        action="append",
        default=[],
        help="GEN=PATTERN: a label typology name to a network pattern id (repeatable; cycle, small_set_fan_* mapped by default)",
    )
    p.add_argument("--risk-changes", type=Path, help="risk-changes.jsonl of `amlstream replay` on the same input (levels for the exposure rule)")
    p.add_argument(
        "--warmup-days",
        type=_non_negative,
        default=0,
        help="the first days only build state (the backfill a deployed stage starts from); groups starting then are not evaluated",
    )
    p.add_argument("--config", type=Path, help="scoring standard (default: AMLSTREAM_MODEL_CONFIG or the packaged one)")
    p.add_argument("--out", type=Path, required=True)
    p = sub.add_parser(
        "network-evaluate",
        help="node-level precision/recall of network detections (a live run's topic, or a file) against a generated bank's labels",
    )
    p.add_argument("--labels", type=Path, required=True, help="network_labels.csv (synthbank); labels.csv beside it marks customer-level typologies")
    p.add_argument("--customers", help="the bank's customer profiles (which party ids are customers, for the benign alert rate)")
    p.add_argument("--detections", type=Path, help="JSON Lines of network_detection events (default: AMLSTREAM_TOPIC_NETWORK_DETECTIONS, read to its end)")
    p.add_argument("--map", type=_pattern_map, action="append", default=[], help="GEN=PATTERN, as network-replay's")
    p.add_argument("--table", action="store_true", help="print a table (per pattern and overall) instead of the JSON report")
    iso_cli.add_commands(sub)
    args = parser.parse_args(argv)

    if args.command == "check-standard":  # a linter for the change process: reads only the settings in model_version
        import os

        from streams.check import check_standard

        result = check_standard(args.file, args.trail_horizon_hours, os.environ)
        print("\n".join(result.lines))
        return result.exit_code
    try:
        settings = load_settings()
        logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
        if args.command in LONG_RUNNING:
            tune_gc()
        if args.command == "worker":
            from streams.worker import run_worker

            return run_worker(settings)
        if args.command == "filings":
            from filings.cli import run as run_filings

            return run_filings(args, settings)
        if args.command in ("network-worker", "network-replay"):
            settings = settings.for_network_stage()  # its own Redis, if it has one (errors then name that one)
        if args.command == "network-worker":
            from streams.network.worker import run_network_worker

            return run_network_worker(settings)
        if args.command == "network-replay":
            from streams.network.replay import run_network_replay

            mapping = dict(args.map)
            report = asyncio.run(
                run_network_replay(
                    settings, args.transactions, args.customers, args.out, args.config, args.labels, mapping, args.risk_changes, warmup_days=args.warmup_days
                )
            )
            print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
            return 0
        if args.command == "network-evaluate":
            from streams.network.evaluation import evaluate_detections
            from streams.network.replay import Directory

            if args.detections is not None:
                events = [orjson.loads(line) for line in args.detections.read_bytes().splitlines() if line.strip()]
            else:
                events = asyncio.run(topic_to_end(settings, settings.topics.network_detections))
            known = set(Directory.from_profiles(args.customers).groups) if args.customers else set()
            report = evaluate_detections(events, args.labels, known, dict(args.map))
            print(evaluation_table(report) if args.table else orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
            return 0
        if args.command == "create-topics":
            created = asyncio.run(create_topics(settings, args.partitions, args.replication))
            print(f"created: {', '.join(created) or 'none (all exist)'}")
        elif args.command == "produce-sample":
            n = asyncio.run(produce_sample(settings, args.customers, args.days, args.seed))
            print(f"produced {n} messages to {settings.topics.transactions}")
        elif args.command == "tail":
            t = settings.topics
            counts = asyncio.run(tail(settings, [t.risk_changes, t.patterns, t.large_value, t.dead_letter], args.idle_seconds, args.max_wait, args.show))
            print("events per topic: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
        elif args.command == "rescore-all":
            totals = asyncio.run(rescore_all(settings))
            print(f"re-rated {totals['customers']} customers, {totals['changes']} level changes emitted")
        elif args.command == "reviews-due":
            from streams.decode import parse_timestamp

            asof = parse_timestamp(args.asof, "--asof") if args.asof else int(time.time() * 1000)
            due = asyncio.run(reviews_due(settings, asof))
            for customer_id, level, when in due:
                print(f"{customer_id}\t{level}\tdue {time.strftime('%Y-%m-%d', time.gmtime(when / 1000))}")
            print(f"{len(due)} reviews due")
        elif args.command == "peer-baselines":
            print(f"published {asyncio.run(publish_peers(settings))} peer-group baselines")
        elif args.command == "generate":
            from synthbank import write

            counts = write(args.out, args.customers, args.days, args.seed, network_from_day=args.network_from_day)
            print(
                f"wrote {counts['customers']} customers, {counts['transactions']} transactions, {counts['labels']} labels, "
                f"{counts['network_groups']} network groups ({counts['network_labels']} member rows) to {args.out}"
            )
        elif args.command == "produce":
            n = asyncio.run(produce_generated(settings, args.source, args.rate, args.limit))
            print(f"produced {n} messages")
        elif args.command == "replay":
            from streams.model import open_model
            from streams.replay import replay

            model = open_model(settings, args.config)
            transactions = iso_cli.replay_input(args, settings, model) if args.format == "iso20022" else args.transactions
            result = asyncio.run(
                replay(
                    settings,
                    model,
                    transactions,
                    args.customers,
                    args.out,
                    progress=sys.stderr.isatty(),
                    publish_peers=args.peer_baselines == "daily",
                    messages=args.messages,
                )
            )
            print(orjson.dumps(result.summary(model.version), option=orjson.OPT_INDENT_2).decode())
        elif args.command == "backtest":
            from streams.backtest import backtest, render
            from streams.model import open_model

            if len(args.config) != 2:
                parser.error("backtest needs --config twice (A and B)")
            models = tuple(open_model(settings, c) for c in args.config)
            args.out.mkdir(parents=True, exist_ok=True)
            report = asyncio.run(backtest(settings, models, args.transactions, args.customers, args.out, args.labels, progress=sys.stderr.isatty()))  # type: ignore[arg-type]
            print(render(report), end="")
        elif args.command == "iso20022":
            return iso_cli.run(args, settings)
    except RuntimeFailure as exc:
        _say(*str(exc).splitlines())
        return 1
    except AmlStreamError as exc:
        _say(*str(exc).splitlines())
        return 2
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:  # a file named on the command line
        _say(f"{exc.filename}: {exc.strerror}")
        return 2
    except (FileExistsError, NotADirectoryError) as exc:  # --out naming a file, or a path through one
        _say(f"{exc.filename}: {exc.strerror} (a directory is expected here)")
        return 2
    except ValueError as exc:
        if args.command != "generate":
            return _defect(args.command, exc)
        _say(str(exc))  # the generator's argument checks
        return 2
    except RedisError as exc:
        _say(f"Redis at {mask_url(settings.redis_url)}: {_named(exc)}")
        return 1
    except KafkaError as exc:
        _say(f"Kafka at {settings.bootstrap_servers}: {_named(exc)}")
        return 1
    except OSError as exc:
        _say(f"{args.command}: {exc}")
        return 1
    except Exception as exc:
        return _defect(args.command, exc)
    return 0


def _defect(command: str, exc: Exception) -> int:
    """A defect: one line for the operator, the traceback for the developer (at debug level)."""
    logging.getLogger("amlstream").debug("%s failed", command, exc_info=exc)
    _say(f"{command} failed: {_named(exc)} (AMLSTREAM_LOG_LEVEL=debug shows the traceback)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
