"""Working days of the official Chinese calendar, with the adjusted working days (调休).

Source of truth: the `chinesecalendar` package (the State Council's yearly holiday notices,
国务院办公厅关于…部分节假日安排的通知), overridden by a bank-supplied file for years the package
does not know yet. A date that neither covers raises CalendarGap: a deadline is never guessed.

Counting (how "within N working days" is read): the day of the event itself is not counted
(期间开始的当日不计入, Civil Code art. 201); the deadline is the end of the N-th working day
after it, in the bank's timezone. An event on a holiday therefore counts from the next working day.

Override file (TOML): `workdays = [2027-02-07, ...]` (adjusted working weekend days) and
`holidays = [2027-01-01, ...]` (days off on weekdays), `years = [2027]` (the years the file
covers completely: any other weekday/weekend of such a year follows the normal week).
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar

from filings.errors import CalendarGap, FilingConfigError


class WorkingCalendar:
    def __init__(self, workdays: frozenset[date] = frozenset(), holidays: frozenset[date] = frozenset(), years: frozenset[int] = frozenset()) -> None:
        both = workdays & holidays
        if both:
            raise FilingConfigError(f"calendar override lists {sorted(both)[0]} as both a working day and a holiday")
        self.workdays = workdays
        self.holidays = holidays
        self.years = years  # only these are covered completely; listed dates of other years override one by one

    @classmethod
    def load(cls, path: Path | None) -> WorkingCalendar:
        if path is None:
            return cls()
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise FilingConfigError(f"calendar override {path}: {exc}") from None
        try:
            workdays = frozenset(_dates(raw.get("workdays", [])))
            holidays = frozenset(_dates(raw.get("holidays", [])))
            years = frozenset(int(y) for y in raw.get("years", []))
        except (TypeError, ValueError) as exc:
            raise FilingConfigError(f"calendar override {path}: {exc}") from None
        return cls(workdays, holidays, years)

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        if day.year in self.years:
            return day.weekday() < 5
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            raise CalendarGap(
                f"no official calendar for {day.year}: chinesecalendar {chinese_calendar.__version__} does not cover it and the override file does not list it; "
                "add the State Council's holiday notice for that year to the calendar override (deadlines.calendar_override)"
            ) from None

    def add_working_days(self, start: date, days: int) -> date:
        """The `days`-th working day after `start` (start itself not counted)."""
        day, left = start, days
        while left > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day


def _dates(values: list[object]) -> list[date]:
    out = []
    for v in values:
        if isinstance(v, datetime):
            raise ValueError(f"{v!r}: expected a date, not a date-time")
        if isinstance(v, date):
            out.append(v)
        elif isinstance(v, str):
            out.append(date.fromisoformat(v))
        else:
            raise ValueError(f"{v!r}: expected a date")
    return out


def end_of_day_ms(day: date, timezone: str) -> int:
    """Epoch ms of the end of `day` (the first instant of the next day) in `timezone`."""
    return int(datetime.combine(day + timedelta(days=1), time.min, tzinfo=ZoneInfo(timezone)).timestamp() * 1000)


def local_date(ts_ms: int, timezone: str) -> date:
    return datetime.fromtimestamp(ts_ms / 1000, tz=ZoneInfo(timezone)).date()
