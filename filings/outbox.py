"""The outbox directory: validated report files, their ZIP packages, and the audit copies.

    OUTBOX/xml/      report files (.XML) written and not yet packed
    OUTBOX/zip/      packages (.ZIP, at most 5 MB each) for the bank's submission channel
    OUTBOX/archive/  every packed report file, as packed (audit copy)

Files are written atomically (temporary name, fsync, rename): a reader never sees half a file.
Packing records its manifest first (Redis), so a crash mid-way finishes the same package with
the same files and name on restart instead of packing a file twice.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from filings.naming import Name
from filings.packing import plan_packages, zip_bytes
from filings.store import FilingStore


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Outbox:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.xml = root / "xml"
        self.zip = root / "zip"
        self.archive = root / "archive"
        for d in (self.xml, self.zip, self.archive):
            d.mkdir(parents=True, exist_ok=True)

    def write(self, name: Name, data: bytes) -> Path:
        path = self.xml / name.xml
        write_atomic(path, data)
        return path

    def read(self, name: Name) -> bytes | None:
        for d in (self.xml, self.archive):
            if (d / name.xml).exists():
                return (d / name.xml).read_bytes()
        return None

    async def pack(self, store: FilingStore, max_bytes: int, package_date: str) -> list[tuple[str, list[str]]]:
        """Pack every unpacked file into packages per message kind (N/C/D × BH/BS); returns
        [(package name, its files)] including packages finished after an interruption."""
        done = [await self._finish(store, stem, doc["files"]) for stem, doc in sorted((await store.pending("pack")).items())]
        groups: dict[str, list[Name]] = {}
        for path in sorted(self.xml.glob("*.XML")):
            name = Name.parse(path.name)
            groups.setdefault(name.action + name.type, []).append(name)
        for kind, names in sorted(groups.items()):
            entries = [(n.xml, (self.xml / n.xml).read_bytes()) for n in names]
            for files in plan_packages(entries, max_bytes):
                first = Name.parse(files[0])
                seq = await store.allocate(f"pkg:{'|'.join(files)}", f"ZIP:{kind}:{package_date}")
                package = Name(first.action, first.type, first.ricd, package_date, seq)
                await store.pend("pack", package.stem, {"files": files})
                done.append(await self._finish(store, package.stem, files))
        return done

    async def _finish(self, store: FilingStore, stem: str, files: list[str]) -> tuple[str, list[str]]:
        entries = []
        for file in files:
            src = self.xml / file if (self.xml / file).exists() else self.archive / file
            entries.append((file, src.read_bytes()))
        write_atomic(self.zip / f"{stem}.ZIP", zip_bytes(entries))
        for file in files:
            if (self.xml / file).exists():
                os.replace(self.xml / file, self.archive / file)
        await store.redis.hset(store.p + "packages", stem, orjson.dumps(files))
        await store.unpend("pack", stem)
        return f"{stem}.ZIP", files

    @staticmethod
    async def package_files(store: FilingStore, stem: str) -> list[str] | None:
        raw = await store.redis.hget(store.p + "packages", stem)
        return orjson.loads(raw) if raw else None
