"""The visit body: RFC 3339 times with an offset, kinds, the issue fields' rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from intake.visits.models import VisitCreate

VISIT: dict[str, Any] = {
    "building_id": "B1",
    "visited_at": "2026-11-20T10:00:00+08:00",
    "kind": "visit",
    "issues": [{"service_code": "talent", "title": "人才公寓申请", "description": "三名员工"}],
}


def locs(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    with pytest.raises(ValidationError) as caught:
        VisitCreate.model_validate(body)
    return [e["loc"] for e in caught.value.errors()]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20T10:00:00+08:00", datetime(2026, 11, 20, 2, 0, tzinfo=UTC)),
        ("2026-11-20T02:00:00Z", datetime(2026, 11, 20, 2, 0, tzinfo=UTC)),
        ("2026-11-20t02:00:00.123z", datetime(2026, 11, 20, 2, 0, 0, 123000, tzinfo=UTC)),
        ("2026-11-20 02:00:00.123456789-01:30", datetime(2026, 11, 20, 3, 30, 0, 123456, tzinfo=UTC)),
    ],
)
def test_visited_at_takes_rfc3339_with_an_offset(text: str, expected: datetime) -> None:
    visited_at = VisitCreate.model_validate({**VISIT, "visited_at": text}).visited_at
    assert visited_at == expected and visited_at.utcoffset() is not None


@pytest.mark.parametrize(
    "value",
    ["2026-11-20T10:00:00", "2026-11-20", "2026-11-20T10:00+08:00", "20261120T100000Z", "2026-13-01T00:00:00Z", 0, ""],
)
def test_visited_at_without_offset_or_not_rfc3339_is_refused(value: Any) -> None:
    assert locs({**VISIT, "visited_at": value}) == [("visited_at",)]


def test_an_aware_datetime_is_taken_as_is() -> None:
    when = datetime(2026, 11, 20, 10, tzinfo=timezone(timedelta(hours=8)))
    assert VisitCreate.model_validate({**VISIT, "visited_at": when}).visited_at == when


def test_kinds_and_required_fields() -> None:
    for kind in ("visit", "meeting", "call", "activity"):
        assert VisitCreate.model_validate({**VISIT, "kind": kind}).kind == kind
    assert locs({**VISIT, "kind": "party"}) == [("kind",)]
    assert set(locs({})) == {("building_id",), ("visited_at",), ("kind",)}
    minimal = VisitCreate.model_validate({k: VISIT[k] for k in ("building_id", "visited_at", "kind")})
    assert minimal.issues == [] and minimal.participants == [] and minimal.enterprise_id is None


def test_limits_name_the_field_and_the_issue_index() -> None:
    good = VISIT["issues"][0]
    assert locs({**VISIT, "notes": "记" * 4001}) == [("notes",)]
    assert VisitCreate.model_validate({**VISIT, "notes": "记" * 4000}).notes == "记" * 4000
    assert locs({**VISIT, "issues": [good] * 51}) == [("issues",)]
    assert len(VisitCreate.model_validate({**VISIT, "issues": [good] * 50}).issues) == 50
    assert locs({**VISIT, "issues": [good, good, {**good, "title": "长" * 201}]}) == [("issues", 2, "title")]
    assert locs({**VISIT, "issues": [{**good, "description": ""}]}) == [("issues", 0, "description")]
    assert locs({**VISIT, "issues": [{**good, "media_urls": ["ftp://x.org/a"]}]}) == [("issues", 0, "media_urls", 0)]
    assert locs({**VISIT, "issues": [{**good, "building_id": "B2"}]}) == [("issues", 0, "building_id")]
    assert locs({**VISIT, "participants": ["S1", ""]}) == [("participants", 1)]
    assert locs({**VISIT, "extra": 1}) == [("extra",)]
