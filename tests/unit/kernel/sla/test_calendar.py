"""Contract, Dispatch/escalation and SLA: the working calendar (see kernel.sla.calendar)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from kernel.sla.calendar import WorkHours, WorkingCalendar, load_holidays
from kernel.times import SHANGHAI as SH

HOURS = WorkHours.parse("09:00-17:00")


@pytest.fixture
def cal() -> WorkingCalendar:
    return WorkingCalendar(HOURS)


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=SH)


def add_local(cal: WorkingCalendar, start: datetime, duration: str) -> datetime:
    out = cal.add(start, duration)
    assert out.tzinfo is UTC
    return out.astimezone(SH)


def days(cal: WorkingCalendar, first: date, last: date) -> dict[date, bool]:
    out = {}
    d = first
    while d <= last:
        out[d] = cal.is_workday(d)
        d += timedelta(days=1)
    return out


# ---- WorkHours --------------------------------------------------------------------------------


def test_work_hours_parse() -> None:
    h = WorkHours.parse("09:00-17:00")
    assert (h.start.hour, h.end.hour, h.length) == (9, 17, timedelta(hours=8))
    assert WorkHours.parse(" 8:30 - 18:15 ") == WorkHours(h.start.replace(8, 30), h.end.replace(18, 15))
    assert str(h) == "09:00-17:00"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must look like HH:MM-HH:MM"),
        ("9-17", "must look like HH:MM-HH:MM"),
        ("09:00", "must look like HH:MM-HH:MM"),
        ("09:00-17:00-18:00", "must look like HH:MM-HH:MM"),
        ("25:00-26:00", "hours must be 00-23"),
        ("09:60-17:00", "minutes 00-59"),
        ("17:00-09:00", "end must be after the start"),
        ("09:00-09:00", "end must be after the start"),
    ],
)
def test_bad_work_hours(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkHours.parse(text)


def test_work_hours_constructor_checks_order() -> None:
    with pytest.raises(ValueError, match="must be after"):
        WorkHours(HOURS.end, HOURS.start)


# ---- Spring Festival 2026 (国办发明电〔2025〕7号: 2月15日至23日放假调休共9天, 2月14日、2月28日 (星期六) 上班) --


def test_spring_festival_2026_as_the_package_has_it(cal: WorkingCalendar) -> None:
    off = {date(2026, 2, d) for d in range(15, 24)}  # Sun 15 .. Mon 23, nine days
    make_up = {date(2026, 2, 14), date(2026, 2, 28)}  # both Saturdays
    assert all(d.weekday() == 5 for d in make_up)
    expected = {
        d: (d.weekday() < 5 and d not in off) or d in make_up for d in days(cal, date(2026, 2, 1), date(2026, 3, 1))
    }
    assert days(cal, date(2026, 2, 1), date(2026, 3, 1)) == expected
    assert not cal.is_workday(date(2026, 2, 21)) and not cal.is_workday(date(2026, 2, 22))  # plain weekend inside


def test_deadline_spans_spring_festival_with_make_up_saturday(cal: WorkingCalendar) -> None:
    # Fri 13 Feb, the last ordinary working day: P1D is the make-up Saturday, P2D the first day back.
    assert add_local(cal, sh(2026, 2, 13, 10), "P1D") == sh(2026, 2, 14, 10)
    assert add_local(cal, sh(2026, 2, 13, 10), "P2D") == sh(2026, 2, 24, 10)
    assert add_local(cal, sh(2026, 2, 13, 16), "PT2H") == sh(2026, 2, 14, 10)
    assert add_local(cal, sh(2026, 2, 14, 16), "PT2H") == sh(2026, 2, 24, 10)
    # Submitted during the holiday: counting starts Tue 24 Feb 09:00.
    assert add_local(cal, sh(2026, 2, 17, 12), "PT30M") == sh(2026, 2, 24, 9, 30)
    assert add_local(cal, sh(2026, 2, 17, 12), "P1D") == sh(2026, 2, 25, 9)
    # Fri 27 Feb + P1D is the second make-up Saturday, 28 Feb.
    assert add_local(cal, sh(2026, 2, 27, 15), "P1D") == sh(2026, 2, 28, 15)
    # 2 × 8 h working hours from Fri 13 Feb 10:00: Sat 14 is one day, then Tue 24.
    assert add_local(cal, sh(2026, 2, 13, 10), "PT16H") == sh(2026, 2, 24, 10)


# ---- National Day 2026 (10月1日至7日放假调休共7天, 9月20日 (星期日)、10月10日 (星期六) 上班) ----------------


def test_national_day_2026_as_the_package_has_it(cal: WorkingCalendar) -> None:
    off = {date(2026, 10, d) for d in range(1, 8)} | {date(2026, 9, d) for d in (25, 26, 27)}  # + Mid-Autumn
    make_up = {date(2026, 9, 20), date(2026, 10, 10)}  # Sun 20 Sep, Sat 10 Oct
    got = days(cal, date(2026, 9, 14), date(2026, 10, 18))
    assert got == {d: (d.weekday() < 5 and d not in off) or d in make_up for d in got}


def test_deadline_spans_national_day(cal: WorkingCalendar) -> None:
    assert add_local(cal, sh(2026, 9, 30, 16), "PT2H") == sh(2026, 10, 8, 10)
    assert add_local(cal, sh(2026, 9, 30, 16), "P1D") == sh(2026, 10, 8, 16)
    assert add_local(cal, sh(2026, 10, 9, 15), "P1D") == sh(2026, 10, 10, 15)  # make-up Saturday
    assert add_local(cal, sh(2026, 10, 10, 15), "P1D") == sh(2026, 10, 12, 15)  # Sunday 11th is off
    assert add_local(cal, sh(2026, 9, 19, 11), "PT1H") == sh(2026, 9, 20, 10)  # Sat → make-up Sunday


# ---- ordinary weeks ---------------------------------------------------------------------------


def test_weekend_is_skipped(cal: WorkingCalendar) -> None:
    assert add_local(cal, sh(2026, 3, 6, 15), "P1D") == sh(2026, 3, 9, 15)  # Fri → Mon
    assert add_local(cal, sh(2026, 3, 6, 16), "PT2H") == sh(2026, 3, 9, 10)
    assert add_local(cal, sh(2026, 3, 6, 15), "P1W") == sh(2026, 3, 17, 15)  # a week is 7 working days
    assert add_local(cal, sh(2026, 3, 6, 15), "P1DT3H") == sh(2026, 3, 10, 10)


def test_start_outside_working_hours(cal: WorkingCalendar) -> None:
    assert add_local(cal, sh(2026, 3, 7, 11), "P1D") == sh(2026, 3, 10, 9)  # Sat → Mon 09:00 → Tue 09:00
    assert add_local(cal, sh(2026, 3, 7, 11), "PT1H") == sh(2026, 3, 9, 10)
    assert add_local(cal, sh(2026, 3, 9, 6, 30), "PT1H") == sh(2026, 3, 9, 10)  # before hours: same day
    assert add_local(cal, sh(2026, 3, 9, 20), "PT1H") == sh(2026, 3, 10, 10)  # after hours: next day
    assert add_local(cal, sh(2026, 3, 9, 9), "PT1H") == sh(2026, 3, 9, 10)  # exactly at the start


def test_exactly_at_the_end(cal: WorkingCalendar) -> None:
    # A deadline landing on the end of a working period stays there …
    assert add_local(cal, sh(2026, 3, 9, 16), "PT1H") == sh(2026, 3, 9, 17)
    assert add_local(cal, sh(2026, 3, 9, 9), "PT8H") == sh(2026, 3, 9, 17)
    assert add_local(cal, sh(2026, 3, 9, 9), "PT16H") == sh(2026, 3, 10, 17)
    assert add_local(cal, sh(2026, 3, 6, 16), "PT1H") == sh(2026, 3, 6, 17)  # Friday stays Friday
    # … but a start exactly at the end counts from the next working day's start.
    assert add_local(cal, sh(2026, 3, 9, 17), "PT1H") == sh(2026, 3, 10, 10)
    assert add_local(cal, sh(2026, 3, 6, 17), "P1D") == sh(2026, 3, 10, 9)  # Fri 17:00 → Mon 09:00 → Tue


def test_fractional_seconds(cal: WorkingCalendar) -> None:
    assert add_local(cal, sh(2026, 3, 9, 16, 59, 59, 500_000), "PT0.5S") == sh(2026, 3, 9, 17)
    assert add_local(cal, sh(2026, 3, 9, 16, 59, 59, 500_000), "PT1.25S") == sh(2026, 3, 10, 9, 0, 0, 750_000)
    assert add_local(cal, sh(2026, 3, 9, 16, 59, 59, 999_999), "PT0.000001S") == sh(2026, 3, 9, 17)
    assert add_local(cal, sh(2026, 3, 9, 10), "PT1M30.5S") == sh(2026, 3, 9, 10, 1, 30, 500_000)


def test_other_input_zones(cal: WorkingCalendar) -> None:
    # 08:00 in London (GMT in March) is Fri 16:00 in Shanghai.
    london = datetime(2026, 3, 6, 8, tzinfo=ZoneInfo("Europe/London"))
    assert cal.add(london, "PT2H") == datetime(2026, 3, 9, 2, tzinfo=UTC)  # Mon 10:00 Shanghai
    assert cal.add(datetime(2026, 3, 9, 1, tzinfo=UTC), "PT30M") == datetime(2026, 3, 9, 1, 30, tzinfo=UTC)
    # 23:30 UTC on Sunday is already Monday 07:30 in Shanghai.
    assert cal.add(datetime(2026, 3, 8, 23, 30, tzinfo=UTC), "PT1H") == datetime(2026, 3, 9, 2, tzinfo=UTC)


def test_naive_input_is_refused(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="timezone"):
        cal.add(datetime(2026, 3, 9, 10), "PT1H")
    with pytest.raises(ValueError, match="timezone"):
        cal.deadline(datetime(2026, 3, 9, 10), "PT1H", "natural")


def test_bad_duration_is_refused(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        cal.add(sh(2026, 3, 9, 10), "2 hours")
    with pytest.raises(ValueError, match="zero"):
        cal.add(sh(2026, 3, 9, 10), "PT0S")


def test_long_durations_are_cheap(cal: WorkingCalendar) -> None:
    # 2026-01-05 (Mon) + 30 working days: New Year's make-up Sunday is past; Sat 14 Feb is one.
    assert add_local(cal, sh(2026, 1, 5, 10), "P30D") == sh(2026, 2, 14, 10)
    assert add_local(cal, sh(2026, 1, 5, 10), "PT240H") == sh(2026, 2, 14, 10)  # 30 days × 8 h
    # A year of working days, into 2027 (weekdays only there), against a plain day count.
    d, left = date(2026, 1, 5), 365
    while left:
        d += timedelta(days=1)
        left -= chinese_calendar.is_workday(d) if d.year == 2026 else d.weekday() < 5
    started = time.perf_counter()
    assert add_local(cal, sh(2026, 1, 5, 10), "P365D") == sh(d.year, d.month, d.day, 10)
    assert add_local(cal, sh(2026, 1, 5, 10), "PT2920H") == sh(d.year, d.month, d.day, 10)  # 365 × 8 h
    assert time.perf_counter() - started < 0.5


# ---- natural calendar -------------------------------------------------------------------------


def test_natural_calendar(cal: WorkingCalendar) -> None:
    out = cal.deadline(sh(2026, 2, 13, 10), "P2D", "natural")  # holidays do not matter
    assert out == sh(2026, 2, 15, 10) and out.tzinfo is UTC
    assert cal.deadline(sh(2026, 3, 28, 23, 30), "PT24H", "natural") == datetime(2026, 3, 29, 15, 30, tzinfo=UTC)
    assert cal.deadline(sh(2026, 3, 9, 10), "PT1.5S", "natural") == sh(2026, 3, 9, 10, 0, 1, 500_000)


def test_natural_calendar_is_elapsed_time_across_a_dst_change(cal: WorkingCalendar) -> None:
    berlin = datetime(2026, 3, 28, 12, tzinfo=ZoneInfo("Europe/Berlin"))  # CET; clocks go forward on the 29th
    out = cal.deadline(berlin, "P1D", "natural")
    assert out == datetime(2026, 3, 29, 11, tzinfo=UTC)  # 24 h later, i.e. 13:00 CEST
    assert out.astimezone(ZoneInfo("Europe/Berlin")).hour == 13


def test_deadline_dispatches_on_the_calendar(cal: WorkingCalendar) -> None:
    start = sh(2026, 3, 6, 16)
    assert cal.deadline(start, "PT2H", "working") == cal.add(start, "PT2H") == sh(2026, 3, 9, 10)
    assert cal.deadline(start, "PT2H", "natural") == sh(2026, 3, 6, 18)
    with pytest.raises(ValueError, match="natural"):
        cal.deadline(start, "PT2H", "lunar")  # type: ignore[arg-type]


# ---- years without official data --------------------------------------------------------------


def test_2027_without_a_file_is_weekdays_with_one_warning(
    cal: WorkingCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="kernel.sla.calendar")
    got = days(cal, date(2027, 1, 1), date(2027, 3, 31))
    assert got == {d: d.weekday() < 5 for d in got}  # New Year's Day and Spring Festival count as working
    assert add_local(cal, sh(2026, 12, 31, 16), "PT2H") == sh(2027, 1, 1, 10)
    assert add_local(cal, sh(2027, 2, 5, 15), "P1D") == sh(2027, 2, 8, 15)
    warnings = [r for r in caplog.records if r.name == "kernel.sla.calendar"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    message = warnings[0].getMessage()
    assert "2027" in message and "Monday to Friday" in message and "LOUZHANG_HOLIDAYS_FILE" in message


def test_each_uncovered_year_warns_once(cal: WorkingCalendar, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="kernel.sla.calendar")
    for year in (2027, 2028, 2027, 2028):
        cal.add(datetime(year, 6, 1, 10, tzinfo=SH), "P3D")
    cal.is_workday(date(2026, 6, 1))  # covered by the package: no warning
    years = sorted(r.args[0] for r in caplog.records if isinstance(r.args, tuple))
    assert years == [2027, 2028]


# 2027 test data, NOT the official arrangement (not yet published when this was written):
# New Year's Day Fri 1 Jan; Spring Festival Fri 5 Feb .. Sat 13 Feb; make-up Sun 14 Feb and Sat 20 Feb.
HOLIDAYS_2027_TEST_DATA = """\
# TEST DATA, not official
2027:
  holidays: [2027-01-01, 2027-02-05, 2027-02-06, 2027-02-07, 2027-02-08, 2027-02-09,
             2027-02-10, 2027-02-11, 2027-02-12, 2027-02-13]
  workdays: [2027-02-14, 2027-02-20]
