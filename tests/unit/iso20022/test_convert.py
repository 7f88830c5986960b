"""Message files -> legs for replay: the adapter's own step, with its dead letters and summary."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import orjson
import pytest

from iso20022.convert import build_directory, map_files, render_files
from iso20022.mapping import MappingContext
from iso20022.render import RenderError
from tests.iso20022_samples import ACCOUNTS, CAMT054_LEGS, PACS008_LEGS, camt054, pacs008


def test_map_files_writes_legs_dead_letters_and_a_summary(tmp_path):
    messages = tmp_path / "messages"
    messages.mkdir()
    (messages / "1-pacs.xml").write_bytes(pacs008())
    (messages / "2-broken.xml").write_bytes(b"<Document>")
    (messages / "3-camt.xml").write_bytes(camt054())
    (messages / "notes.txt").write_text("not a message: ignored")
    customers = tmp_path / "customers.jsonl"
    profiles = [{"customer_id": c, "kind": "entity", "updated_at": "2026-11-01T00:00:00Z", "accounts": a} for c, a in ACCOUNTS.items()]
    customers.write_bytes(b"".join(orjson.dumps(p) + b"\n" for p in profiles))
    context = MappingContext(ZoneInfo("Asia/Shanghai"))
    mapped = map_files(str(messages), build_directory(str(customers), None), context, tmp_path / "out", max_bytes=1 << 20, model_version="v")
    legs = [orjson.loads(line) for line in mapped.legs_path.read_bytes().splitlines()]
    assert legs == PACS008_LEGS + CAMT054_LEGS
    (letter,) = [orjson.loads(line) for line in (tmp_path / "out" / "iso20022-dead-letter.jsonl").read_bytes().splitlines()]
    assert letter["error_code"] == "iso20022_malformed" and letter["source"] == {"topic": str(messages / "2-broken.xml"), "partition": 0, "offset": 1}
    summary = orjson.loads((tmp_path / "out" / "iso20022-summary.json").read_bytes())
    assert summary["messages"] == {"camt.054:mapped": 1, "pacs.008:mapped": 1, "unknown:dead_letter": 1}
    assert summary["legs"] == len(legs) and summary["skipped_sides"] == {"not_booked": 1, "not_customer": 5}


def test_render_files_writes_messages_in_order_and_the_account_directory(tmp_path):
    source = tmp_path / "transactions.jsonl"
    source.write_bytes(b"".join(orjson.dumps(leg) + b"\n" for leg in CAMT054_LEGS[:2] + PACS008_LEGS[:2]))
    counts = render_files(str(source), tmp_path / "iso")
    assert counts == {"legs": 4, "camt.054": 1, "pacs.008": 1, "customers": 2}
    assert sorted(p.name for p in (tmp_path / "iso" / "messages").iterdir()) == ["000000001-camt.054.xml", "000000002-pacs.008.xml"]
    directory = [orjson.loads(line) for line in (tmp_path / "iso" / "accounts.jsonl").read_bytes().splitlines()]
    assert directory == [{"customer_id": "C-1", "accounts": ["6222021000001234", "6222 0210 0000 1234"]}, {"customer_id": "C-2", "accounts": ["6222021000005678"]}]
    both = build_directory(None, str(tmp_path / "iso" / "accounts.jsonl"))
    assert (both.lookup("6222021000001234"), both.lookup("6222021000005678")) == ("C-1", "C-2")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b'{"tx_id": "T-9", "customer_id": "C-1"', "line 3: not JSON (unexpected end of data"),
        (b"[1, 2]", "line 3: not a JSON object but list"),
        (orjson.dumps({**CAMT054_LEGS[0], "amount": "abc"}), "line 3: amount 'abc' is not a decimal number"),
        (orjson.dumps({**CAMT054_LEGS[0], "ts": None}), "line 3: 'ts' is missing or not a string"),
        (orjson.dumps({**CAMT054_LEGS[0], "account_id": "A" * 40}), "line 3: account id 'AAAA"),
    ],
)
def test_a_bad_leg_stops_render_naming_its_line_before_anything_is_written(tmp_path, line, problem):
    source = tmp_path / "transactions.jsonl"
    source.write_bytes(orjson.dumps(CAMT054_LEGS[0]) + b"\n\n" + line + b"\n" + orjson.dumps(PACS008_LEGS[0]) + b"\n")  # line 2 is blank
    with pytest.raises(RenderError) as caught:
        render_files(str(source), tmp_path / "iso")
    assert str(caught.value).startswith(f"{source} {problem}"), str(caught.value)
    assert not (tmp_path / "iso").exists()


def test_a_csv_row_wider_than_its_header_stops_render(tmp_path):
    source = tmp_path / "legs.csv"
    source.write_text("tx_id,customer_id,ts,direction,amount,currency,method\nT-1,C-1,2026-11-02T10:00:00Z,in,1.00,CNY,cash,extra\n", encoding="utf-8")
    with pytest.raises(RenderError, match=r"legs.csv row 1: CSV line 2 has 8 cells, the header 7: extra 'extra'"):
        render_files(str(source), tmp_path / "iso")


def test_build_directory_skips_profiles_replay_dead_letters_and_refuses_a_bad_accounts_file(tmp_path):
    from streams.errors import InputFileError

    customers = tmp_path / "customers.jsonl"
    good = {"customer_id": "C-1", "kind": "entity", "updated_at": "2026-11-01T00:00:00Z", "accounts": ["6222021000001234"]}
    customers.write_bytes(b'{"customer_id": "X"\n[1]\n' + orjson.dumps({**good, "customer_id": "C-9", "updated_at": None}) + b"\n" + orjson.dumps(good) + b"\n")
    directory = build_directory(str(customers), None)
    assert directory.lookup("6222021000001234") == "C-1"
    accounts = tmp_path / "accounts.jsonl"
    accounts.write_bytes(b'{"customer_id": "C-2", "accounts": ["A-2"]}\n{"customer_id": "C-3"}\n')
    with pytest.raises(InputFileError, match=r"accounts.jsonl: record 2 is not \{customer_id, accounts\}"):
        build_directory(str(customers), str(accounts))
