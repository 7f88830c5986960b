"""The filing stage through the real Kafka: `amlstream filings worker` as a subprocess reads
profiles, transactions, alerts, risk changes, large-value report events and case decisions from
unique topics and writes report files to an outbox; receipts in the inbox move the statuses."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator
from lxml import etree

from filings.config import DEFAULT_CONFIG_PATH
from filings.naming import Name
from filings.schema import validate
from filings.service import package_date
from tests.e2e.conftest import free_port
from tests.e2e.harness import ROOT, env_for, produce, read_all
from tests.filings_stream import ALERTS, DECISIONS, PROFILES, TRANSACTIONS, identity_entity, report_events

RICD = "A0000000000001"
TZ = "Asia/Shanghai"


def _json(rows: list[dict[str, Any]]) -> list[tuple[bytes | None, bytes]]:
    return [(r["customer_id"].encode(), orjson.dumps(r)) for r in rows]


async def _wait(predicate: Callable[[], bool], what: str, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.5)


class Filings:
    def __init__(self, env: dict[str, str], outbox: Path, log: Path) -> None:
        self.env, self.outbox, self.log = env, outbox, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Filings:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "filings", "worker"], env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT, cwd=ROOT
        )
        return self

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def xml_files(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for d in ("xml", "archive") for p in sorted((self.outbox / d).glob("*.XML"))}

    def metrics(self) -> str:
        import urllib.request

        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.env['AMLSTREAM_FILINGS_METRICS_PORT']}/metrics", timeout=2) as r:
                return r.read().decode()
        except OSError:
            return ""

    def status(self, *args: str) -> dict[str, Any]:
        out = subprocess.run([sys.executable, "-m", "streams.cli", "filings", "status", "--json", *args], env=self.env, cwd=ROOT, capture_output=True, check=True)
        return orjson.loads(out.stdout)


@pytest.fixture
async def filings_env(pipeline_env, tmp_path):
    topics = pipeline_env["topics"]
    decisions = f"t{uuid.uuid4().hex[:8]}.case-decisions"
    config = tmp_path / "filings.toml"
    # a 10-day monitoring period, so the consolidated report of the scenario falls due before now
    config.write_text(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8").replace("consolidation_days = 90", "consolidation_days = 10"), encoding="utf-8")
    env = env_for(
        topics,
        pipeline_env["redis_url"],
        pipeline_env["group"],
        free_port(),
        AMLSTREAM_FILINGS_CONFIG=str(config),
        AMLSTREAM_FILINGS_OUTBOX=str(tmp_path / "outbox"),
        AMLSTREAM_FILINGS_INBOX=str(tmp_path / "inbox"),
        AMLSTREAM_FILINGS_METRICS_PORT=str(free_port()),
        AMLSTREAM_FILINGS_GROUP_ID=f"filings-{uuid.uuid4().hex[:8]}",
        AMLSTREAM_FILINGS_PACK_INTERVAL_S="1",
        AMLSTREAM_TOPIC_CASE_DECISIONS=decisions,
    )
    subprocess.run([sys.executable, "-m", "streams.cli", "filings", "create-topics"], env=env, cwd=ROOT, check=True, capture_output=True)
    workers: list[Filings] = []

    def start() -> Filings:
        worker = Filings(env, tmp_path / "outbox", tmp_path / f"filings-{len(workers)}.log").start()
        workers.append(worker)
        return worker

    yield {"topics": topics, "decisions": decisions, "start": start, "inbox": tmp_path / "inbox", "outbox": tmp_path / "outbox"}
    for worker in workers:
        if worker.proc and worker.proc.poll() is None:
            worker.stop()


def _by_customer(files: dict[str, bytes], root: str) -> dict[str, list[tuple[str, etree._Element]]]:
    out: dict[str, list[tuple[str, etree._Element]]] = {}
    for name, data in files.items():
        doc = validate(data, root) if name[1:3] == ("BH" if root == "HVTR" else "BS") else None
        if doc is not None:
            out.setdefault(doc.findtext(".//CSNM"), []).append((name, doc))
    return out


async def test_filing_stage_end_to_end(filings_env) -> None:
    t = filings_env["topics"]
    events = report_events()
    first = [e for e in events if e["revision"] == 1 and e.get("action", "report") == "report"]
    later = [e for e in events if e not in first]
    risk_changes = [
        {"event_type": "risk_change", "customer_id": p["customer_id"], "occurred_at": "2026-10-01T02:00:00.000Z"} for p in PROFILES if p["customer_id"] != "F-NEW"
    ]
    await produce(t.customers, _json(PROFILES))
    await produce(t.transactions, _json(TRANSACTIONS))
    await produce(t.risk_changes, _json(risk_changes))
    await produce(t.patterns, _json(ALERTS))
    await produce(t.large_value, _json(first))
    worker = filings_env["start"]()
    today = package_date(timezone=TZ)

    # --- first reports: N files, one per report, after which the packages appear ---------------
    await _wait(lambda: len([n for n in worker.xml_files() if n.startswith("NBH")]) == 5, "5 N BH files")  # F-N1 is held: no identity
    await _wait(lambda: not list((filings_env["outbox"] / "xml").glob("*.XML")), "packing")
    files = worker.xml_files()
    for name in files:
        parsed = Name.parse(name)
        assert (parsed.ricd, parsed.date, parsed.action) == (RICD, today, "N")
    seqs = sorted(Name.parse(n).seq for n in files)
    assert seqs == [1, 2, 3, 4, 5], "one sequence number per file, no gaps, no repeats"
    docs = _by_customer(files, "HVTR")
    assert "F-N1" not in docs
    expected = {(e["customer_id"], e["rule_code"], e["business_date"]): e for e in first}
    checked = 0
    for cid, items in docs.items():
        for _, doc in items:
            htcr = doc.find("CATIs/CATI/HTCRs/HTCR")
            day = doc.findtext("CATIs/CATI/HTDT")
            event = expected[(cid, htcr.findtext("CRCD"), f"{day[:4]}-{day[4:6]}-{day[6:]}")]
            tsifs = [s.find("TSIF") for s in htcr.iterfind("CCIFs/CCIF/TSDTs/TSDT")]
            assert int(htcr.findtext("TTNM")) == event["tx_count"] == len(tsifs)
            assert [s.findtext("TICD") for s in tsifs] == event["tx_ids"]
            assert sum(Decimal(s.findtext("CRMB")) for s in tsifs) == Decimal(str(event["total_cny"]))
            by_ccy: dict[str, Decimal] = {}
            for s in tsifs:
                by_ccy[s.findtext("CRTP")] = by_ccy.get(s.findtext("CRTP"), Decimal(0)) + Decimal(s.findtext("CRAT"))
            assert by_ccy == {c: Decimal(str(v)) for c, v in event["totals_by_currency"].items()}
            assert all(s.findtext("TSTM")[:8] == day for s in tsifs), "transaction times in the bank's timezone fall on the report's business day"
            assert {s.findtext("TSDR") for s in tsifs} == {"01" if event["direction"] == "in" else "02"}
            checked += 1
    assert checked == 5
    entity = docs["F-E1"][0][1]
    assert entity.findtext(".//CCIF/CTNM") == "上海示例贸易有限公司" and entity.findtext(".//CCIF/CITP") == "610001"
    zips = sorted((filings_env["outbox"] / "zip").glob("*.ZIP"))
    assert zips and all(z.stat().st_size <= 5 * 1024 * 1024 for z in zips)
    assert sorted(n for z in zips for n in zipfile.ZipFile(z).namelist()) == sorted(files)
    assert all(Name.parse(z.name).type == "BH" for z in zips)

    # --- revisions, withdrawals, manual, duplicates: C, D, no file, nothing twice ---------------
    await produce(t.large_value, _json(later + first))  # `first` again: redelivered events
    await _wait(lambda: any(n.startswith("CBH") for n in worker.xml_files()) and any(n.startswith("DBH") for n in worker.xml_files()), "C and D files")
    files = worker.xml_files()
    corrected = [n for n in files if n.startswith("CBH")]
    deleted = [n for n in files if n.startswith("DBH")]
    assert len(corrected) == 1 and len(deleted) == 1
    p1_cash = next(n for n, d in _by_customer(files, "HVTR")["F-P1"] if d.findtext(".//CRCD") == "0501" and n.startswith("N"))
    assert Name.parse(corrected[0]).key == Name.parse(p1_cash).key, "C keeps the date and number of the file it corrects"
    rev2 = validate(files[corrected[0]], "HVTR")
    assert rev2.findtext(".//TTNM") == "3" and [s.findtext("TSIF/TICD") for s in rev2.iterfind(".//TSDT")] == ["P1-1", "P1-2", "P1-3"]
    p2 = next(n for n, d in _by_customer(files, "HVTR")["F-P2"] if d.findtext(".//CRCD") == "0503" and n.startswith("N"))
    assert Name.parse(deleted[0]).key == Name.parse(p2).key
    assert len([n for n in files if n.startswith("NBH")]) == 5, "a redelivered report event writes no second file"

    # --- decisions: a suspicious report, then the consolidated continuing one -------------------
    bad = {"decision_id": "D-BAD", "customer_id": "F-P1", "decided_at": "2026-11-21T10:00:00", "decision": "confirmed"}
    decisions = [*DECISIONS[:1], {**DECISIONS[1], "decided_at": "2026-11-20T10:00:00+08:00"}, DECISIONS[2], bad]
    await produce(filings_env["decisions"], _json(decisions))
    await _wait(lambda: len([n for n in worker.xml_files() if n.startswith("NBS")]) == 2, "2 BS files")
    bs = sorted((n, validate(d, "BSTR")) for n, d in worker.xml_files().items() if n.startswith("NBS"))
    (first_name, first_bs), (_, cont) = bs
    assert (first_bs.findtext("RBIF/TORP"), first_bs.findtext("RBIF/ORXN")) == ("1", "@N")
    assert [s.findtext("TSIF/TICD") for s in first_bs.iterfind("STIFs/STIF")] == ["P2-3", "P2-4"]
    assert (cont.findtext("RBIF/TORP"), cont.findtext("RBIF/ORXN")) == ("2", first_name)
    assert [s.findtext("TSIF/TICD") for s in cont.iterfind("STIFs/STIF")] == ["P2-5"]
    assert first_bs.findtext("RBIF/AOSP") == DECISIONS[0]["analysis"] and first_bs.findtext(".//TOSC") == "1106"
    dead = [orjson.loads(v) for *_, v in await read_all([t.dead_letter], idle_s=2, timeout_s=30)]
    assert [(d["error_code"], d["customer_id"]) for d in dead] == [("invalid_decision", "F-P1")]
    schema = orjson.loads((ROOT / "streams/schemas/dead_letter.v1.schema.json").read_bytes())
    assert not list(Draft202012Validator(schema).iter_errors(dead[0])), "the filing stage's dead letters follow the dead-letter contract"

    # --- receipts: accepted, needs correction -> C once the profile is fixed -------------------
    await _wait(lambda: not list((filings_env["outbox"] / "xml").glob("*.XML")), "packing")
    e1_name = next(n for n, d in _by_customer(worker.xml_files(), "HVTR")["F-E1"])
    package = next(z for z in (filings_env["outbox"] / "zip").glob("N*.ZIP") if e1_name in zipfile.ZipFile(z).namelist())
    others = [n for n in zipfile.ZipFile(package).namelist() if n != e1_name]
    inbox = filings_env["inbox"]
    inbox.mkdir(exist_ok=True)
    fdrc = (
        f"<FDBK><FINM>{package.name}</FINM><SFID>E1001</SFID><TTNM>{len(others) + 1}</TTNM><SCNM>{len(others)}</SCNM><FLNM>1</FLNM>"
        f"<ERRSs><ERRS seqno='1'><RPNM>{e1_name}</RPNM><ERLC>CTID</ERLC><ERDS>统一社会信用代码校验位错误</ERDS></ERRS></ERRSs></FDBK>"
    )
    (inbox / f"FDRC[{package.name}]20261201093000.XML").write_text(fdrc, encoding="utf-8")
    await _wait(lambda: (inbox / "processed" / f"FDRC[{package.name}]20261201093000.XML").exists(), "the receipt read")
    status = {f["id"]: f for f in worker.status()["filings"]}
    e1 = next(f for f in status.values() if f["customer_id"] == "F-E1")
    assert e1["status"] == "needs_correction" and "校验位" in e1["detail"]
    assert all(status[f["id"]]["status"] == "accepted" for f in status.values() if f.get("package") == package.name and f["id"] != e1["id"])
    fixed = {**PROFILES[2], "updated_at": "2026-12-01T12:00:00+08:00", "identity": {**identity_entity("上海示例贸易有限公司", "91310000MA1K00000X")}}
    await produce(t.customers, _json([fixed]))
    await _wait(lambda: any(n.startswith("CBH") and Name.parse(n).key == Name.parse(e1_name).key for n in worker.xml_files()), "the corrected E1 file")
    corrected_e1 = validate(worker.xml_files()[e1_name.replace("NBH", "CBH", 1)], "HVTR")
    assert corrected_e1.findtext(".//CCIF/CTID") == "91310000MA1K00000X"

    # --- deadlines: the held report and the unrated new customer are overdue -------------------
    await _wait(lambda: 'amlstream_filings_overdue{kind="large_value"}' in worker.metrics(), "deadline metrics")
    metrics = worker.metrics()
    assert 'amlstream_filings_overdue{kind="large_value"} 2.0' in metrics  # F-N1 missing identity, F-P1's manual report
    assert 'amlstream_filings_overdue{kind="first_rating"} 1.0' in metrics  # F-NEW
    overdue = worker.status("--overdue")
    assert sorted((f["customer_id"], f["status"]) for f in overdue["filings"]) == [("F-N1", "missing_identity"), ("F-P1", "manual_required")]
    assert [r["customer_id"] for r in overdue["first_ratings"]] == ["F-NEW"]

    # --- a restart re-reads nothing twice -------------------------------------------------------
    before = sorted(worker.xml_files())
    assert worker.stop() == 0
    worker = filings_env["start"]()
    await produce(t.large_value, _json(events[:2]))
    await asyncio.sleep(5)
    assert sorted(worker.xml_files()) == before
