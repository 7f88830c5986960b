from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factors.model import RecentTx
from factors.patterns.round_amounts import ID, Params, detect
from tests.unit.factors.helpers import T0, peer, recent, snapshot, tx, view

SETTING = Params(severity="low")
HOUR_MS = 3_600_000
ROUND = 4_000_00  # CNY 4,000: five of them make the CNY 20,000 minimum
ODD = 4_321_00


def trail_view(amounts: list[int], *, gap_ms: int = 60_000, first_ms: int | None = None):
    """A view whose last transaction is the current one; amounts in fen, round when a multiple of CNY 1,000."""
    n = len(amounts)
    times = [T0 - (n - 1 - i) * gap_ms for i in range(n)]
    if first_ms is not None:
        times[0] = first_ms
    trail = tuple(recent(tx(f"t{i}", ts_ms=ts, fen=fen), i + 1) for i, (ts, fen) in enumerate(zip(times, amounts, strict=True)))
    current = tx(f"t{n - 1}", ts_ms=times[-1], fen=amounts[-1])
    return view(current, snapshot(seq=n), trail)


def test_defaults_are_documented():
    assert Params().model_dump(exclude={"enabled", "severity"}) == {"window_hours": 24, "min_count": 5, "min_share": 0.8, "min_amount_cny": 20_000}


def test_the_helper_marks_multiples_of_a_thousand_round():
    assert [r.round_amount for r in trail_view([ROUND, ODD, 1_000_00]).recent] == [True, False, True]


@pytest.mark.parametrize(
    ("amounts", "fires"),
    [
        ([ROUND] * 5, True),  # 5 round, CNY 20,000: every threshold exactly
        ([ROUND] * 4, False),  # one short of the count
        ([ROUND] * 4 + [3_000_00], False),  # CNY 19,000: under the amount
        ([ODD, ROUND, ROUND, ROUND, ROUND, ROUND], True),  # 5 of 6 = 0.83
        ([ODD, ODD, ROUND, ROUND, ROUND, ROUND, ROUND], False),  # 5 of 7 = 0.71
        ([ODD, ODD] + [ROUND] * 8, True),  # 8 of 10 = 0.8 exactly; 7 of 9 before
        ([ROUND] * 5 + [ODD], False),  # a non-round transaction never completes the run
        ([ROUND] * 6, False),  # already true before this transaction: fired at the fifth
    ],
)
def test_fires_on_the_transaction_that_completes_the_round_run(amounts, fires):
    hit = detect(trail_view(amounts), SETTING)
    assert (hit is not None) == fires
    if hit:
        n = len(amounts)
        rounds = [f"t{i}" for i, fen in enumerate(amounts) if fen % 1_000_00 == 0]
        assert hit.pattern == ID and hit.key == "2024-10-04" and hit.severity == "low"
        assert hit.tx_ids == tuple(rounds) and hit.tx_ids[-1] == f"t{n - 1}"
        assert hit.metrics["round_count"] == len(rounds) and hit.metrics["tx_count"] == n
        assert hit.thresholds == {"min_count": 5, "min_share": 0.8, "min_amount_cny": 20_000, "window_hours": 24}
        assert hit.window_end_ms == T0
        json.dumps([hit.metrics, hit.thresholds])


@pytest.mark.parametrize(("age_ms", "fires"), [(24 * HOUR_MS, False), (24 * HOUR_MS - 1, True)])
def test_window_is_24_hours_up_to_the_current_transaction(age_ms, fires):
    hit = detect(trail_view([ROUND] * 5, first_ms=T0 - age_ms), SETTING)
    assert (hit is not None) == fires


def test_later_entries_applied_out_of_order_are_left_out():
    v = trail_view([ROUND] * 5)
    later = RecentTx(9, T0 + 60_000, "in", ROUND, False, 20_000, "late-but-newer", round_amount=True)
    shuffled = (*v.recent[:2], later, *v.recent[2:])  # applied before the current one, event time after it
    assert detect(view(v.tx, v.snapshot, shuffled), SETTING) is not None


def test_no_transaction_no_hit():
    v = trail_view([ROUND] * 5)
    assert detect(view(None, v.snapshot, v.recent), SETTING) is None


def test_trail_not_ending_with_the_transaction_no_hit():
    v = trail_view([ROUND] * 5)
    assert detect(view(v.tx, v.snapshot, v.recent[:-1]), SETTING) is None


def test_needs_no_peer_baseline():
    v = trail_view([ROUND] * 5)
    assert detect(view(v.tx, v.snapshot, v.recent, peer=peer(customers=1)), SETTING) is not None


def test_fires_once_over_a_long_run_and_again_after_it_lapsed():
    amounts = [ROUND] * 12
    hits = [i for i in range(1, len(amounts) + 1) if detect(trail_view(amounts[:i], gap_ms=HOUR_MS), SETTING)]
    assert hits == [5]
    sliding = [i for i in range(1, 16) if detect(trail_view([ROUND] * i, gap_ms=5 * HOUR_MS), SETTING)]
    assert sliding == [5]  # the oldest leaves the 24-hour window as a new one comes: one episode
    times = [T0 + h * HOUR_MS for h in (0, 1, 2, 3, 4, 40, 41, 42, 43, 44)]  # a 36-hour pause
    trail = tuple(recent(tx(f"t{i}", ts_ms=ts, fen=ROUND), i + 1) for i, ts in enumerate(times))
    renewed = [i + 1 for i in range(len(times)) if detect(view(tx(f"t{i}", ts_ms=times[i], fen=ROUND), snapshot(), trail[: i + 1]), SETTING)]
    assert renewed == [5, 10]


def test_first_transaction_of_the_trail_can_fire_alone():
    setting = Params(severity="low", min_count=1, min_amount_cny=1_000)
    assert detect(trail_view([ROUND]), setting) is not None


@given(flags=st.lists(st.booleans(), min_size=1, max_size=30), fen=st.integers(1_00, 20_000_00))
def test_never_fires_on_a_non_round_transaction_nor_twice_in_a_row(flags, fen):
    amounts = [fen * 1_000 - (0 if is_round else 1) for is_round in flags]  # round: a multiple of CNY 1,000
    hits = [detect(trail_view(amounts[: i + 1]), SETTING) for i in range(len(amounts))]
    for i, hit in enumerate(hits):
        if hit is not None:
            assert flags[i]
            assert hit.metrics["round_count"] >= 5 and hit.metrics["round_share"] >= 0.8 and hit.metrics["round_total_cny"] >= 20_000
            assert i + 1 == len(hits) or hits[i + 1] is None
