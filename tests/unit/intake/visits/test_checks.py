"""Visits' pure parts: every problem at once, the issues as POST /v1/issues takes them, filters, cursors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId
from fastapi.exceptions import RequestValidationError

from chassis.auth import Principal
from intake.visits.models import VisitCreate
from intake.visits.service import (
    FUTURE_SLACK,
    claimed_building,
    decode_visit_cursor,
    encode_visit_cursor,
    issue_bodies,
    list_filter,
    period,
    to_ms,
    visible_filter,
    visit_problems,
)
from kernel.directory import DirectoryIndex
from kernel.times import SHANGHAI

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
ISSUE = {"service_code": "talent", "title": "人才公寓申请", "description": "三名员工申请人才公寓"}


def visit(**changes: Any) -> VisitCreate:
    body = {
        "building_id": "B1",
        "enterprise_id": "E1",
        "visited_at": "2026-11-20T09:30:00+08:00",
        "kind": "visit",
        "participants": ["S6"],
        "issues": [ISSUE],
    }
    return VisitCreate.model_validate({**body, **changes})


def problems(v: VisitCreate, index: DirectoryIndex, enterprise_building: str | None = "B1") -> list[tuple[Any, str]]:
    return [(tuple(p["loc"]), p["type"]) for p in visit_problems(v, index, enterprise_building, NOW)]


def test_a_good_visit_has_no_problems(index: DirectoryIndex) -> None:
    assert problems(visit(), index) == []
    assert problems(visit(enterprise_id=None, issues=[], participants=[]), index, None) == []


def test_every_problem_is_reported_at_once(index: DirectoryIndex) -> None:
    bad = visit(
        visited_at=(NOW + FUTURE_SLACK + timedelta(seconds=1)).isoformat(),
        building_id="B9",
        participants=["S6", "S99", "S1", "nobody"],
        issues=[ISSUE, {**ISSUE, "service_code": "nope"}, ISSUE, {**ISSUE, "service_code": "gone"}],
    )
    assert problems(bad, index, None) == [
        (("visited_at",), "in_future"),
        (("building_id",), "unknown_building"),
        (("enterprise_id",), "unknown_enterprise"),
        (("participants", 1), "unknown_staff"),
        (("participants", 3), "unknown_staff"),
        (("issues", 1, "service_code"), "unknown_service"),
        (("issues", 3, "service_code"), "unknown_service"),
    ]


def test_the_enterprise_must_be_in_the_building(index: DirectoryIndex) -> None:
    assert problems(visit(), index, "B2") == [(("enterprise_id",), "enterprise_not_in_building")]
    # In an unknown building, only the building is named.
    assert problems(visit(building_id="B9"), index, "B2") == [(("building_id",), "unknown_building")]


def test_visited_at_up_to_five_minutes_ahead_is_taken(index: DirectoryIndex) -> None:
    assert problems(visit(visited_at=(NOW + FUTURE_SLACK).isoformat()), index) == []
    assert problems(visit(visited_at="2001-01-01T00:00:00Z"), index) == []


def test_issues_are_submitted_with_the_visits_building_enterprise_and_source() -> None:
    bodies, refused = issue_bodies(
        visit(issues=[ISSUE, {**ISSUE, "reporter": {"name": "李女士"}, "media_urls": ["https://x.org/a.jpg"]}])
    )
    assert refused == []
    assert [(b.building_id, b.enterprise_id, b.source) for b in bodies] == [("B1", "E1", "visit")] * 2
    assert bodies[1].reporter is not None and bodies[1].reporter.name == "李女士"
    assert [str(u) for u in bodies[1].media_urls] == ["https://x.org/a.jpg"]
    assert bodies[0].callback_url is None and bodies[0].external_id is None
    none, _ = issue_bodies(visit(enterprise_id=None))
    assert none[0].enterprise_id is None


def test_claimed_building_reads_the_raw_body() -> None:
    assert claimed_building(b'{"building_id": "B1", "kind": 3}') == "B1"
    for raw in (b"", b"not json", b"[]", b'{"building_id": 1}', b"\xff", b'{"kind": "visit"}'):
        assert claimed_building(raw) is None


def test_period_takes_dates_and_offsets_and_refuses_the_rest() -> None:
    assert period(None, None) == (None, None)
    start, end = period("2026-11-01", "2026-11-02T00:00:00Z")
    assert start == datetime(2026, 11, 1, tzinfo=SHANGHAI) and end == datetime(2026, 11, 2, tzinfo=UTC)
    for low, high, loc in (
        ("2026-11-01T00:00:00", None, ["query", "from"]),
        (None, "yesterday", ["query", "to"]),
        ("2026-11-02", "2026-11-01", ["query", "from"]),
        ("2026-11-01", "2026-11-01", ["query", "from"]),
    ):
        with pytest.raises(RequestValidationError) as caught:
            period(low, high)
        assert caught.value.errors()[0]["loc"] == loc


def test_list_filter() -> None:
    assert list_filter() == {}
    start, end = NOW, NOW + timedelta(days=1)
    assert list_filter(building_id="B1", enterprise_id="E1", staff_id="S6", start=start, end=end) == {
        "building_id": "B1",
        "enterprise_id": "E1",
        "$or": [{"participants": "S6"}, {"recorded_by.kind": "staff", "recorded_by.subject": "S6"}],
        "visited_at": {"$gte": start, "$lt": end},
    }
    assert list_filter(end=end) == {"visited_at": {"$lt": end}}


def test_visibility(index: DirectoryIndex) -> None:
    assert visible_filter(Principal("admin", "admin"), index) == {}
    mine = [{"participants": "S3"}, {"recorded_by.kind": "staff", "recorded_by.subject": "S3"}]
    assert visible_filter(Principal("staff", "S3"), index) == {"$or": [*mine, {"building_id": {"$in": ["B1"]}}]}
    assert visible_filter(Principal("staff", "S3"), None) == {"$or": mine}


def test_cursor_round_trip_and_foreign_cursors() -> None:
    oid = ObjectId()
    at = to_ms(datetime(2026, 11, 20, 10, 0, 0, 123456, tzinfo=SHANGHAI))
    assert at == datetime(2026, 11, 20, 2, 0, 0, 123000, tzinfo=UTC)
    condition = decode_visit_cursor(encode_visit_cursor({"_id": oid, "visited_at": at}))
    assert condition == {"$or": [{"visited_at": {"$lt": at}}, {"visited_at": at, "_id": {"$lt": oid}}]}
    for foreign in ("!!", "YWJj", encode_visit_cursor({"_id": "x", "visited_at": at})):
        with pytest.raises(RequestValidationError):
            decode_visit_cursor(foreign)
