"""The filing stage's state on the real Redis (lease, sequence numbers, leg archive) and
`filings render` over files: the scenario, and the customer stage's own replay output."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import orjson
import pytest
from redis.asyncio import Redis

from filings.model import Leg
from filings.naming import Name
from filings.render import render
from filings.schema import validate
from filings.store import FilingStore
from streams.settings import Settings
from tests.filings_stream import ALERTS, DECISIONS, PROFILES, TRANSACTIONS, jsonl, report_events

ROOT = Path(__file__).resolve().parents[2]


def _leg(tx_id: str, day: int, seq: int, amount_fen: int = 100) -> Leg:
    return Leg(seq, tx_id, "C-1", day * 86_400_000, day, "in", str(amount_fen / 100), "CNY", amount_fen, "cash", "counter", False)


async def test_one_writer_holds_the_lease(redis) -> None:
    store = FilingStore(redis, "t:")
    assert await store.acquire_lease("a", 5_000)
    assert not await store.acquire_lease("b", 5_000), "a second filing worker must not write"
    assert await store.renew_lease("a", 5_000) and not await store.renew_lease("b", 5_000)
    await store.release_lease("b")  # not b's: nothing happens
    assert not await store.acquire_lease("b", 5_000)
    await store.release_lease("a")
    assert await store.acquire_lease("b", 5_000)


async def test_a_sequence_number_is_allocated_once_per_purpose(redis) -> None:
    store = FilingStore(redis, "t:")
    first = await store.allocate("lv:k:1:N", "BH:20261130")
    assert await store.allocate("lv:k:1:N", "BH:20261130") == first, "a retry gets the same number"
    assert await store.allocate("lv:k2:1:N", "BH:20261130") == first + 1
    assert await store.allocate("lv:k3:1:N", "BH:20261201") == 1, "numbers count per day"


async def test_the_leg_archive_keeps_the_first_copy_and_prunes_by_event_time(redis) -> None:
    store = FilingStore(redis, "t:")
    assert await store.add_leg(_leg("T-1", 100, 1, 100), keep_days=3)
    assert not await store.add_leg(_leg("T-1", 100, 2, 999), keep_days=3), "a second copy of a tx_id is not archived"
    assert [leg.amount_fen for leg in await store.legs_of_day("C-1", 100)] == [100]
    await store.add_leg(_leg("T-2", 102, 3), keep_days=3)
    assert await store.legs_of_day("C-1", 100)
    await store.add_leg(_leg("T-3", 104, 4), keep_days=3)  # day 100 is now more than 3 days behind
    assert await store.legs_of_day("C-1", 100) == []
    assert set(await store.legs("C-1", ["T-1", "T-2", "T-3"])) == {"T-2", "T-3"}


async def test_undoings_are_found_by_the_leg_they_name_on_any_day_and_pruned_with_their_day(redis) -> None:
    store = FilingStore(redis, "t:")
    await store.add_leg(_leg("T-1", 100, 1), keep_days=10)
    await store.add_leg(
        Leg(2, "T-1-C", "C-1", 101 * 86_400_000, 101, "in", "2.00", "CNY", 200, "cash", "counter", False, tx_type="correction", original_tx_id="T-1"), keep_days=10
    )
    await store.add_leg(
        Leg(3, "T-1-CR", "C-1", 103 * 86_400_000, 103, "out", "2.00", "CNY", 200, "cash", "counter", False, tx_type="reversal", original_tx_id="T-1-C"), keep_days=10
    )
    await store.add_leg(
        Leg(4, "T-1-R2", "C-1", 103 * 86_400_000, 103, "out", "1.00", "CNY", 100, "cash", "counter", False, tx_type="reversal", original_tx_id="T-1"), keep_days=10
    )
    assert [leg.tx_id for leg in await store.undoings("C-1", ["T-1"])] == ["T-1-C", "T-1-CR", "T-1-R2"], "on later days, and along the chain"
    await store.add_leg(_leg("T-9", 112, 5), keep_days=10)  # days 100 and 101 go
    assert [leg.tx_id for leg in await store.undoings("C-1", ["T-1"])] == ["T-1-R2"]
    assert await redis.hget("t:undo:{C-1}", "T-1-C") is not None  # day 103's reversal of the correction stays indexed
    await store.add_leg(_leg("T-10", 114, 6), keep_days=10)  # day 103 goes
    assert await redis.hgetall("t:undo:{C-1}") == {}, "nothing is left behind"


@pytest.fixture
def settings(redis) -> Settings:
    url = f"redis://{redis.connection_pool.connection_kwargs['host']}:{redis.connection_pool.connection_kwargs['port']}/15"
    return Settings(redis_url=url, redis_url_given=True)


async def test_render_the_scenario(settings: Settings, tmp_path: Path) -> None:
    bad_identity = {**PROFILES[0], "customer_id": "F-BAD", "identity": {"legal_name": "x", "id_type": "999999", "id_number": "1"}}
    for name, rows in (
        ("customers", [*PROFILES, bad_identity]),
        ("transactions", TRANSACTIONS),
        ("reports", report_events()),
        ("alerts", ALERTS),
        ("decisions", DECISIONS),
    ):
        (tmp_path / f"{name}.jsonl").write_bytes(jsonl(rows))
    from datetime import datetime

    result = await render(
        settings,
        tmp_path / "out",
        transactions=tmp_path / "transactions.jsonl",
        customers=tmp_path / "customers.jsonl",
        reports=tmp_path / "reports.jsonl",
        decisions=tmp_path / "decisions.jsonl",
        alerts=tmp_path / "alerts.jsonl",
        asof=datetime.fromisoformat("2026-11-30T12:00:00+08:00"),
        file_date="20261130",
    )
    # P1 0501 (revision 2 supersedes 1 in one pass), P1 0504, E1 0502, P2 0501; P2 0503 withdrawn
    # before filing, N1 held (no identity); the first suspicious report, D-2 consolidating
    assert sorted(n[:3] for n in result.written) == ["NBH"] * 4 + ["NBS"]
    assert [(d["error_code"], d["customer_id"]) for d in result.dead_letters] == [("invalid_identity", "F-BAD")]
    assert_dead_letters(result.dead_letters, tmp_path / "out" / "dead-letter.jsonl")
    packages = sorted((tmp_path / "out" / "zip").glob("*.ZIP"))
    assert [p.name for p in packages] == ["NBHA0000000000001-20261130-00000001.ZIP", "NBSA0000000000001-20261130-00000001.ZIP"]
    for package in packages:
        archive = zipfile.ZipFile(package)
        for name in archive.namelist():
            validate(archive.read(name), "HVTR" if name[1:3] == "BH" else "BSTR")
    assert result.deadlines["large_value"][1] == 2  # F-N1 missing identity and F-P1's manual report are overdue


def test_render_matches_the_customer_stage_exactly(tmp_path: Path) -> None:
    """The customer stage's own reports (replay of the sample stream) and the filing stage's leg
    selection agree to the fen on every report: no filing_leg_mismatch."""
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}
    run = [sys.executable, "-m", "streams.cli"]
    subprocess.run([sys.executable, str(ROOT / "deploy/local/demo_identities.py"), str(tmp_path / "in"), "50", "3", "7"], check=True, cwd=ROOT, env=env)
    subprocess.run(
        [*run, "replay", "--transactions", str(tmp_path / "in/transactions.jsonl"), "--out", str(tmp_path / "replay")], check=True, cwd=ROOT, env=env, capture_output=True
    )
    reports = [orjson.loads(line) for line in (tmp_path / "replay/large-value-reports.jsonl").read_bytes().splitlines()]
    assert reports, "the sample stream has large-value reports"
    out = subprocess.run(
        [*run, "filings", "render", "--transactions", str(tmp_path / "in/transactions.jsonl"), "--customers", str(tmp_path / "in/customers.jsonl"),
         "--reports", str(tmp_path / "replay/large-value-reports.jsonl"), "--out", str(tmp_path / "out")],
        check=True, cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert "(0 dead letters)" in out.stdout
    assert len(list((tmp_path / "out/archive").glob("NBH*.XML"))) == len({r["report_key"] for r in reports})


async def test_a_crash_between_file_and_status_rewrites_the_same_file(redis, settings: Settings, tmp_path: Path) -> None:
    """Fault injection: the process dies after writing a file and before storing its status; the
    retry writes the same bytes under the same name, and no number is used twice or skipped."""
    from filings.inputs import Inputs
    from filings.settings import FilingSettings
    from filings.worker import build_filer

    async def run(outbox: Path, crash_after: int | None) -> dict[str, bytes]:
        await redis.flushdb()
        filer, model = build_filer(settings, FilingSettings(outbox=outbox), redis)
        inputs = Inputs(filer, model.standard.fx, model.calendar)
        for kind, rows in (("profile", PROFILES), ("transaction", TRANSACTIONS), ("report", report_events())):
            for i, row in enumerate(rows):
                await inputs.apply(kind, row["customer_id"].encode(), orjson.dumps(row), i, None)
        if crash_after is not None:
            real, written = filer.store.put_filing, []

            async def dying(filing, note, due):
                if filing.get("status") == "written":
                    written.append(filing["file"])
                    if len(written) > crash_after:
                        raise ConnectionError("simulated crash after the file, before its status")
                await real(filing, note, due)

            filer.store.put_filing = dying  # type: ignore[method-assign]
            with pytest.raises(ConnectionError):
                await filer.process_reports("20261130")
            filer.store.put_filing = real  # type: ignore[method-assign]
            files_before = {p.name: p.read_bytes() for p in (outbox / "xml").glob("*.XML")}
            assert len(files_before) == crash_after + 1
        await filer.process_reports("20261130")
        await filer.process_reports("20261130")  # and once more: nothing changes
        return {p.name: p.read_bytes() for p in (outbox / "xml").glob("*.XML")}

    clean = await run(tmp_path / "clean", None)
    crashed = await run(tmp_path / "crashed", 1)
    assert crashed == clean
    assert sorted(Name.parse(n).seq for n in crashed) == list(range(1, len(clean) + 1))


# --- reversals, corrections, withdrawals and manual reports: the customer stage, then the filing stage


def _cash_in(tx_id: str, cid: str, ts: str, amount: str, **extra: object) -> dict[str, object]:
    return {
        "tx_id": tx_id,
        "customer_id": cid,
        "account_id": f"A-{cid}",
        "ts": ts,
        "direction": "in",
        "amount": amount,
        "currency": "CNY",
        "method": "cash",
        "channel": "counter",
        **extra,
    }


def _transfer_out(tx_id: str, cid: str, ts: str, amount: str, **extra: object) -> dict[str, object]:
    return {
        "tx_id": tx_id,
        "customer_id": cid,
        "account_id": f"A-{cid}",
        "ts": ts,
        "direction": "out",
        "amount": amount,
        "currency": "CNY",
        "method": "transfer",
        "channel": "online",
        **extra,
    }


def _undo(kind: str, tx_id: str, original: str, cid: str, ts: str, amount: str) -> dict[str, object]:
    return _cash_in(tx_id, cid, ts, amount, tx_type=kind, original_tx_id=original) | ({"direction": "out"} if kind == "reversal" else {})


UNDO_CUSTOMERS = ("MN-1", "RV-1", "CR-1", "WD-1", "RJ-1", "OW-1")
UNDO_PART_1 = [
    _cash_in("M-1", "MN-1", "2026-07-01T10:00:00+08:00", "60000.00"),
    _cash_in("RV1-A", "RV-1", "2026-11-03T10:00:00+08:00", "60000.00"),
    _cash_in("RV1-B", "RV-1", "2026-11-03T10:05:00+08:00", "20000.00"),
    _cash_in("CR1-A", "CR-1", "2026-11-03T10:00:00+08:00", "60000.00"),
    _cash_in("WD1-A", "WD-1", "2026-11-03T10:00:00+08:00", "30000.00"),
    _cash_in("WD1-B", "WD-1", "2026-11-03T10:05:00+08:00", "25000.00"),
    _cash_in("RJ1-A", "RJ-1", "2026-11-03T10:00:00+08:00", "60000.00"),
    # own-account moves in both forms (its own id; one of the profile's accounts) are no flow: 0503 lists OW1-1 and OW1-4 only
    _transfer_out("OW1-1", "OW-1", "2026-11-03T10:00:00+08:00", "300000.00", counterparty_id="K-9", counterparty_name="某某公司"),
    _transfer_out("OW1-2", "OW-1", "2026-11-03T10:10:00+08:00", "400000.00", counterparty_id="OW-1"),
    _transfer_out("OW1-3", "OW-1", "2026-11-03T10:20:00+08:00", "300000.00", counterparty_account="6222 0001"),
    _transfer_out("OW1-4", "OW-1", "2026-11-03T10:30:00+08:00", "250000.00", counterparty_id="K-8", counterparty_name="某某个人"),
]
UNDO_PART_2 = [
    _undo("correction", "CR1-A-COR", "CR1-A", "CR-1", "2026-11-03T15:00:00+08:00", "65000.00"),
    _undo("correction", "CR1-A-COR2", "CR1-A", "CR-1", "2026-11-03T15:10:00+08:00", "70000.00"),  # refused: CR1-A was corrected already
    _cash_in("CR1-D", "CR-1", "2026-11-03T15:20:00+08:00", "1000.00"),
    _undo("reversal", "WD1-B-REV", "WD1-B", "WD-1", "2026-11-03T16:00:00+08:00", "25000.00"),  # the day falls below the line: withdraw
    _undo("reversal", "RJ1-A-REV", "RJ1-A", "RJ-1", "2026-11-03T16:00:00+08:00", "50000.00"),  # refused: another amount than the original's
    _cash_in("RJ1-C", "RJ-1", "2026-11-03T16:10:00+08:00", "5000.00"),
    _undo("reversal", "RV1-B-REV", "RV1-B", "RV-1", "2026-11-04T09:00:00+08:00", "20000.00"),  # posted the next day
    _cash_in("M-2", "MN-1", "2026-11-04T09:30:00+08:00", "100.00"),
    _cash_in("M-LATE", "MN-1", "2026-07-01T15:00:00+08:00", "50000.00"),  # older than the customer stage's state: manual
]


def _undo_profiles() -> list[dict[str, object]]:
    out = []
    for i, cid in enumerate(UNDO_CUSTOMERS):
        profile = {**PROFILES[0], "customer_id": cid, "identity": {**PROFILES[0]["identity"], "id_number": f"11010119900101{1000 + i}"}}
        if cid == "OW-1":
            profile["accounts"] = ["A-OW-1", "6222-0001"]
        out.append(profile)
    return out


def _replay(tmp: Path, name: str, transactions: list[dict[str, object]], customers: Path) -> tuple[Path, Path, list[dict[str, object]]]:
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}
    (tmp / f"{name}.jsonl").write_bytes(jsonl(transactions))
    out = tmp / f"replay-{name}"
    subprocess.run(
        [sys.executable, "-m", "streams.cli", "replay", "--transactions", str(tmp / f"{name}.jsonl"), "--customers", str(customers), "--out", str(out)],
        check=True, cwd=ROOT, env=env, capture_output=True,
    )  # fmt: skip
    dead = [orjson.loads(line) for line in (out / "dead-letter.jsonl").read_bytes().splitlines()]
    return tmp / f"{name}.jsonl", out / "large-value-reports.jsonl", dead


def _hvtr(path: Path) -> tuple[str, list[tuple[str, str]]]:
    doc = validate(path.read_bytes(), "HVTR")
    return doc.findtext(".//TTNM"), [(s.findtext("TSIF/TICD"), s.findtext("TSIF/CRAT")) for s in doc.iterfind(".//TSDT")]


async def test_revisions_by_reversals_and_corrections_are_filed_as_the_customer_stage_counted(settings: Settings, tmp_path: Path) -> None:
    """Finding: a revision caused by a reversal or correction waited forever for the leg `None`.
    Two passes, as a bank catches up: the customer stage (replay) over the first legs, the filing
    stage files N; then over all legs (reversals, corrections, refused ones, a late leg), and the
    filing stage files C and D under the N files' dates and numbers, with the customer stage's figures."""
    from datetime import datetime

    customers = tmp_path / "customers.jsonl"
    customers.write_bytes(jsonl(_undo_profiles()))
    run = {"customers": customers, "decisions": None, "alerts": None, "risk_changes": None}
    tx1, reports1, _ = _replay(tmp_path, "part1", UNDO_PART_1, customers)
    first = await render(
        settings, tmp_path / "out", transactions=tx1, reports=reports1, asof=datetime.fromisoformat("2026-11-04T12:00:00+08:00"), file_date="20261104", **run
    )
    assert first.dead_letters == []
    assert sorted(n[:3] for n in first.written) == ["NBH"] * 6
    archive = tmp_path / "out" / "archive"
    n_files = {validate((archive / n).read_bytes(), "HVTR").findtext(".//CSNM"): n for n in first.written}
    assert _hvtr(archive / n_files["OW-1"]) == ("2", [("OW1-1", "300000.000"), ("OW1-4", "250000.000")])
    assert _hvtr(archive / n_files["RV-1"]) == ("2", [("RV1-A", "60000.000"), ("RV1-B", "20000.000")])

    tx2, reports2, dead = _replay(tmp_path, "all", UNDO_PART_1 + UNDO_PART_2, customers)
    assert sorted((d["error_code"], d["customer_id"]) for d in dead) == [("reversal_unmatched", "CR-1"), ("reversal_unmatched", "RJ-1"), ("too_late", "MN-1")]
    events = [orjson.loads(line) for line in reports2.read_bytes().splitlines()]
    assert {(e["customer_id"], e["action"], e["cause"]["kind"]) for e in events} >= {
        ("RV-1", "report", "reversal"),
        ("CR-1", "report", "reversal"),
        ("WD-1", "withdraw", "reversal"),
        ("MN-1", "manual", "transaction"),
    }
    second = await render(
        settings, tmp_path / "out", transactions=tx2, reports=reports2, asof=datetime.fromisoformat("2026-11-05T12:00:00+08:00"), file_date="20261105", **run
    )
    assert second.dead_letters == []
    written = {validate((archive / n).read_bytes(), "HVTR").findtext(".//CSNM"): n for n in second.written}
    assert sorted(written) == ["CR-1", "RJ-1", "RV-1", "WD-1"], "no second N for a redelivered revision; nothing for OW-1 or the manual report"
    for cid, name in written.items():
        assert Name.parse(name).key == Name.parse(n_files[cid]).key, f"{cid}: C and D keep the date and number of the N file"
        assert name[0] == ("D" if cid == "WD-1" else "C")
    assert _hvtr(archive / written["RV-1"]) == ("1", [("RV1-A", "60000.000")])  # the reversed leg is gone
    assert _hvtr(archive / written["CR-1"]) == ("2", [("CR1-A", "65000.000"), ("CR1-D", "1000.000")])  # corrected once; the refused second correction not applied
    assert _hvtr(archive / written["RJ-1"]) == ("2", [("RJ1-A", "60000.000"), ("RJ1-C", "5000.000")])  # the refused reversal not applied
    assert (archive / written["WD-1"]).read_bytes() == (archive / n_files["WD-1"]).read_bytes(), "D deletes the report as it was filed"
    store = FilingStore(Redis.from_url(settings.redis_url), "aml:filings:A0000000000001:")
    try:
        statuses = {}
        for fid in await store.all_filings():
            filing = await store.filing(fid)
            statuses[(filing["customer_id"], fid.endswith(":manual"))] = (filing["status"], filing.get("set_aside"))
    finally:
        await store.redis.aclose()
    assert statuses[("CR-1", False)] == ("packed", ["CR1-A-COR2"]) and statuses[("RJ-1", False)] == ("packed", ["RJ1-A-REV"])
    assert statuses[("MN-1", True)][0] == "manual_required", "the late leg needs a manual report"
    assert statuses[("MN-1", False)][0] == "packed", "the filed report of that day keeps its status"
    assert second.deadlines["large_value"] == (0, 1)  # the manual report, due long ago


async def test_first_ratings_are_not_counted_without_risk_changes(settings: Settings, tmp_path: Path) -> None:
    """Finding: `filings render` without --risk-changes reported customers onboarded in 2018 as overdue
    for their first rating; without risk changes no one can tell, so they are not counted (one note)."""
    from datetime import datetime

    old = {**PROFILES[0], "customer_id": "OLD-1", "onboarded_at": "2018-01-10T10:00:00+08:00"}
    (tmp_path / "customers.jsonl").write_bytes(jsonl([old]))
    (tmp_path / "risk.jsonl").write_bytes(jsonl([{"event_type": "risk_change", "customer_id": "X-9", "occurred_at": "2026-10-01T02:00:00.000Z"}]))
    asof = datetime.fromisoformat("2026-11-30T12:00:00+08:00")
    files = {"transactions": None, "reports": None, "decisions": None, "customers": tmp_path / "customers.jsonl", "asof": asof, "file_date": "20261130"}
    without = await render(settings, tmp_path / "a", **files)
    assert "first_rating" not in without.deadlines and without.notes == ["first_rating: not counted (no --risk-changes given: whether a customer was rated is unknown)"]
    with_them = await render(settings, tmp_path / "b", risk_changes=tmp_path / "risk.jsonl", **files)
    assert with_them.deadlines["first_rating"] == (0, 1) and with_them.notes == [], "with risk changes, OLD-1 was never rated: overdue"


def assert_dead_letters(dead_letters: list[dict], path) -> None:
    """`filings render` writes the worker's dead_letter events: the contract's shape, valid against its schema."""
    import json

    from jsonschema import Draft202012Validator

    from streams.events import SCHEMA_VERSION

    schema = json.loads((Path(__file__).resolve().parents[2] / "streams" / "schemas" / "dead_letter.v1.schema.json").read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema)
    written = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert written == dead_letters and written
    for event in written:
        assert not list(validator.iter_errors(event)), list(validator.iter_errors(event))
        assert (event["event_type"], event["schema_version"]) == ("dead_letter", SCHEMA_VERSION) and event["error_detail"]
