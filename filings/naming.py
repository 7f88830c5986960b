"""File names of the specification: `{N|C|D}{BH|BS}{RICD}-{YYYYMMDD}-{8-digit sequence}.XML`
(N new, C correction, D deletion; BH banking large-value, BS banking suspicious), ZIP packages
named the same way, and the centre's receipts `FDSC…`/`FDRC…` (accepted / needs correction)
carrying the answered file's name and a 14-digit arrival time.

A correction (C) or deletion (D) keeps the date and sequence of the file it corrects or
deletes, so the centre can match it: only the first letter changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BASE = re.compile(r"^(?P<action>[NCD])(?P<type>B[HS])(?P<ricd>[A-Z0-9]{14})-(?P<date>\d{8})-(?P<seq>\d{8})$")
RECEIPT = re.compile(r"^(?P<kind>FDSC|FDRC)\[?(?P<name>[NCD]B[HS][A-Z0-9]{14}-\d{8}-\d{8})(?:\.(?:XML|ZIP))?\]?(?P<at>\d{14})\.XML$")
NOTICE = re.compile(r"^MCVR\[?(?P<name>[NCD]B[HS][A-Z0-9]{14}-\d{8}-\d{8})(?:\.(?:XML|ZIP))?\]?(?P<at>\d{14})?\.XML$")
MAX_SEQ = 99_999_999


@dataclass(frozen=True, slots=True)
class Name:
    action: str  # N | C | D
    type: str  # BH | BS
    ricd: str
    date: str  # YYYYMMDD (the submission date)
    seq: int

    @property
    def stem(self) -> str:
        if not 1 <= self.seq <= MAX_SEQ:
            raise ValueError(f"sequence {self.seq} outside 1..{MAX_SEQ}")
        return f"{self.action}{self.type}{self.ricd}-{self.date}-{self.seq:08d}"

    @property
    def xml(self) -> str:
        return self.stem + ".XML"

    @property
    def zip(self) -> str:
        return self.stem + ".ZIP"

    @property
    def key(self) -> str:
        """The name without its action letter: what an N file and its C/D share."""
        return self.stem[1:]

    def as_action(self, action: str) -> Name:
        return Name(action, self.type, self.ricd, self.date, self.seq)

    @classmethod
    def parse(cls, text: str) -> Name:
        stem = text.rsplit(".", 1)[0] if text.upper().endswith((".XML", ".ZIP")) else text
        m = BASE.match(stem)
        if not m:
            raise ValueError(f"not a report file name: {text!r}")
        return cls(m["action"], m["type"], m["ricd"], m["date"], int(m["seq"]))


@dataclass(frozen=True, slots=True)
class ReceiptName:
    kind: str  # FDSC | FDRC | MCVR
    answered: Name
    arrived: str | None  # YYYYMMDDhhmmss


def parse_receipt_name(file_name: str) -> ReceiptName | None:
    """A receipt or notice file name -> ReceiptName; None for any other file."""
    m = RECEIPT.match(file_name)
    if m:
        return ReceiptName(m["kind"], Name.parse(m["name"]), m["at"])
    m = NOTICE.match(file_name)
    if m:
        return ReceiptName("MCVR", Name.parse(m["name"]), m["at"])
    return None
