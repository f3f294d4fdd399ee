"""The deadline policy (`kernel.sla.deadlines`): a new acknowledge clock per level, resolve counted
from submission, a reopen keeps it; hours late on the SLA calendar."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from kernel.sla import deadlines
from kernel.sla.calendar import WorkingCalendar
from kernel.sla.deadlines import Deadline, Terms

SH = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkingCalendar.from_config("09:00-17:00")
NATURAL = Terms(acknowledge="PT30M", resolve="P1D")
WORKING = Terms(acknowledge="PT2H", resolve="PT8H", calendar="working")


def sh(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH)


def test_terms_round_trip_the_stored_sla() -> None:
    stored = {"acknowledge": "PT2H", "resolve": "PT8H", "calendar": "working"}
    assert Terms.from_doc(stored) == WORKING and WORKING.to_doc() == stored
    assert Terms.from_doc({"acknowledge": "PT30M", "resolve": "P1D"}) == NATURAL  # natural unless named


def test_acknowledge_runs_from_the_moment_the_level_was_reached() -> None:
    assert deadlines.acknowledge_due(CALENDAR, NATURAL, sh(2026, 11, 20, 16, 50)) == Deadline(sh(2026, 11, 20, 17, 20))
    # Working time: Friday 16:00 + 2 working hours is Monday 10:00.
    assert deadlines.acknowledge_due(CALENDAR, WORKING, sh(2026, 11, 20, 16)).due == sh(2026, 11, 23, 10)


def test_resolve_runs_from_submission() -> None:
    assert deadlines.resolve_due(CALENDAR, NATURAL, sh(2026, 11, 20, 10)).due == sh(2026, 11, 21, 10)
    assert deadlines.resolve_due(CALENDAR, WORKING, sh(2026, 11, 20, 10)).due == sh(2026, 11, 23, 10)


def test_a_deadline_through_a_year_without_data_names_it() -> None:
    # chinesecalendar stops at 2026 (see test_fallback.py): Thu 31 Dec 16:00 + 2 working hours.
    found = deadlines.acknowledge_due(CALENDAR, WORKING, sh(2026, 12, 31, 16))
    assert found == Deadline(sh(2027, 1, 1, 10), (2027,))
    assert deadlines.resolve_due(CALENDAR, NATURAL, sh(2026, 12, 31, 16)).fallback_years == ()


def test_a_reopen_keeps_the_resolve_deadline_and_rearms_it_unless_it_already_fired() -> None:
    due = sh(2026, 11, 21, 10)
    assert deadlines.resolve_rearmed_on_reopen(due, overdue=False) == due
    assert deadlines.resolve_rearmed_on_reopen(due, overdue=True) is None


def test_hours_late_round_up_on_the_service_calendar() -> None:
    due = sh(2026, 11, 20, 16)
    assert deadlines.overdue_hours(CALENDAR, NATURAL, due, due + timedelta(minutes=61)) == 2
    assert deadlines.overdue_hours(CALENDAR, NATURAL, due, due) == 0
    # Working time: Friday 16:00 to Monday 09:30 is 1.5 working hours.
    assert deadlines.overdue_hours(CALENDAR, WORKING, due, sh(2026, 11, 23, 9, 30)) == 2
