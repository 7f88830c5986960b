"""Working days of the official calendar around a holiday with adjusted working days (调休)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from filings.calendar import WorkingCalendar, end_of_day_ms
from filings.errors import CalendarGap, FilingConfigError

CAL = WorkingCalendar()

# 《国务院办公厅关于2025年部分节假日安排的通知》(国办发明电〔2024〕12号), 五、国庆节、中秋节：
# 10月1日（周三）至8日（周三）放假调休，共8天。9月28日（周日）、10月11日（周六）上班。
NATIONAL_DAY_2025_OFF = [date(2025, 10, d) for d in range(1, 9)]
NATIONAL_DAY_2025_WORKING_WEEKEND = [date(2025, 9, 28), date(2025, 10, 11)]


def test_the_notice_days_are_what_the_package_says() -> None:
    assert not any(CAL.is_working_day(d) for d in NATIONAL_DAY_2025_OFF)
    assert all(CAL.is_working_day(d) for d in NATIONAL_DAY_2025_WORKING_WEEKEND)
    assert not CAL.is_working_day(date(2025, 10, 12))  # an ordinary Sunday after the holiday


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # Friday 09-26: 09-28 (Sunday, working) 1, 09-29 2, 09-30 3, holiday, 10-09 4, 10-10 5
        (date(2025, 9, 26), 5, date(2025, 10, 10)),
        # a transaction on the adjusted working Sunday itself: it is day 0, not counted
        (date(2025, 9, 28), 5, date(2025, 10, 11)),
        # during the holiday: counting starts after it (10-09, 10-10, 10-11 Saturday working, 10-13, 10-14)
        (date(2025, 10, 3), 5, date(2025, 10, 14)),
        (date(2025, 10, 8), 1, date(2025, 10, 9)),
        # a first rating: onboarded Friday 09-26, 10 working days
        (date(2025, 9, 26), 10, date(2025, 10, 16)),
        # no holiday in between: plain weeks
        (date(2025, 11, 3), 5, date(2025, 11, 10)),
    ],
)
def test_due_dates_around_national_day_2025(start: date, days: int, due: date) -> None:
    assert CAL.add_working_days(start, days) == due


def test_the_deadline_is_the_end_of_the_due_day_in_the_bank_timezone() -> None:
    # 2025-10-10 ends at 2025-10-10T16:00:00Z in Shanghai
    assert end_of_day_ms(date(2025, 10, 10), "Asia/Shanghai") == 1760112000000


def test_a_year_nobody_covers_fails_loudly() -> None:
    with pytest.raises(CalendarGap, match="2031"):
        CAL.is_working_day(date(2031, 5, 1))


def test_the_bank_override_covers_a_year_the_package_does_not(tmp_path: Path) -> None:
    path = tmp_path / "workdays.toml"
    path.write_text("years = [2031]\nholidays = [2031-05-01, 2031-05-02]\nworkdays = [2031-04-27]\n", encoding="utf-8")
    cal = WorkingCalendar.load(path)
    assert not cal.is_working_day(date(2031, 5, 1))
    assert cal.is_working_day(date(2031, 4, 27))  # a Sunday made a working day
    assert cal.is_working_day(date(2031, 5, 5))  # an ordinary Monday of a covered year
    assert cal.add_working_days(date(2031, 4, 30), 1) == date(2031, 5, 5)
    # listed dates of a year the package knows override it one by one (09-28 stays a working Sunday)
    assert WorkingCalendar(holidays=frozenset({date(2025, 9, 29)})).add_working_days(date(2025, 9, 26), 2) == date(2025, 9, 30)
    with pytest.raises(CalendarGap):  # listing some dates of an unknown year does not cover the others
        WorkingCalendar(holidays=frozenset({date(2031, 5, 1)})).is_working_day(date(2031, 5, 6))


def test_a_date_both_working_and_holiday_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("holidays = [2031-05-01]\nworkdays = [2031-05-01]\n", encoding="utf-8")
    with pytest.raises(FilingConfigError, match="both"):
        WorkingCalendar.load(path)