"""


def test_2027_with_a_holidays_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="kernel.sla.calendar")
    path = tmp_path / "holidays.yaml"
    path.write_text(HOLIDAYS_2027_TEST_DATA, encoding="utf-8")
    cal = WorkingCalendar.from_config("09:00-17:00", str(path))
    assert not cal.is_workday(date(2027, 1, 1))
    assert cal.is_workday(date(2027, 1, 4))
    assert not cal.is_workday(date(2027, 2, 8))  # a Monday inside the festival
    assert cal.is_workday(date(2027, 2, 14)) and cal.is_workday(date(2027, 2, 20))
    assert not cal.is_workday(date(2027, 2, 21))  # an ordinary Sunday
    assert add_local(cal, sh(2026, 12, 31, 16), "PT2H") == sh(2027, 1, 4, 10)
    assert add_local(cal, sh(2027, 2, 4, 16), "PT2H") == sh(2027, 2, 14, 10)  # Thu → make-up Sunday
    assert add_local(cal, sh(2027, 2, 4, 10), "P2D") == sh(2027, 2, 15, 10)
    assert add_local(cal, sh(2027, 2, 19, 15), "P1D") == sh(2027, 2, 20, 15)
    assert not caplog.records  # 2026 from the package, 2027 from the file


def test_the_file_overrides_the_package_for_the_years_it_covers(tmp_path: Path) -> None:
    path = tmp_path / "holidays.json"
    path.write_text('{"2026": {"holidays": ["2026-03-09"]}}', encoding="utf-8")  # JSON works too
    cal = WorkingCalendar(HOURS, load_holidays(path))
    assert not cal.is_workday(date(2026, 3, 9))
    # The file decides the whole year: the package's Spring Festival is no longer known.
    assert cal.is_workday(date(2026, 2, 16)) and not cal.is_workday(date(2026, 2, 14))
    assert cal.is_workday(date(2025, 10, 8)) is False  # 2025 still from the package (National Day)


def test_from_config_without_a_file() -> None:
    cal = WorkingCalendar.from_config("08:30-17:30", None)
    assert cal.holidays is None
    assert add_local(cal, sh(2026, 3, 9, 17), "PT30M") == sh(2026, 3, 9, 17, 30)
    assert add_local(cal, sh(2026, 3, 9, 17), "PT1H") == sh(2026, 3, 10, 9)


def test_working_time_between_two_instants_counts_only_working_hours() -> None:
    cal = WorkingCalendar.from_config("09:00-17:00")
    friday_4pm = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # 16:00 in Shanghai
    monday_10am = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert cal.working_time(friday_4pm, monday_10am) == timedelta(hours=2)
    assert cal.working_time(monday_10am, friday_4pm) == timedelta(0)
    assert cal.late_by(friday_4pm, monday_10am, "working") == timedelta(hours=2)
    assert cal.late_by(friday_4pm, monday_10am, "natural") == timedelta(days=2, hours=18)


def test_time_left_is_signed_working_time() -> None:
    cal = WorkingCalendar.from_config("09:00-17:00")
    friday_4pm = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    monday_10am = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    assert cal.left(monday_10am, friday_4pm, "working") == timedelta(hours=2)
    assert cal.left(friday_4pm, monday_10am, "working") == -timedelta(hours=2)
    assert cal.left(monday_10am, friday_4pm, "natural") == timedelta(days=2, hours=18)
