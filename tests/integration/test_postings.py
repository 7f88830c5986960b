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


@pytest.mark.parametrize("batch_size", BATCHES)
async def test_a_reversal_past_the_trail_must_match_a_leg_of_its_day(run_case, batch_size):  # noqa: F811
    """Dated by original_ts, four days on (the skew allows it): G's reverses 90,000 of a 60,000
    day, H's reverses a USD deposit in CNY, J's says transfer for a cash deposit. None of these
    days holds such a leg: each is set aside, and no total goes negative."""
    out = await run_case("old-mismatch", batch_size=batch_size, skew_s=10 * 86_400.0, transactions=INPUTS / "old-mismatch.jsonl")
    for customer in ("C-G", "C-J"):
        assert revisions(out, customer) == [("report", 1, "2026-11-02", 60_000.0, [customer[-1] + "-1"])]
    assert revisions(out, "C-H") == [("report", 1, "2026-11-02", 71_000.0, ["H-1"])]
    reasons = dead(out)
    assert sorted(reasons) == ["G-1-REV", "H-1-REV", "J-1-REV"]
    assert all("holds no leg it could undo" in detail for _, detail in reasons.values())


@pytest.mark.parametrize("batch_size", BATCHES)
async def test_a_reversal_of_a_leg_past_the_late_arrival_window_asks_for_a_manual_revision(run_case, batch_size):  # noqa: F811
    """LR-1 (60,000 cash, 08-01) was reported; its reversal comes 100 days later with original_ts:
    the day's state is gone, so the reversal is dead-lettered too_late with that reason, and a
    manual report event for 08-01 names it (never silently parked)."""
    out = await run_case("late-reversal", batch_size=batch_size, skew_s=100 * 86_400.0, transactions=INPUTS / "late-reversal.jsonl")
    assert revisions(out, "C-LR") == [
        ("report", 1, "2026-08-01", 60_000.0, ["LR-1"]),
        ("manual", 0, "2026-08-01", 60_000.0, ["LR-1-REV"]),
        ("manual", 0, "2026-08-01", 30_000.0, ["LR-2"]),
    ]
    reasons = dead(out)
    assert {k: v[0] for k, v in reasons.items()} == {"LR-1-REV": "too_late", "LR-2": "too_late"}
    assert "original_ts" in reasons["LR-1-REV"][1] and "manual revision" in reasons["LR-1-REV"][1]


@pytest.mark.parametrize("batch_size", BATCHES)
async def test_own_account_moves_are_transfers_at_this_bank_only(run_case, batch_size):  # noqa: F811
    """Cash to or from one's own account is cash (0501); a remittance to one's own account abroad
    is cross-border (0504); the customer's account number at another bank is another account
    (0503). All are reported. (The own-account field case is the move that is not.)"""
    out = await run_case(
        "own-account-kinds", batch_size=batch_size, transactions=INPUTS / "own-account-kinds.jsonl", customers=INPUTS / "own-account-kinds.customers.jsonl"
    )
    reports = sorted((r["customer_id"], r["rule_code"], r["direction"], r["total_cny"], tuple(r["tx_ids"])) for r in out["large-value-reports"])
    assert reports == [
        ("C-AB", "0503", "in", 600_000.0, ("AB-2",)),
        ("C-AB", "0503", "out", 600_000.0, ("AB-1",)),
        ("C-OA", "0501", "in", 80_000.0, ("OA-1",)),
        ("C-OA", "0501", "out", 70_000.0, ("OA-3",)),
        ("C-OA", "0504", "out", 355_000.0, ("OA-2",)),
    ]
    assert {k: v[0] for k, v in dead(out).items()} == {"OB-1": "invalid_value"}  # an account id with a trailing space


@pytest.mark.parametrize("batch_size", BATCHES)
async def test_a_reversal_naming_the_customer_as_counterparty_is_a_reversal(run_case, batch_size):  # noqa: F811
    out = await run_case("self-counterparty-reversal", batch_size=batch_size, transactions=INPUTS / "self-counterparty-reversal.jsonl")
    assert revisions(out, "C-SC") == [("report", 1, "2026-11-02", 60_000.0, ["SC-1"]), ("withdraw", 2, "2026-11-02", 0.0, [])]


