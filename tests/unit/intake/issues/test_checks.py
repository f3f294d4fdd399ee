"""An issue against the directory and intake's copy of the enterprises: every problem at once."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError

from intake.issues.models import IssueCreate
from intake.issues.service import check_against_directory, directory_problems, under
from kernel.directory import DirectoryIndex

ISSUE = {"building_id": "B1", "service_code": "talent", "title": "t", "description": "d"}


def found(index: DirectoryIndex, enterprise_building: str | None, **changes: Any) -> list[tuple[list[Any], str]]:
    body = IssueCreate.model_validate({**ISSUE, **changes})
    return [(p["loc"], p["type"]) for p in directory_problems(body, index, enterprise_building)]


def test_a_known_enterprise_in_the_building_passes(index: DirectoryIndex) -> None:
    assert found(index, "B1", enterprise_id="E1") == []
    assert found(index, None) == []  # no enterprise named: nothing to look up


def test_unknown_or_misplaced_enterprise(index: DirectoryIndex) -> None:
    assert found(index, None, enterprise_id="E1") == [(["enterprise_id"], "unknown_enterprise")]
    assert found(index, "B2", enterprise_id="E1") == [(["enterprise_id"], "enterprise_not_in_building")]


def test_every_problem_at_once(index: DirectoryIndex) -> None:
    assert found(index, None, building_id="B9", service_code="nope", enterprise_id="E1") == [
        (["building_id"], "unknown_building"),
        (["enterprise_id"], "unknown_enterprise"),
        (["service_code"], "unknown_service"),
    ]
    body = IssueCreate.model_validate({**ISSUE, "building_id": "B9", "enterprise_id": "E1"})
    with pytest.raises(RequestValidationError) as caught:
        check_against_directory(body, index, enterprise_building="B1")
    assert [e["loc"] for e in caught.value.errors()] == [["body", "building_id"]]


def test_under_prefixes_locs() -> None:
    problems = [{"loc": ["service_code"], "msg": "m", "type": "t"}]
    assert under(["body", "issues", 2], problems) == [
        {"loc": ["body", "issues", 2, "service_code"], "msg": "m", "type": "t"}
    ]
