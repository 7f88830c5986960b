"""Event-time bucketing: business days in the bank's timezone and short fine buckets.

The worker passes each transaction's bucket numbers to the Redis script, so the script never
needs timezone rules and every window is computed from event time alone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FINE_BUCKET_MS = 5 * 60 * 1000  # 5-minute buckets back the 1 h and 24 h windows
FINE_BUCKETS_PER_HOUR = 12
FINE_BUCKETS_PER_DAY = 288
EPOCH = date(1970, 1, 1)


def fine_bucket(ts_ms: int) -> int:
    return ts_ms // FINE_BUCKET_MS


class BusinessCalendar:
    """Maps event time to the business day (local date in the configured timezone).

    Offsets are cached per UTC hour: zone transitions happen on hour boundaries in every
    zone a bank is likely to use, and the cache turns a zoneinfo lookup into a dict hit.
    """

    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)
        self.timezone = timezone
        self._offset_ms_by_hour: dict[int, int] = {}

    def _offset_ms(self, ts_ms: int) -> int:
        hour = ts_ms // 3_600_000
        offset = self._offset_ms_by_hour.get(hour)
        if offset is None:
            moment = datetime.fromtimestamp(hour * 3600, tz=UTC).astimezone(self.zone)
            delta = moment.utcoffset() or timedelta(0)
            offset = int(delta.total_seconds() * 1000)
            if len(self._offset_ms_by_hour) > 100_000:
                self._offset_ms_by_hour.clear()
            self._offset_ms_by_hour[hour] = offset
        return offset

    def business_day(self, ts_ms: int) -> int:
        """Days since 1970-01-01 of the local date at `ts_ms`."""
        return (ts_ms + self._offset_ms(ts_ms)) // 86_400_000

    def local_hour(self, ts_ms: int) -> int:
        return ((ts_ms + self._offset_ms(ts_ms)) // 3_600_000) % 24

    def day_start_ms(self, day: int) -> int:
        """UTC epoch ms at which local business day `day` starts."""
        local_midnight = datetime.combine(EPOCH + timedelta(days=day), datetime.min.time(), tzinfo=self.zone)
        return int(local_midnight.timestamp() * 1000)


def is_timezone(name: str) -> bool:
    """Whether `name` is an IANA timezone this machine's tz database knows (e.g. Asia/Shanghai)."""
    if not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def iso_date(day: int) -> str:
    return (EPOCH + timedelta(days=day)).isoformat()
