"""Replay's input files on the real Redis: a CSV cell reaches the decoder as the same JSON would
(no silent false), and a messages file is read as the worker reads Kafka records (keys checked;
a line that is no record stops replay before it writes anything, naming the line)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson
import pytest
from redis.asyncio import Redis

from streams.errors import InputFileError
from streams.model import load_model
from streams.replay import replay
from streams.settings import load_settings
from tests.services import redis_url

DB = 13  # no other test uses it
COLUMNS = ("tx_id", "customer_id", "ts", "direction", "amount", "currency", "method", "cross_border", "counterparty_country")
# (cross_border as a CSV cell, the JSON value it stands for)
CELLS = [("Y", "Y"), ("maybe", "maybe"), ("yes", "yes"), ("TRUE", True), ("1", True), ("false", False), ("0", False), ("", None), (" true", " true")]
PROFILE_COLUMNS = ("customer_id", "kind", "updated_at", "pep", "listed")


@pytest.fixture
async def settings(local_services):
    client = Redis.from_url(redis_url(DB))
    await client.flushdb()
    await client.aclose()
    return load_settings({"AMLSTREAM_REDIS_URL": redis_url(DB)})


async def run(settings, tmp_path: Path, name: str, **files: str | None) -> dict[str, list[dict]]:
    client = Redis.from_url(redis_url(DB))
    await client.flushdb()
    await client.aclose()
    out = tmp_path / name
    await replay(settings, load_model(), files.get("transactions"), files.get("customers"), out, messages=files.get("messages"), publish_peers=False)
    return {kind: [orjson.loads(line) for line in (out / f"{kind}.jsonl").read_bytes().splitlines()] for kind in ("dead-letter", "large-value-reports", "risk-changes")}


def _csv(path: Path, columns: tuple[str, ...], rows: list[tuple]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return str(path)


def _jsonl(path: Path, docs: list[dict]) -> str:
    path.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs))
    return str(path)


def _outcome(outputs: dict[str, list[dict]]) -> dict[str, object]:
    """What each customer got: its dead letters (code, detail) and large-value reports."""
    out: dict[str, object] = {}
    for dl in outputs["dead-letter"]:
        out[dl["customer_id"]] = (dl["error_code"], dl["error_detail"])
    for report in outputs["large-value-reports"]:
        out[report["customer_id"]] = (report["rule_code"], report["total_cny"])
    return out


async def test_csv_booleans_are_dead_lettered_exactly_as_the_same_json(settings, tmp_path):
    """A 300,000 CNY cross-border remittance of an individual: 0504 when cross_border is true, a
    dead letter when the cell is not a boolean (was: silently false, no 0504)."""
    rows = [(f"X-{i}", f"C-X{i}", "2026-11-02T10:00:00+08:00", "out", "300000.00", "CNY", "remittance", cell, "HK") for i, (cell, _) in enumerate(CELLS)]
    docs = [dict(zip(COLUMNS, row, strict=True)) | {"cross_border": value} for row, (_, value) in zip(rows, CELLS, strict=True)]
    docs = [{k: v for k, v in d.items() if v is not None} for d in docs]
    from_csv = _outcome(await run(settings, tmp_path, "csv", transactions=_csv(tmp_path / "legs.csv", COLUMNS, rows)))
    from_json = _outcome(await run(settings, tmp_path, "json", transactions=_jsonl(tmp_path / "legs.jsonl", docs)))
    assert from_csv == from_json
    assert from_csv["C-X0"] == from_csv["C-X1"] == ("invalid_type", "'cross_border' must be a boolean")
    assert from_csv["C-X3"] == from_csv["C-X4"] == ("0504", 300000.0)
    assert "C-X5" not in from_csv and "C-X7" not in from_csv  # false and empty: a domestic transfer below 0503's line


async def test_csv_profile_flags_follow_the_same_rule(settings, tmp_path):
    profiles = [("P-1", "individual", "2026-10-01T00:00:00+08:00", "Y", ""), ("P-2", "individual", "2026-10-01T00:00:00+08:00", "TRUE", "0")]
    legs = [(f"PT-{i}", f"P-{i}", "2026-11-02T10:00:00+08:00", "in", "100.00", "CNY", "transfer", "", "") for i in (1, 2)]
    outputs = await run(
        settings, tmp_path, "profiles", transactions=_csv(tmp_path / "legs.csv", COLUMNS, legs), customers=_csv(tmp_path / "profiles.csv", PROFILE_COLUMNS, profiles)
    )
    assert [(d["customer_id"], d["error_code"], d["error_detail"]) for d in outputs["dead-letter"]] == [("P-1", "invalid_type", "'pep' must be a boolean")]
    ratings = {r["customer_id"]: r for r in outputs["risk-changes"]}
    assert "pep" in [h["rule"] for h in ratings["P-2"]["hard_rules"]]
    assert ratings["P-1"]["hard_rules"] == []  # rated without the refused profile


def _message(topic: str, key: str | None, value: object) -> dict:
    return {"topic": topic, "key": key, "value": value}


def _leg(tx_id: str, customer: str = "C-M") -> dict:
    return {"tx_id": tx_id, "customer_id": customer, "ts": "2026-11-02T10:00:00+08:00", "direction": "in", "amount": "100.00", "currency": "CNY", "method": "transfer"}


async def test_a_csv_with_a_byte_order_mark_and_a_row_too_wide(settings, tmp_path):
    """Excel's "CSV UTF-8" (a BOM before the first header) replays; a row with a cell more than the
    header is dead-lettered (invalid_value), never applied with the extra cell dropped."""
    rows = [
        ("W-1", "C-W", "2026-11-02T10:00:00+08:00", "in", "100.00", "CNY", "cash", "", ""),
        ("W-2", "C-W", "2026-11-02T11:00:00+08:00", "in", "100.00", "CNY", "cash", "", "", "X"),
    ]
    path = Path(_csv(tmp_path / "legs.csv", COLUMNS, rows))  # type: ignore[arg-type]
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-8-sig"))
    outputs = await run(settings, tmp_path, "bom", transactions=str(path))
    assert [(d["source"]["offset"], d["customer_id"], d["error_code"], d["error_detail"]) for d in outputs["dead-letter"]] == [
        (1, "C-W", "invalid_value", "CSV line 3 has 10 cells, the header 9: extra 'X'")
    ]
    assert [r["customer_id"] for r in outputs["risk-changes"]] == ["C-W"]  # the first row was applied


async def test_messages_keys_are_checked_as_the_worker_checks_them(settings, tmp_path):
    lines = [
        _message("transactions", "C-M", _leg("M-1")),
        _message("transactions", "C-OTHER", _leg("M-2")),  # key differs from customer_id
        _message("transactions", None, _leg("M-3")),  # no key
        _message("aml.transactions.v1", "C-M", _leg("M-4")),
        _message("customers", None, None),  # a tombstone needs its key
    ]
    outputs = await run(settings, tmp_path, "keys", messages=_jsonl(tmp_path / "messages.jsonl", lines))
    assert [(d["source"]["offset"], d["key"], d["error_code"]) for d in outputs["dead-letter"]] == [
        (1, "C-OTHER", "key_mismatch"),
        (2, None, "key_mismatch"),
        (4, None, "missing_field"),
    ]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"this line is not json", "line 2: not a JSON object"),
        (b"[1, 2]", "line 2: not a JSON object but list"),
        (orjson.dumps(_message("custmers", "C-M", None)), "line 2: topic 'custmers' is not an input topic (did you mean customers?)"),
        (orjson.dumps({"key": "C-M", "value": _leg("M-9")}), "line 2: topic none is not an input topic"),
        (orjson.dumps(_message("transactions", 17, _leg("M-9"))), "line 2: key must be a string or null"),
        (orjson.dumps(_message("transactions", "C-M", _leg("M-9")) | {"timestamp": "yesterday"}), "line 2: 'timestamp' is not an RFC 3339 timestamp"),
        (orjson.dumps(_message("transactions", "C-M", _leg("M-9")) | {"valeu": 1}), "line 2: unknown field 'valeu' (did you mean value?)"),
        (
            orjson.dumps(_message("transactions", "C-M", _leg("M-9")) | {"timestamp": 1e30}),
            "line 2: 'timestamp' 1e+30 is out of range: epoch milliseconds of years 1990-2100",
        ),
        (orjson.dumps(_message("transactions", "C-M", _leg("M-9")) | {"timestamp": -5}), "line 2: 'timestamp' -5 is out of range: epoch milliseconds of years 1990-2100"),
        (orjson.dumps(_message("transactions", "C-M", _leg("M-9")) | {"timestamp": 1.7e12 + 0.5}), "line 2: 'timestamp' 1700000000000.5 is not whole epoch milliseconds"),
    ],
)
async def test_a_line_that_is_no_record_stops_replay_before_any_output(settings, tmp_path, line, problem):
    path = tmp_path / "messages.jsonl"
    path.write_bytes(orjson.dumps(_message("transactions", "C-M", _leg("M-1"))) + b"\n" + line + b"\n" + orjson.dumps(_message("transactions", "C-M", _leg("M-3"))))
    with pytest.raises(InputFileError) as caught:
        await run(settings, tmp_path, "bad", messages=str(path))
    assert str(caught.value).startswith(problem), str(caught.value)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "bad").exists()  # nothing written: the file is checked first
