"""The drill-down's pure parts: each measure's selection, the 督办 row's overdue time on the SLA
calendar, who is named responsible, and cursors."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from kernel.directory import Directory, DirectoryIndex
from kernel.sla.calendar import WorkingCalendar
from reporting.readmodel import counters
from reporting.reports import drilldown
from reporting.reports.grid import own_root
from reporting.reports.queries import Filter
from tests.support.directory import small_directory

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkingCalendar.from_config("09:00-17:00")
INDEX = DirectoryIndex(Directory.model_validate(small_directory()))
F = Filter(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC), frozenset({"B1"}), "talent")


def doc(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "_id": "i1",
        "title": "t",
        "status": "in_progress",
        "building_id": "B1",
        "service_code": "talent",
        "submitted_at": datetime(2026, 11, 16, 2, tzinfo=UTC),
        "assignees": ["S06"],
    }
    return {**base, **fields}


def test_every_summary_count_is_a_measure_and_selects_by_its_own_counter() -> None:
    # Every issue counter the summary sums is a measure (the histograms are not counts).
    counts = {name for name in counters.contribution_expressions() if not name.startswith("h_")}
    assert set(drilldown.MEASURES) == counts
    assert "$expr" not in drilldown.selection(F, "total")
    query = drilldown.selection(F, "overdue_open")
    assert query["$expr"] == {"$eq": [counters.contribution_expressions()["overdue_open"], 1]}
    assert query["building_id"] == {"$in": ["B1"]} and query["service_code"] == "talent"
    assert query["status"] == {"$ne": "rejected"}
    assert query["$or"] == [{"submitted_at": {"$gte": F.start, "$lt": F.end}}]


def test_overdue_time_counts_working_hours_on_a_working_calendar_service() -> None:
    # Due Friday 2026-11-20 16:00 Shanghai; at Monday 11-23 10:00 it is two working hours late
    # (Fri 16-17, Mon 9-10), though 66 hours have passed.
    due = datetime(2026, 11, 20, 16, tzinfo=SHANGHAI)
    now = datetime(2026, 11, 23, 10, tzinfo=SHANGHAI)
    row = drilldown.item(doc(resolve_due=due, overdue=True), INDEX, CALENDAR, now)
    assert row["overdue_working_seconds"] == 2 * 3600
    natural = drilldown.item(doc(resolve_due=due, overdue=True, service_code="quick"), INDEX, CALENDAR, now)
    assert natural["overdue_working_seconds"] == 66 * 3600
    done = drilldown.item(doc(resolve_due=due, overdue=True, status="resolved"), INDEX, CALENDAR, now)
    assert "overdue_working_seconds" not in done


def test_the_responsible_are_those_of_the_level_reached_else_the_assignees() -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    climbed = drilldown.item(doc(responsible=["S02"]), INDEX, CALENDAR, now)
    assert climbed["responsible"] == [{"id": "S02", "name": "测试人员02"}]
    older = drilldown.item(doc(), INDEX, CALENDAR, now)  # folded before routing said who
    assert older["responsible"] == [{"id": "S06", "name": "测试人员06"}]


def test_a_cursor_continues_after_its_issue_in_the_measures_order() -> None:
    d = doc(_id="abc", resolve_due=datetime(2026, 11, 20, tzinfo=UTC))
    newest = drilldown.after(drilldown.encode(d, "total"), "total")
    assert newest == {
        "$or": [
            {"submitted_at": {"$lt": d["submitted_at"]}},
            {"submitted_at": d["submitted_at"], "_id": {"$lt": "abc"}},
        ]
    }
    longest = drilldown.after(drilldown.encode(d, "overdue_open"), "overdue_open")
    assert longest["$or"][0] == {"resolve_due": {"$gt": d["resolve_due"]}}
    with pytest.raises(ValueError, match="invalid cursor"):
        drilldown.after("bm90LWEtY3Vyc29y", "total")  # "not-a-cursor"


def test_a_heads_own_part_of_the_grid_starts_at_the_lowest_node_holding_all_their_buildings() -> None:
    assert own_root(INDEX, None).id == "town"
    assert own_root(INDEX, INDEX.scope("S02")).id == "park"
    assert own_root(INDEX, INDEX.scope("S04")).id == "park"  # B1's 点楼长
    assert own_root(INDEX, frozenset({"B1", "B2"})).id == "town"
    assert own_root(INDEX, INDEX.scope("S01")).id == "town"
