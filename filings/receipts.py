"""Read the centre's receipts (root FDBK: FDSC accepted, FDRC needs correction) and manual
correction notices (root MCVR), validated against the project's schema."""

from __future__ import annotations

from dataclasses import dataclass

from filings.errors import InvalidFiling
from filings.naming import Name, parse_receipt_name
from filings.schema import validate


@dataclass(frozen=True, slots=True)
class Receipt:
    kind: str  # FDSC | FDRC | MCVR
    answered: Name  # the file or package the receipt answers
    arrived: str | None  # 14-digit arrival time from the file name
    result: str  # SUCC, the error code, or MANUAL for a notice
    detail: str  # errors / what to correct, for the status history
    files: tuple[Name, ...]  # the files inside a package the errors name (empty: all of it)
    deadline: str | None = None  # YYYYMMDD, from a manual correction notice


def read_receipt(file_name: str, data: bytes) -> Receipt:
    """A receipt file -> Receipt, or InvalidFiling (unknown name, bad XML, root not matching)."""
    parsed = parse_receipt_name(file_name)
    if parsed is None:
        raise InvalidFiling(f"{file_name}: not a receipt (FDSC/FDRC) or notice (MCVR) file name")
    if parsed.kind == "MCVR":
        doc = validate(data, "MCVR")
        reason = doc.findtext("MCRS") or ""
        deadline = doc.findtext("MCDL")
        detail = reason + (f" (correct by {deadline})" if deadline and deadline != "@N" else "")
        due = deadline if deadline and deadline != "@N" else None
        return Receipt("MCVR", _answered(doc, parsed.answered, file_name), parsed.arrived, "MANUAL", detail, (), due)
    doc = validate(data, "FDBK")
    result = doc.findtext("SFID") or ""
    if parsed.kind == "FDSC" and result != "SUCC":
        raise InvalidFiling(f"{file_name}: an FDSC receipt must say SUCC, it says {result!r}")
    if parsed.kind == "FDRC" and result == "SUCC":
        raise InvalidFiling(f"{file_name}: an FDRC receipt names an error, it says SUCC")
    errors = doc.findall("ERRSs/ERRS")
    detail = "; ".join(" ".join(filter(None, (e.findtext("RPNM"), e.findtext("ERLC"), e.findtext("ERDS")))) for e in errors) or result
    files = tuple(Name.parse(e.findtext("RPNM")) for e in errors if e.findtext("RPNM"))
    return Receipt(parsed.kind, _answered(doc, parsed.answered, file_name), parsed.arrived, result, detail, files)


def _answered(doc, from_name: Name, file_name: str) -> Name:
    inside = Name.parse(doc.findtext("FINM"))
    if inside.stem != from_name.stem:
        raise InvalidFiling(f"{file_name}: the file name answers {from_name.stem}, its FINM says {inside.stem}")
    return inside
