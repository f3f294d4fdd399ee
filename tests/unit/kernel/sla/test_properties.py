"""Properties of working-time deadlines (kernel.sla.calendar)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kernel.sla.calendar import WorkHours, WorkingCalendar
from kernel.times import SHANGHAI as SH

ZONES = [SH, ZoneInfo("UTC"), ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")]
# Shared across examples so the per-date cache is exercised too.
CALENDARS = [WorkingCalendar(WorkHours.parse(h)) for h in ("09:00-17:00", "08:30-12:00", "00:00-23:59")]

calendars = st.sampled_from(CALENDARS)
starts = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31, 23, 59), timezones=st.sampled_from(ZONES)
)
micros = st.integers(min_value=0, max_value=400 * 3600 * 1_000_000)  # up to 400 hours
day_counts = st.integers(min_value=0, max_value=40)


def iso(days: int, us: int) -> str:
    seconds, fraction = divmod(us, 1_000_000)
    return f"P{days}DT{seconds}.{fraction:06d}S"


@given(cal=calendars, start=starts, days=day_counts, us=micros)
@settings(deadline=None)
def test_deadline_is_after_start_and_within_working_time(
    cal: WorkingCalendar, start: datetime, days: int, us: int
) -> None:
    assume(days or us)
    duration = iso(days, us)
    out = cal.add(start, duration)
    assert out.tzinfo is UTC
    assert out > start
    local = out.astimezone(SH)
    assert cal.is_workday(local.date())
    assert cal.hours.start <= local.time() <= cal.hours.end
    assert cal.deadline(start, duration, "working") == out
    assert cal.deadline(start, duration, "natural") > start


@given(cal=calendars, start=starts, d1=day_counts, d2=day_counts, us1=micros, us2=micros)
@settings(deadline=None)
def test_monotonic_in_duration(cal: WorkingCalendar, start: datetime, d1: int, d2: int, us1: int, us2: int) -> None:
    (d1, d2), (us1, us2) = sorted((d1, d2)), sorted((us1, us2))
    assume(d1 or us1)
    shorter, longer = cal.add(start, iso(d1, us1)), cal.add(start, iso(d2, us2))
    assert shorter <= longer
    if d1 == d2 and us1 < us2:
        assert shorter < longer  # more working time, strictly later


@given(cal=calendars, start=starts, a=micros, b=micros)
@settings(deadline=None)
def test_time_parts_add_up(cal: WorkingCalendar, start: datetime, a: int, b: int) -> None:
    # Holds even when the first leg lands exactly on a period's end: that end counts as the next
    # period's start for further counting, and the direct sum rolls over the same way.
    assume(a and b)
    assert cal.add(cal.add(start, iso(0, a)), iso(0, b)) == cal.add(start, iso(0, a + b))


@given(cal=calendars, start=starts, n=st.integers(1, 60), m=st.integers(1, 60))
@settings(deadline=None)
def test_hours_add_up(cal: WorkingCalendar, start: datetime, n: int, m: int) -> None:
    assert cal.add(cal.add(start, f"PT{n}H"), f"PT{m}H") == cal.add(start, f"PT{n + m}H")


def reference(cal: WorkingCalendar, start: datetime, minutes: int) -> datetime:
    """Step minute by minute, counting the minutes that lie within working hours on working days."""
    t, counted = start.astimezone(SH), 0
    while True:
        working = cal.is_workday(t.date()) and cal.hours.start <= t.time() < cal.hours.end
        t += timedelta(minutes=1)
        counted += working
        if counted == minutes:
            return t.astimezone(UTC)


@given(
    cal=calendars,
    start=st.datetimes(min_value=datetime(2025, 9, 1), max_value=datetime(2026, 10, 31), timezones=st.just(SH)),
    minutes=st.integers(1, 600),
)
@settings(deadline=None, max_examples=60)
def test_matches_a_minute_by_minute_count(cal: WorkingCalendar, start: datetime, minutes: int) -> None:
    start = start.replace(second=0, microsecond=0)
    assert cal.add(start, f"PT{minutes}M") == reference(cal, start, minutes)
