"""`amlstream iso20022 adapter|render` and the `replay --format iso20022` input step."""

from __future__ import annotations

import argparse
from pathlib import Path

from iso20022.parse import SUPPORTED
from iso20022.render import RenderError, RenderOptions
from streams.errors import ConfigError
from streams.model import Model
from streams.settings import Settings

DEFAULTS = RenderOptions()


def add_commands(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("iso20022", help="ISO 20022 payment messages: the adapter agent, rendering a JSON stream as messages")
    commands = parser.add_subparsers(dest="iso_command", required=True)
    commands.add_parser("adapter", help="run the adapter: pacs.008 / camt.054 topics -> legs on the transactions topic")
    p = commands.add_parser("produce", help="produce message files to the adapter's topics (by message type; the file name is the key)")
    p.add_argument("--messages", required=True, help="a message file, or a directory of *.xml")
    p = commands.add_parser(
        "render",
        help="write a JSON stream (e.g. of `amlstream generate`) as pacs.008 and camt.054 files",
        description="Every leg is checked first: a bad record (not JSON, not an object, a missing field, an unusable amount, what ISO 20022 cannot carry) "
        "stops render before it writes anything, naming the file and line (exit 2); a skipped leg would make the messages differ from the stream.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--from", dest="source", type=Path, help="a directory with transactions.jsonl")
    source.add_argument("--transactions", help="a JSON Lines or CSV file of legs")
    p.add_argument("--out", type=Path, required=True, help="writes OUT/messages/*.xml and OUT/accounts.jsonl")
    p.add_argument("--bank-bic", default=DEFAULTS.bank_bic, help=f"the bank's BIC in the messages (default {DEFAULTS.bank_bic}, fictitious)")
    p.add_argument("--per-message", type=int, default=DEFAULTS.per_message, help="transactions or entries per message")
    p.add_argument("--pacs008-version", choices=[v for v in SUPPORTED if v.startswith("pacs")], default=DEFAULTS.pacs008)
    p.add_argument("--camt054-version", choices=[v for v in SUPPORTED if v.startswith("camt")], default=DEFAULTS.camt054)


def add_replay_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=("json", "iso20022"), default="json", help="json: JSON Lines or CSV legs; iso20022: one pacs.008 or camt.054 per file (a file or a directory)"
    )
    parser.add_argument("--accounts", help="with --format iso20022: more account ids per customer ({customer_id, accounts} per line, as `iso20022 render` writes)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.iso_command == "adapter":
        from iso20022.adapter import run_adapter
        from iso20022.settings import load_adapter_settings
        from streams.worker import open_model

        return run_adapter(settings, load_adapter_settings(), open_model(settings))
    if args.iso_command == "produce":
        import asyncio

        from iso20022.convert import produce_files

        counts = asyncio.run(produce_files(settings, args.messages))
        print("produced " + ", ".join(f"{n} to {topic}" for topic, n in counts.items()))
        return 0
    from iso20022.convert import render_files

    transactions = str(args.source / "transactions.jsonl") if args.source else args.transactions
    try:
        options = RenderOptions(args.bank_bic, args.pacs008_version, args.camt054_version, args.per_message)
        counts = render_files(transactions, args.out, options)
    except RenderError as exc:
        raise ConfigError(f"cannot render: {exc}") from None
    print(
        f"rendered {counts.get('legs', 0)} legs as {counts.get('pacs.008', 0)} pacs.008 and {counts.get('camt.054', 0)} camt.054 messages"
        f" in {args.out / 'messages'}; account directory of {counts.get('customers', 0)} customers in {args.out / 'accounts.jsonl'}"
    )
    return 0


def replay_input(args: argparse.Namespace, settings: Settings, model: Model) -> str:
    """Map the message files to legs (the adapter's own step) and return the legs file to replay."""
    from iso20022.convert import build_directory, map_files
    from iso20022.mapping import MappingContext
    from iso20022.settings import load_adapter_settings

    adapter = load_adapter_settings()
    context = MappingContext(model.calendar.zone, adapter.bank_ids, adapter.bank_country)
    directory = build_directory(args.customers, args.accounts)
    mapped = map_files(args.transactions, directory, context, args.out, max_bytes=settings.max_message_bytes, model_version=model.version)
    return str(mapped.legs_path)
