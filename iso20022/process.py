"""One input message -> its legs, or a dead letter: the step the adapter and `replay --format
iso20022` share, so both give the same legs for the same message and directory."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from iso20022.errors import MAPPING_FAILED, UNSUPPORTED, IsoError
from iso20022.mapping import Directory, MappingContext, Skip, map_message
from iso20022.parse import parse_message
from streams.events import OutputEvent, Source, dead_letter

log = logging.getLogger("amlstream.iso20022")


@dataclass
class Outcome:
    message_type: str  # pacs.008 | camt.054 (the topic's type when the message could not be read)
    outcome: str  # mapped | no_leg | dead_letter
    legs: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    dead_letter: OutputEvent | None = None


def process_message(source: Source, expected_type: str | None, directory: Directory, context: MappingContext, *, max_bytes: int, model_version: str) -> Outcome:
    """`expected_type`: the message type the input topic carries (None: any supported one)."""
    message_type = expected_type or "unknown"
    try:
        message = parse_message(source.value, max_bytes)
        message_type = message.message_type
        if expected_type is not None and message.message_type != expected_type:
            raise IsoError(UNSUPPORTED, f"a {message.message_id} message on the {expected_type} topic {source.topic}", "/Document")
        result = map_message(message, directory, context)
    except IsoError as exc:
        return Outcome(message_type, "dead_letter", dead_letter=dead_letter(source, exc.code, exc.detail, model_version))
    except Exception as exc:  # a defect must not block the partition: dead-letter the message, keep the traceback
        log.exception("mapping %s[%d]@%d failed", source.topic, source.partition, source.offset)
        return Outcome(message_type, "dead_letter", dead_letter=dead_letter(source, MAPPING_FAILED, f"{type(exc).__name__}: {exc}", model_version))
    return Outcome(message_type, "mapped" if result.legs else "no_leg", result.legs, result.skipped)
