"""Replay's reference clock (streams.replay.StreamClock): files carry no Kafka record timestamps,
so the stream's own progress stands in for them; a bad clock is told from a gap in the input by
whether the stream follows the leg."""

from __future__ import annotations

import orjson

from streams.replay import StreamClock, _lookahead, message_sources
from streams.settings import Settings

DAY = 86_400_000
SKEW = DAY


def references(times: list[int]) -> list[int | None]:
    clock = StreamClock(SKEW)
    items = list(_lookahead(iter(times), StreamClock.LOOKAHEAD))
    return [clock.reference(ts, after) for ts, after in items]


def future(times: list[int]) -> list[int]:
    """Indexes of the legs the engine would set aside (more than the skew ahead of their reference)."""
    return [i for i, (ts, ref) in enumerate(zip(times, references(times), strict=True)) if ref is not None and ts > ref + SKEW]


def test_a_lone_leg_far_ahead_is_a_bad_clock_and_does_not_move_the_clock() -> None:
    times = [0, 3600_000, 100 * 365 * DAY, 7200_000, DAY + 1, DAY + 2]
    assert future(times) == [2]


def test_two_bad_legs_in_a_row_are_both_set_aside() -> None:
    times = [0, 1, 2, 50_000 * DAY, 50_000 * DAY + 1, 3, 4, 5, 6, 7, 8]
    assert future(times) == [3, 4]


def test_a_gap_the_stream_follows_is_not_a_clock_fault() -> None:
    times = [0, 1, 4 * DAY, 4 * DAY + 1, 2, 4 * DAY + 2, 4 * DAY + 3]  # sparse, and even out of order
    assert future(times) == []


def test_the_last_leg_far_ahead_has_nothing_following_it_and_is_set_aside() -> None:
    assert future([0, 1, 2, 9 * DAY]) == [3]


def test_a_message_line_may_carry_the_kafka_record_timestamp(tmp_path) -> None:
    lines = [
        {"topic": "transactions", "key": "C-1", "value": {"ts": "2099-01-01T00:00:00+08:00"}, "timestamp": 1_793_000_000_000},
        {"topic": "transactions", "key": "C-1", "value": {"ts": "2026-11-02T09:00:00+08:00"}, "timestamp": "2026-11-02T09:00:01+08:00"},
        {"topic": "customers", "key": "C-1", "value": None},
    ]
    path = tmp_path / "messages.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(line) for line in lines))
    sources = [source for source, _ in message_sources(str(path), Settings().topics, StreamClock(SKEW))]
    assert [s.reference_ms for s in sources] == [1_793_000_000_000, 1_793_581_201_000, None]


def test_a_first_leg_far_ahead_of_the_ones_after_it_is_set_aside() -> None:
    assert future([100 * 365 * DAY, 0, 1, 2, 3]) == [0]
    assert future([200 * DAY, 0, 1]) == []  # two legs after it are too few to tell: they may be late
    assert future([5, 0, 1, 2, 3]) == []  # a first leg slightly ahead is no fault
