"""Event times as the events state them (streams.events.iso): RFC 3339 UTC with milliseconds,
written as `datetime.isoformat` writes them, which the events written before this code did."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from streams import events
from streams.decode import MAX_MS, MIN_MS
from streams.events import iso


def reference(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@given(st.integers(min_value=0, max_value=MAX_MS))
def test_iso_is_datetimes_rendering(ts_ms: int) -> None:
    assert iso(ts_ms) == reference(ts_ms)


def test_iso_at_the_edges_of_a_day_and_of_the_accepted_range() -> None:
    day = 1_785_542_400_000  # 2026-08-01T00:00:00Z
    for ts in (0, MIN_MS, MAX_MS - 1, day - 1, day, day + 999, day + 86_399_999, 951_782_400_000):  # the last: 2000-02-29
        assert iso(ts) == reference(ts)
    assert iso(day - 1) == "2026-07-31T23:59:59.999Z" and iso(day) == "2026-08-01T00:00:00.000Z"


def test_the_date_memory_is_bounded() -> None:
    for day in range(5000):
        iso(day * events.DAY_MS + 1)
    assert len(events._DATES) <= 4096
    assert iso(4999 * events.DAY_MS + 1) == reference(4999 * events.DAY_MS + 1)