@pytest.mark.parametrize("batch_size", BATCHES)
async def test_a_correction_keeps_raises_or_withdraws_alerts_as_the_corrected_leg_would(run_case, batch_size):  # noqa: F811
    """A correction is the corrected leg arriving with its amount: Q-1's 60,000 -> 60,500 keeps its
    same-day-cash alert; K-1's 60,000 -> 6,000 withdraws it, and the correction of that correction
    back to 60,000 opens it again — in that order on the topic, whatever the batch; CU-1's and
    CV-1's 6,000 (CNY, USD) -> CNY 60,000 raise it."""
    chains = await run_case("chains", batch_size=batch_size, transactions=INPUTS / "chains.jsonl")
    up = await run_case("correction-up", batch_size=batch_size, transactions=INPUTS / "correction-up.jsonl")

    def alerts(out: dict[str, list[dict]], customer: str) -> list[tuple[str, str, str]]:
        return [(a["pattern"], a["status"], a["cause"]["ref"]) for a in out["suspicious-patterns"] if a["customer_id"] == customer]

    assert alerts(chains, "C-Q") == [("same_day_cash", "open", "Q-1")]
    assert alerts(chains, "C-K") == [("same_day_cash", "open", "K-1"), ("same_day_cash", "withdrawn", "K-1-C1"), ("same_day_cash", "open", "K-1-C2")]
    assert alerts(up, "C-CU") == [("same_day_cash", "open", "CU-1-COR")]
    assert alerts(up, "C-CV") == [("same_day_cash", "open", "CV-1-COR")]
    assert [(r["customer_id"], r["total_cny"], r["totals_by_currency"]) for r in up["large-value-reports"]] == [
        ("C-CU", 60_000.0, {"CNY": 60_000.0}),
        ("C-CV", 60_000.0, {"CNY": 60_000.0}),
    ]


@pytest.mark.parametrize("batch_size", BATCHES)
async def test_a_profile_published_again_after_its_tombstone_counts_and_a_tombstone_is_dated(run_case, batch_size):  # noqa: F811
    """C-TP's profile (a PEP, two own accounts) is deleted and then published again unchanged
    (same updated_at): it counts again — TP-3 to its own account is an own-account move, while
    TP-2, sent while there was no profile, is reported. A tombstone has no time of its own: dated
    where the stream stands, the downgrade it causes waits the cooling period (C-TP, C-TH, and
    C-TH2 with a profile but no transactions stay on watch an hour later)."""
    out = await run_case("tombstones", batch_size=batch_size, messages=INPUTS / "tombstones.messages.jsonl")
    assert [(r["customer_id"], r["rule_code"], r["direction"], r["tx_ids"]) for r in out["large-value-reports"]] == [("C-TP", "0503", "out", ["TP-2"])]
    changes = [(c["customer_id"], (c["previous"] or {}).get("level"), c["current"]["level"], c["cause"]["kind"]) for c in out["risk-changes"]]
    assert changes == [("C-TP", None, "watch", "profile"), ("C-TH", None, "watch", "profile"), ("C-TH2", None, "watch", "profile")]
    assert {c: s["level"] for c, s in out["final-states"].items()} == {"C-TP": "watch", "C-TH": "watch", "C-TH2": "watch"}


@pytest.mark.parametrize("batch_size", BATCHES)
async def test_a_reversal_that_is_a_customers_first_item_expires_when_its_first_leg_moves_the_clock(run_case, batch_size):  # noqa: F811
    """C-R3's first item is a reversal; its first leg comes 140 days later. The reversal waited for
    its original past the late-arrival window and is dead-lettered as any other customer's would
    be; the original arriving after that is too late (a manual report), never cancelled by it."""
    out = await run_case("first-item-orphan", batch_size=batch_size, transactions=INPUTS / "first-item-orphan.jsonl")
    reasons = dead(out)
    assert reasons["R3-REV"][0] == "reversal_unmatched" and "never arrived" in reasons["R3-REV"][1]
    assert reasons["R3-ORIG"][0] == "too_late"
    assert revisions(out, "C-R3") == [("manual", 0, "2026-08-10", 60_000.0, ["R3-ORIG"])]


@pytest.mark.parametrize("batch_size", BATCHES)
async def test_a_profile_dated_in_the_future_is_set_aside_and_later_updates_count(run_case, batch_size):  # noqa: F811
    """A KYC system's typo (updated_at in 2099) made every later update of the profile stale: the
    sanctions listing that follows was dropped. It is a future_timestamp now, like a transaction."""
    out = await run_case("future-profile", batch_size=batch_size, messages=INPUTS / "future-profile.messages.jsonl")
    assert [(d["customer_id"], d["error_code"]) for d in out["dead-letter"]] == [("C-Q1", "future_timestamp")]
    assert "updated_at 2099-07-31T16:00:00.000Z is" in out["dead-letter"][0]["error_detail"]
    assert out["final-states"]["C-Q1"]["level"] == "prohibited"  # listed: the hard rule
