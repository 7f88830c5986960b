"""Postings of contract v1.1 beyond the field cases (inputs in tests/integration/postings/, each a
kind of fault found by trying to break a build): reversals and corrections across batches, chains
of corrections, reversals of the wrong amount, reversals posted on a later day and either
direction, and a replay input with gaps of days. Each runs with one item a batch (every item a
separate state update, so everything is read back from Redis) and with 500."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.integration.test_field_cases import reports_of, run_case  # noqa: F401 - the fixture

INPUTS = Path(__file__).parent / "postings"
BATCHES = [1, 500]


def revisions(out: dict[str, list[dict]], customer: str) -> list[tuple]:
    return [(r["action"], r["revision"], r["business_date"], r["total_cny"], r["tx_ids"]) for r in reports_of(out, customer)]


def dead(out: dict[str, list[dict]]) -> dict[str, tuple[str, str]]:
    return {orjson.loads(d["payload"])["tx_id"]: (d["error_code"], d["error_detail"]) for d in out["dead-letter"]}


@pytest.mark.parametrize("batch_size", BATCHES)
async def test_a_waiting_or_applied_reversal_leaves_the_customer_working(run_case, batch_size):  # noqa: F811
    """The reversal of Q-1 comes first and waits; R-1's reversal applies. The customers' later
    deposits are counted and reported like anyone's (they were dead-lettered as
    processing_error when the state kept what waited in a form it could not read back)."""
    out = await run_case("orphan-then-more", batch_size=batch_size, transactions=INPUTS / "orphan-then-more.jsonl")
    assert dead(out) == {}
    assert revisions(out, "C-Q") == [("report", 1, "2026-11-03", 60_000.0, ["Q-2"])]
    assert revisions(out, "C-R") == [("report", 1, "2026-11-03", 60_000.0, ["R-2"]), ("report", 2, "2026-11-03", 120_000.0, ["R-2", "R-3"])]


@pytest.mark.parametrize("batch_size", BATCHES)
async def test_chains_of_corrections_and_reversals_reach_back_to_the_leg(run_case, batch_size):  # noqa: F811
    out = await run_case("chains", batch_size=batch_size, transactions=INPUTS / "chains.jsonl")
    # K-1 60,000 corrected to 6,000 (below the line: withdrawn), that correction corrected to
    # 60,000 (reported again); a second correction of K-1 itself is set aside
    assert revisions(out, "C-K") == [
        ("report", 1, "2026-11-02", 60_000.0, ["K-1"]),
        ("withdraw", 2, "2026-11-02", 6_000.0, ["K-1"]),
        ("report", 3, "2026-11-02", 60_000.0, ["K-1"]),
    ]
    # M-1 corrected to 70,000, then that correction reversed: the leg is gone
    assert revisions(out, "C-M") == [
        ("report", 1, "2026-11-02", 60_000.0, ["M-1"]),
        ("report", 2, "2026-11-02", 70_000.0, ["M-1"]),
        ("withdraw", 3, "2026-11-02", 0.0, []),
    ]
    assert revisions(out, "C-N") == [("report", 1, "2026-11-02", 60_000.0, ["N-1"]), ("withdraw", 2, "2026-11-02", 0.0, [])]
    assert revisions(out, "C-Q") == [("report", 1, "2026-11-02", 60_000.0, ["Q-1"]), ("report", 2, "2026-11-02", 60_500.0, ["Q-1"])]
    # O-1's two reversals came first: one waits and takes the leg out, the other is set aside
    # while the first waits; a reversal of a return (P-1-RET-REV) undoes the return
    assert revisions(out, "C-O") == []
    reasons = dead(out)
    assert sorted(reasons) == ["K-1-C3", "M-1-REV2", "N-1-R2", "O-1-R2"]
    assert {code for code, _ in reasons.values()} == {"reversal_unmatched"}
    assert all("already reversed or corrected" in detail for _, detail in reasons.values())  # P-1-RET-REV is not among them


@pytest.mark.parametrize("batch_size", BATCHES)
async def test_reversals_in_either_direction_of_another_amount_and_past_the_trail(run_case, batch_size):  # noqa: F811
    """The input jumps four days and back between lines: no leg is taken for a bad clock.
    S-1's reversal, five minutes on, says the original's direction: the trail's original decides.
    T/U/V's come four days on, past the 72-hour trail, dated by original_ts: such a reversal is
    posted against the original's direction with its amount and method, and its day must hold
    such a leg. T's (same direction) and V's (original_ts a day off) find none: set aside. U's,
    of 6,000 against a 60,000 leg, cannot be checked against an original it cannot see: the day
    holds 6,000 of cash in, and it is taken out."""
    out = await run_case("directions-and-gaps", batch_size=batch_size, transactions=INPUTS / "directions-and-gaps.jsonl")
    assert revisions(out, "C-S") == [("report", 1, "2026-11-02", 60_000.0, ["S-1"]), ("withdraw", 2, "2026-11-02", 0.0, [])]
    assert revisions(out, "C-T") == [("report", 1, "2026-11-02", 60_000.0, ["T-1"])]
    assert revisions(out, "C-V") == [("report", 1, "2026-11-02", 60_000.0, ["V-1"])]
    assert revisions(out, "C-U") == [("report", 1, "2026-11-02", 60_000.0, ["U-1"]), ("report", 2, "2026-11-02", 54_000.0, [])]
    reasons = dead(out)
    assert sorted(reasons) == ["T-1-REV", "V-1-REV"]
    assert all(code == "reversal_unmatched" and "holds no leg it could undo" in detail for code, detail in reasons.values())


@pytest.mark.parametrize("batch_size", BATCHES)
async def test_a_reversal_of_another_amount_than_its_original_is_set_aside(run_case, batch_size, tmp_path):  # noqa: F811
    """Whether the reversal finds its original in the trail or its original arrives after it."""

    def leg(tx_id: str, customer: str, minute: int, direction: str, amount: str, original: str | None = None) -> dict:
        undo = {"tx_type": "reversal", "original_tx_id": original} if original else {}
        ts = f"2026-11-02T10:{minute:02d}:00+08:00"
        return {"tx_id": tx_id, "customer_id": customer, "ts": ts, "direction": direction, "amount": amount, "currency": "CNY", "method": "cash", **undo}

    legs = [
        leg("W-1", "C-W", 0, "in", "60000.00"),
        leg("W-1-REV", "C-W", 5, "out", "6000.00", "W-1"),
        leg("Y-1-REV", "C-Y", 5, "out", "600.00", "Y-1"),  # before its original
        leg("Y-1", "C-Y", 0, "in", "60000.00"),
        leg("Z-1", "C-Z", 0, "in", "60000"),
        leg("Z-1-REV", "C-Z", 5, "out", "60000.0", "Z-1"),
    ]
    path = tmp_path / "amounts.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(leg) for leg in legs))
    out = await run_case("amounts", batch_size=batch_size, transactions=path)
    assert revisions(out, "C-W") == [("report", 1, "2026-11-02", 60_000.0, ["W-1"])]
    assert revisions(out, "C-Y") == [("report", 1, "2026-11-02", 60_000.0, ["Y-1"])]
    assert revisions(out, "C-Z") == [("report", 1, "2026-11-02", 60_000.0, ["Z-1"]), ("withdraw", 2, "2026-11-02", 0.0, [])]  # the same amount, written otherwise
    reasons = dead(out)
    assert sorted(reasons) == ["W-1-REV", "Y-1-REV"]
    assert all(code == "reversal_unmatched" and "partial one as a correction" in detail for code, detail in reasons.values())


@pytest.mark.parametrize("batch_size", BATCHES)
async def test_a_reversal_posted_the_next_business_day_revises_the_original_day(run_case, batch_size):  # noqa: F811
    out = await run_case("next-day", batch_size=batch_size, transactions=INPUTS / "next-day.jsonl")
    assert dead(out) == {}
    assert revisions(out, "C-A") == [("report", 1, "2026-11-02", 60_000.0, ["A-1"]), ("withdraw", 2, "2026-11-02", 0.0, [])]
    assert revisions(out, "C-B") == [
        ("report", 1, "2026-11-02", 60_000.0, ["B-1"]),
        ("report", 2, "2026-11-02", 70_000.0, ["B-1", "B-2"]),
        ("report", 3, "2026-11-02", 60_000.0, ["B-1"]),
    ]
    assert revisions(out, "C-D") == [("report", 1, "2026-11-02", 60_000.0, ["D-1"]), ("withdraw", 2, "2026-11-02", 0.0, [])]
