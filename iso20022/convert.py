"""Files <-> ISO 20022 messages: render a JSON stream into message files (with the account directory
the messages need), and map message files back into a JSON Lines stream of legs for replay."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from iso20022.directory import AccountDirectory, apply_profile_message
from iso20022.mapping import MappingContext
from iso20022.parse import CAMT054, NAMESPACE_PREFIX, PACS008
from iso20022.process import process_message
from iso20022.render import RenderError, RenderOptions, _account_id, render
from streams.decode import RejectedRecord, json_object
from streams.errors import InputFileError
from streams.events import Source
from streams.replay import read_records
from streams.settings import Settings

MESSAGES_DIR = "messages"
ACCOUNTS_FILE = "accounts.jsonl"


def read_legs(path: str) -> Iterator[dict[str, Any]]:
    for raw in read_records(path):
        yield orjson.loads(raw)


LEG_TEXT_FIELDS = ("customer_id", "tx_id", "ts", "direction", "currency", "method")  # what rendering reads as text


def _numbered_records(path: str) -> Iterator[tuple[str, bytes]]:
    """("line N" of a JSON Lines file, or "row N" of a CSV's data rows, raw record) of each record."""
    if path.endswith(".csv"):
        for number, raw in enumerate(read_records(path), 1):
            yield f"row {number}", raw
        return
    with open(path, "rb") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                yield f"line {number}", line.strip()


CHECK_CHUNK = 200  # legs rendered together by the check; a failing chunk is searched leg by leg


def check_legs(transactions: str, options: RenderOptions) -> int:
    """Every record of a legs file checked as rendering needs it — a JSON object, the text fields
    and a usable amount, and rendered (ids within ISO 20022's lengths, no contradiction) — so a bad
    record stops `render` before it writes anything. RenderError naming the file and the record's
    line; the number of legs."""
    if transactions == "-":
        raise RenderError("--transactions -: render reads its input twice (checked first), give a file")
    count = 0
    chunk: list[tuple[str, dict[str, Any]]] = []
    for where, raw in _numbered_records(transactions):
        try:
            chunk.append((where, _leg(raw)))
        except RenderError as exc:
            raise RenderError(f"{transactions} {where}: {exc}") from None
        count += 1
        if len(chunk) >= CHECK_CHUNK:
            _check_rendering(transactions, chunk, options)
            chunk = []
    _check_rendering(transactions, chunk, options)
    return count


def _leg(raw: bytes) -> dict[str, Any]:
    if isinstance(raw, RejectedRecord):
        raise RenderError(raw.error.detail)
    try:
        leg = json_object(raw)
    except ValueError as exc:
        raise RenderError(str(exc)) from None
    for name in LEG_TEXT_FIELDS:
        if not isinstance(leg.get(name), str) or not leg[name]:
            raise RenderError(f"'{name}' is missing or not a string")
    if isinstance(leg.get("amount"), bool) or not isinstance(leg.get("amount"), (str, int, float)):
        raise RenderError("'amount' is missing or not a number or decimal string")
    return leg


def _check_rendering(transactions: str, chunk: list[tuple[str, dict[str, Any]]], options: RenderOptions) -> None:
    """Render the chunk's legs (discarded); on a RenderError, find the leg that fails alone."""
    try:
        for _ in render((leg for _, leg in chunk), options):
            pass
        return
    except RenderError as exc:
        error = exc
    for where, leg in chunk:
        try:
            for _ in render([leg], options):
                pass
        except RenderError as exc:
            raise RenderError(f"{transactions} {where}: {exc}") from None
    raise RenderError(f"{transactions} {chunk[0][0]} to {chunk[-1][0]}: {error}")


def render_files(transactions: str, out_dir: Path, options: RenderOptions | None = None) -> dict[str, int]:
    """out_dir/messages/NNNNNNNNN-<type>.xml in stream order, and out_dir/accounts.jsonl: each
    customer's account ids as the legs name them (a leg without account_id: its customer_id), the
    account directory for `replay --format iso20022 --accounts`. Returns counts. The file is
    checked first (check_legs): a bad record is a RenderError naming its line, nothing written."""
    options = options or RenderOptions()
    check_legs(transactions, options)
    messages = out_dir / MESSAGES_DIR
    messages.mkdir(parents=True, exist_ok=True)
    accounts: dict[str, dict[str, None]] = {}
    counts: Counter[str] = Counter()

    def legs() -> Iterator[dict[str, Any]]:
        for leg in read_legs(transactions):
            accounts.setdefault(leg["customer_id"], {})[_account_id(leg)] = None
            counts["legs"] += 1
            yield leg

    for n, message in enumerate(render(legs(), options), start=1):
        (messages / f"{n:09d}-{message.kind}.xml").write_bytes(message.xml)
        counts[message.kind] += 1
    with open(out_dir / ACCOUNTS_FILE, "wb") as f:
        for customer_id, ids in accounts.items():
            f.write(orjson.dumps({"customer_id": customer_id, "accounts": list(ids)}) + b"\n")
    counts["customers"] = len(accounts)
    return dict(counts)


def message_files(path: str) -> list[Path]:
    """One message per file: the file itself, or every *.xml of a directory in name order."""
    target = Path(path)
    if target.is_dir():
        return sorted(p for p in target.iterdir() if p.suffix.lower() == ".xml" and p.is_file())
    return [target]


def build_directory(customers: str | None, accounts: str | None) -> AccountDirectory:
    """The directory from the profiles' `accounts`, plus (union) the account lists of an accounts
    file ({customer_id, accounts} per line) for customers whose profiles have none."""
    directory = AccountDirectory()
    held: dict[str, set[str]] = {}
    if customers:
        for raw in read_records(customers):
            if apply_profile_message(directory, None, raw) == "invalid":
                continue  # replay dead-letters it: it replays the same profiles
            doc = orjson.loads(raw)
            if isinstance(doc.get("accounts"), list):
                held.setdefault(doc["customer_id"], set()).update(doc["accounts"])
    if accounts:
        for number, raw in enumerate(read_records(accounts), 1):
            try:
                doc = orjson.loads(raw)
                ok = isinstance(doc, dict) and isinstance(doc.get("customer_id"), str) and isinstance(doc.get("accounts"), list)
            except orjson.JSONDecodeError:
                ok = False
            if not ok or not all(isinstance(a, str) for a in doc["accounts"]):
                raise InputFileError(f"{accounts}: record {number} is not {{customer_id, accounts}} (as `iso20022 render` writes)")
            merged = held.setdefault(doc["customer_id"], set())
            merged.update(doc["accounts"])
            directory.apply(doc["customer_id"], 1 << 62, sorted(merged))  # newer than any profile: the union stays
    return directory


@dataclass
class MappedFiles:
    legs_path: Path
    messages: Counter[str] = field(default_factory=Counter)  # (type:outcome)
    legs: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        return {
            "messages": dict(sorted(self.messages.items())),
            "legs": self.legs,
            "skipped_sides": dict(sorted(self.skipped.items())),
            "dead_letters": dict(sorted(self.dead_letters.items())),
        }


def map_files(path: str, directory: AccountDirectory, context: MappingContext, out_dir: Path, *, max_bytes: int, model_version: str) -> MappedFiles:
    """Map every message file with the adapter's own step; write out_dir/iso20022-legs.jsonl (the
    replay input), iso20022-dead-letter.jsonl and iso20022-summary.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    result = MappedFiles(out_dir / "iso20022-legs.jsonl")
    with open(result.legs_path, "wb") as legs_out, open(out_dir / "iso20022-dead-letter.jsonl", "wb") as dead_out:
        for offset, file in enumerate(message_files(path)):
            source = Source(str(file), 0, offset, None, file.read_bytes())
            outcome = process_message(source, None, directory, context, max_bytes=max_bytes, model_version=model_version)
            result.messages[f"{outcome.message_type}:{outcome.outcome}"] += 1
            for leg in outcome.legs:
                legs_out.write(orjson.dumps(leg) + b"\n")
            result.legs += len(outcome.legs)
            result.skipped.update(s.reason for s in outcome.skipped)
            if outcome.dead_letter is not None:
                dead_out.write(outcome.dead_letter.encode() + b"\n")
                result.dead_letters[outcome.dead_letter.value["error_code"]] += 1
    (out_dir / "iso20022-summary.json").write_bytes(orjson.dumps(result.summary(), option=orjson.OPT_INDENT_2))
    return result


def message_type_of(raw: bytes) -> str | None:
    """pacs.008 / camt.054 from the root element's namespace, without validating (the adapter does)."""
    head = raw[:4096]
    for kind in (PACS008, CAMT054):
        if f"{NAMESPACE_PREFIX}{kind}.".encode() in head:
            return kind
    return None


async def produce_files(settings: Settings, path: str) -> dict[str, int]:
    """Each file to the topic of its message type (pacs.008 when it cannot tell: the adapter then
    dead-letters it with the reason), keyed by the file name, idempotent and acks=all."""
    from aiokafka import AIOKafkaProducer

    from streams.connections import kafka_options

    topics = {PACS008: settings.topics.iso20022_pacs008, CAMT054: settings.topics.iso20022_camt054}
    producer = AIOKafkaProducer(**kafka_options(settings), acks="all", enable_idempotence=True, linger_ms=5, max_request_size=2 * settings.max_message_bytes + 1_048_576)
    await producer.start()
    counts: Counter[str] = Counter()
    try:
        futures = []
        for file in message_files(path):
            raw = file.read_bytes()
            topic = topics[message_type_of(raw) or PACS008]
            futures.append(await producer.send(topic, key=file.name.encode(), value=raw))
            counts[topic] += 1
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return dict(counts)
