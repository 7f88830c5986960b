"""Pack report files of one message type into ZIP packages of at most `max_bytes` (5 MB by the
specification), named like the files. Deterministic: entries in the given order, fixed
timestamps, so re-packing the same files gives the same bytes."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

from filings.errors import InvalidFiling

FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def zip_bytes(entries: Sequence[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def plan_packages(entries: Sequence[tuple[str, bytes]], max_bytes: int) -> list[list[str]]:
    """Split entries (in order) into groups whose ZIP is at most `max_bytes`; a single file that
    does not fit even alone is an InvalidFiling."""
    groups: list[list[tuple[str, bytes]]] = []
    current: list[tuple[str, bytes]] = []
    for entry in entries:
        if len(zip_bytes([entry])) > max_bytes:
            raise InvalidFiling(f"{entry[0]} does not fit a package of {max_bytes} bytes even alone")
        if current and len(zip_bytes([*current, entry])) > max_bytes:
            groups.append(current)
            current = []
        current.append(entry)
    if current:
        groups.append(current)
    return [[name for name, _ in group] for group in groups]
