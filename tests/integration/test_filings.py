"""The filing stage's state on the real Redis (lease, sequence numbers, leg archive) and
`filings render` over files: the scenario, and the customer stage's own replay output."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import orjson
import pytest

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
