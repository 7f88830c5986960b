from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factors.model import RecentTx
from factors.patterns.night_burst import ID, Params, detect, is_night
from tests.unit.factors.helpers import T0, peer, recent, snapshot, tx, view

SETTING = Params(severity="medium")
HOUR_MS = 3_600_000
NIGHT = 2_000_00  # CNY 2,000: five of them make the CNY 10,000 minimum


def burst_view(hours: list[int], amounts: list[int] | None = None, *, gap_ms: int = 10 * 60_000, times: list[int] | None = None):
    """A view whose last transaction is the current one; `hours` are the local hours of the transactions."""
    n = len(hours)
    amounts = amounts or [NIGHT] * n
    times = times or [T0 - (n - 1 - i) * gap_ms for i in range(n)]
    trail = tuple(recent(tx(f"t{i}", ts_ms=times[i], fen=amounts[i]), i + 1, local_hour=hours[i]) for i in range(n))
    return view(tx(f"t{n - 1}", ts_ms=times[-1], fen=amounts[-1]), snapshot(seq=n), trail)


def test_defaults_are_documented():
    assert Params().model_dump(exclude={"enabled", "severity"}) == {"window_hours": 6, "night_start": 0, "night_end": 5, "min_count": 5, "min_amount_cny": 10_000}


@pytest.mark.parametrize(
    ("hours", "amounts", "fires"),
    [
        ([1, 1, 2, 2, 3], None, True),  # five night transactions, CNY 10,000: every threshold exactly
        ([1, 1, 2, 2], None, False),  # one short of the count
        ([1, 1, 2, 2, 3], [NIGHT] * 4 + [NIGHT - 1], False),  # one fen short of the amount
        ([0, 0, 4, 4, 4], None, True),  # hour 0 and hour 4 are night
        ([5, 1, 1, 2, 2], None, False),  # hour 5 is not (the night ends before it)
        ([23, 1, 1, 2, 2], None, False),  # nor hour 23 with the default 0..5 night
        ([1, 1, 2, 2, 3, 3], None, False),  # already a burst before this transaction: fired at the fifth
        ([1, 1, 2, 2, 3, 9], None, False),  # a day-time transaction never completes a burst
    ],
)
def test_fires_on_the_night_transaction_that_completes_the_burst(hours, amounts, fires):
    hit = detect(burst_view(hours, amounts), SETTING)
    assert (hit is not None) == fires
    if hit:
        n = len(hours)
        assert hit.pattern == ID and hit.key == "2024-10-04" and hit.severity == "medium"
        assert hit.tx_ids == tuple(f"t{i}" for i in range(n)) and hit.metrics["night_count"] == n
        assert hit.metrics["night_total_cny"] == 10_000 and hit.metrics["night_in_cny"] == 10_000
        assert hit.thresholds == {"min_count": 5, "min_amount_cny": 10_000, "window_hours": 6, "night_start": 0, "night_end": 5}
        assert (hit.window_start_ms, hit.window_end_ms) == (T0 - (n - 1) * 10 * 60_000, T0)
        json.dumps([hit.metrics, hit.thresholds])


def test_day_time_transactions_do_not_count():
    assert detect(burst_view([1, 12, 1, 12, 2, 12, 2]), SETTING) is None  # four night transactions among seven
    assert detect(burst_view([1, 12, 1, 12, 2, 2, 3]), SETTING) is not None  # the fifth


@pytest.mark.parametrize(("hours", "fires"), [([22, 23, 0, 1, 4], True), ([21, 23, 0, 1, 4], False), ([22, 23, 0, 1, 5], False)])
def test_a_night_that_wraps_midnight(hours, fires):
    setting = Params(severity="medium", night_start=22, night_end=5)
    assert (detect(burst_view(hours), setting) is not None) == fires


def test_empty_night_never_fires():
    setting = Params(severity="medium", night_start=3, night_end=3)
    assert detect(burst_view([3, 3, 3, 3, 3]), setting) is None


@pytest.mark.parametrize(("age_ms", "fires"), [(6 * HOUR_MS, False), (6 * HOUR_MS - 1, True)])
def test_window_is_6_hours_up_to_the_current_transaction(age_ms, fires):
    times = [T0 - age_ms, T0 - 4_000, T0 - 3_000, T0 - 2_000, T0]
    assert (detect(burst_view([1, 1, 1, 1, 1], times=times), SETTING) is not None) == fires


def test_later_entries_applied_out_of_order_are_left_out():
    v = burst_view([1, 1, 2, 2, 3])
    later = RecentTx(9, T0 + 60_000, "in", NIGHT, False, 20_000, "newer", local_hour=3)
    assert detect(view(v.tx, v.snapshot, (*v.recent[:2], later, *v.recent[2:])), SETTING) is not None


def test_no_transaction_no_hit():
    v = burst_view([1, 1, 2, 2, 3])
    assert detect(view(None, v.snapshot, v.recent), SETTING) is None


def test_trail_not_ending_with_the_transaction_no_hit():
    v = burst_view([1, 1, 2, 2, 3])
    assert detect(view(v.tx, v.snapshot, v.recent[:-1]), SETTING) is None


def test_needs_no_peer_baseline():
    v = burst_view([1, 1, 2, 2, 3])
    assert detect(view(v.tx, v.snapshot, v.recent, peer=peer(customers=1)), SETTING) is not None


def test_fires_once_per_night_over_two_nights():
    night1 = [T0 + m * 20 * 60_000 for m in range(12)]  # 12 transactions over 4 hours
    night2 = [t + 24 * HOUR_MS for t in night1]
    times = night1 + night2
    hours = [1 + (t - T0) // HOUR_MS % 24 for t in times]  # 01:00 .. 04:40 both nights
    trail = tuple(recent(tx(f"t{i}", ts_ms=ts, fen=NIGHT), i + 1, local_hour=h) for i, (ts, h) in enumerate(zip(times, hours, strict=True)))
    fired = [i for i in range(len(times)) if detect(view(tx(f"t{i}", ts_ms=times[i], fen=NIGHT), snapshot(), trail[: i + 1]), SETTING)]
    assert fired == [4, 16]


@given(hour=st.integers(0, 23), start=st.integers(0, 23), end=st.integers(0, 24))
def test_is_night_matches_walking_the_clock_from_start_to_end(hour, start, end):
    walked = set()
    h = start
    while h % 24 != end % 24 and len(walked) < 24:
        walked.add(h % 24)
        h += 1
    if end == 24 and start == 0:
        walked = set(range(24))
    assert is_night(hour, start, end) == (hour in walked)


@given(hours=st.lists(st.integers(0, 23), min_size=1, max_size=20), fen=st.integers(1, 10_000_00))
def test_never_fires_with_too_few_night_transactions_nor_twice_in_a_row(hours, fen):
    hits = [detect(burst_view(hours[: i + 1], [fen] * (i + 1)), SETTING) for i in range(len(hours))]
    for i, hit in enumerate(hits):
        nights = sum(1 for h in hours[: i + 1] if h < 5)
        if nights < 5 or nights * fen < 10_000_00:
            assert hit is None
        if hit is not None:
            assert hours[i] < 5
            assert i + 1 == len(hits) or hits[i + 1] is None
