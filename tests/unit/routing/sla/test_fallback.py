"""The calendar's fallback for years without official data: which deadlines fall back, how routing
reports it (the `calendar` check on /readyz, /metrics), and a holidays file ending it.

`chinesecalendar` 1.11.0 stops at 2026; these tests pin 2027 as a year without data. When a
newer package carries 2027, move them to the first year it lacks (`package_covers` tells).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from kernel.sla.calendar import WorkHours, WorkingCalendar, fallback_note, package_covers
from kernel.times import SHANGHAI as SH
from routing.bootstrap import Routing
from routing.settings import RoutingSettings
from routing.sla import fallback
from routing.sla.fallback import CalendarStatus

HOURS = WorkHours.parse("09:00-17:00")


def sh(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SH)


def test_the_package_stops_at_2026() -> None:
    assert package_covers(2026) and not package_covers(2027)


def test_a_deadline_into_2027_counts_weekdays_and_names_the_year() -> None:
    cal = WorkingCalendar(HOURS)
    # Thu 31 Dec 2026 16:00 + PT2H: New Year's Day (Fri 1 Jan 2027) counts as a working day.
    due, years = cal.reach(sh(2026, 12, 31, 16), "PT2H", "working")
    assert due.astimezone(SH) == sh(2027, 1, 1, 10)
    assert years == [2027]
    # Fri 5 Feb 2027 (Spring Festival eve, per the usual arrangement) + P1D: plain Monday.
    due, years = cal.reach(sh(2027, 2, 5, 15), "P1D", "working")
    assert due.astimezone(SH) == sh(2027, 2, 8, 15)
    assert years == [2027]
    assert fallback_note(years) == "fallback: 2027 weekdays only"


def test_only_years_without_data_are_named() -> None:
    cal = WorkingCalendar(HOURS)
    assert cal.reach(sh(2026, 3, 2, 10), "P5D", "working")[1] == []
    # Natural time does not use the calendar: never in fallback.
    assert cal.reach(sh(2026, 12, 31, 16), "P30D", "natural")[1] == []
    # A long count names every year it runs through without data, not the covered start.
    assert cal.reach(sh(2026, 12, 1, 10), "P300D", "working")[1] == [2027, 2028]
    assert fallback_note([2028, 2027, 2027]) == "fallback: 2027, 2028 weekdays only"
    assert fallback_note([]) == "ok"


def test_coverage_and_the_last_year_with_data() -> None:
    cal = WorkingCalendar(HOURS)
    assert cal.covers(2004) and cal.covers(2026) and not cal.covers(2027)
    assert cal.covered_until(2026) == 2026
    assert cal.covered_until(2027) == 2026  # this year itself has none


def test_a_holidays_file_adds_2027_and_ends_the_fallback(tmp_path: Path) -> None:
    path = tmp_path / "holidays.yaml"
    # TEST DATA, not the official 2027 arrangement: New Year's Day off, a make-up Sunday.
    path.write_text("2027:\n  holidays: [2027-01-01]\n  workdays: [2027-02-14]\n", encoding="utf-8")
    cal = WorkingCalendar.from_config("09:00-17:00", path)
    due, years = cal.reach(sh(2026, 12, 31, 16), "PT2H", "working")
    assert due.astimezone(SH) == sh(2027, 1, 4, 10)  # 1 Jan off, then the weekend
    assert years == []
    assert fallback_note(years) == "ok"
    assert cal.is_workday(date(2027, 2, 14))
    assert cal.covers(2027) and cal.covered_until(2026) == 2027
    assert cal.reach(sh(2027, 12, 31, 16), "PT2H", "working")[1] == [2028]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_the_readyz_check_follows_open_work_orders_and_refreshes_on_a_new_fallback() -> None:
    open_years: list[int] = []
    asked = 0

    async def query() -> list[int]:
        nonlocal asked
        asked += 1
        return list(open_years)

    status = CalendarStatus(WorkingCalendar(HOURS), query, ttl_s=3600)
    assert await status.check() == "ok"
    assert await status.check() == "ok" and asked == 1  # cached
    before = sample("louzhang_calendar_fallback_total", year="2027")
    open_years.append(2027)
    fallback.counted([2027])  # what WorkOrders does when a deadline falls back
    assert await status.check() == "fallback: 2027 weekdays only"
    assert asked == 2
    assert sample("louzhang_calendar_fallback_total", year="2027") == before + 1
    assert sample("louzhang_calendar_data_until_year") == 2026


async def test_an_outage_keeps_the_last_check() -> None:
    async def down() -> list[int]:
        raise ConnectionError("MongoDB does not answer")

    status = CalendarStatus(WorkingCalendar(HOURS), down, ttl_s=0)
    assert await status.check() == "unknown: not checked yet"


def test_a_bad_holidays_file_stops_routing_with_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text("2027:\n  holidays: [2027-13-01]\n", encoding="utf-8")
    settings = RoutingSettings(admin_token="a" * 24, jwt_secret="s" * 24, holidays_file=path)  # type: ignore[arg-type]
    with pytest.raises(SystemExit) as caught:
        Routing(settings)
    message = str(caught.value)
    assert str(path) in message and "'2027-13-01' is not a date" in message and "refusing to start" in message
