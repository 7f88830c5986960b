from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from factors.calendar import BusinessCalendar, fine_bucket, iso_date
from factors.money import FxTable


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def test_business_day_follows_the_bank_timezone_not_utc():
    cal = BusinessCalendar("Asia/Shanghai")
    # 23:59 and 00:01 Shanghai time are different business days although both are the same UTC date
    assert iso_date(cal.business_day(ms("2026-11-27T23:59:00+08:00"))) == "2026-11-27"
    assert iso_date(cal.business_day(ms("2026-11-28T00:01:00+08:00"))) == "2026-11-28"
    assert iso_date(cal.business_day(ms("2026-11-27T16:30:00+00:00"))) == "2026-11-28"
    assert cal.day_start_ms(cal.business_day(ms("2026-11-28T10:00:00+08:00"))) == ms("2026-11-28T00:00:00+08:00")


def test_business_day_handles_daylight_saving_zones():
    cal = BusinessCalendar("Europe/London")
    assert iso_date(cal.business_day(ms("2026-07-01T23:30:00+00:00"))) == "2026-07-02"  # BST, 00:30 local
    assert iso_date(cal.business_day(ms("2026-12-01T23:30:00+00:00"))) == "2026-12-01"  # GMT
    assert cal.local_hour(ms("2026-07-01T23:30:00+00:00")) == 0


def test_fine_buckets_are_five_minutes():
    assert fine_bucket(ms("2026-11-27T10:04:59+00:00")) == fine_bucket(ms("2026-11-27T10:00:00+00:00"))
    assert fine_bucket(ms("2026-11-27T10:05:00+00:00")) == fine_bucket(ms("2026-11-27T10:00:00+00:00")) + 1


def test_fx_conversion_is_exact_and_rounds_half_even_to_the_fen():
    fx = FxTable("2026-11-01", {"CNY": Decimal(1), "USD": Decimal("7.10"), "JPY": Decimal("0.047")})
    assert fx.to_fen(Decimal("0.1"), "CNY") == 10
    assert fx.to_fen(Decimal("10000"), "USD") == 7_100_000
    assert fx.to_fen(Decimal("1"), "JPY") == 5  # 4.7 fen
    assert fx.to_fen(Decimal("0.005"), "CNY") == 0  # 0.5 fen rounds to even
    assert fx.to_fen(Decimal("0.015"), "CNY") == 2
    assert fx.usd_fen_to_cny_fen(1_000_000) == 7_100_000
