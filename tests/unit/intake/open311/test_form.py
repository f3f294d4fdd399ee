"""A GeoReport POST form as an IssueCreate, or a FormError naming what is wrong."""

from __future__ import annotations

import pytest

from intake.open311.mapping import FormError, form_to_issue, full_name, parse_form_body, title_of
from kernel.directory import DirectoryIndex

FORM = {"api_key": "k", "service_code": "fire-safety", "attribute[building_id]": "B1", "description": "消防通道堆物"}


def errors_of(form: dict[str, str], index: DirectoryIndex) -> list[str]:
    with pytest.raises(FormError) as caught:
        form_to_issue(form, index)
    assert caught.value.status == 400
    return caught.value.descriptions


def test_minimal_form(index: DirectoryIndex) -> None:
    submission = form_to_issue(FORM, index)
    issue = submission.issue
    assert (issue.building_id, issue.service_code, issue.source) == ("B1", "fire-safety", "open311")
    assert issue.title == issue.description == "消防通道堆物"
    assert issue.reporter is None and issue.media_urls == [] and submission.location is None


def test_full_form(index: DirectoryIndex) -> None:
    form = {
        **FORM,
        "description": "三楼  消防通道\n被杂物堵塞" + "很" * 60,
        "first_name": "女士",
        "last_name": "李",
        "phone": "13900000000",
        "email": "li@example.org",
        "media_url": "https://example.org/a.jpg",
        "lat": "31.23",
        "long": "121.47",
        "device_id": "d1",
        "account_id": "a1",
        "jurisdiction_id": "putuo",
    }
    submission = form_to_issue(form, index)
    issue = submission.issue
    assert issue.description == form["description"]  # kept as given
    assert issue.title == ("三楼 消防通道 被杂物堵塞" + "很" * 60)[:50]
    assert issue.reporter is not None
    assert issue.reporter.model_dump() == {
        "name": "李女士",
        "phone": "13900000000",
        "email": "li@example.org",
        "enterprise": None,
    }
    assert [str(u) for u in issue.media_urls] == ["https://example.org/a.jpg"]
    assert submission.location == {"lat": 31.23, "long": 121.47}


def test_building_by_address_string_name_or_id_and_address_id(index: DirectoryIndex) -> None:
    base = {k: v for k, v in FORM.items() if k != "attribute[building_id]"}
    assert form_to_issue({**base, "address_string": "港鸿大厦"}, index).issue.building_id == "B3"
    assert form_to_issue({**base, "address_string": " B2 "}, index).issue.building_id == "B2"
    assert form_to_issue({**base, "address_id": "B4"}, index).issue.building_id == "B4"
    # The attribute wins over address_string.
    assert form_to_issue({**FORM, "address_string": "港鸿大厦"}, index).issue.building_id == "B1"


def test_names() -> None:
    assert full_name("John", "Smith") == "John Smith"
    assert full_name("明", "李") == "李明"
    assert full_name(None, "李") == "李"
    assert full_name(None, None) is None
    assert title_of("  a\n b ") == "a b"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"service_code": ""}, "service_code is required"),
        ({"service_code": "nope"}, "service_code 'nope' is not a known service"),
        ({"attribute[building_id]": ""}, "a building is required"),
        ({"attribute[building_id]": "B9"}, "attribute[building_id] 'B9' is not a known building"),
        ({"attribute[building_id]": "", "address_string": "某大厦"}, "address_string '某大厦' is no building"),
        ({"attribute[building_id]": "", "address_id": "B9"}, "address_id 'B9'"),
        ({"description": ""}, "description is required"),
        ({"description": "   "}, "description is required"),
        ({"description": "x" * 4001}, "description is 4001 characters long; at most 4000"),
        ({"lat": "north", "long": "1"}, "lat 'north' is not a number"),
        ({"lat": "91", "long": "1"}, "lat must be between -90 and 90"),
        ({"lat": "1", "long": "nan"}, "long must be between -180 and 180"),
        ({"lat": "1"}, "lat and long are given together"),
        ({"email": "nobody"}, "email 'nobody' is not an email address"),
        ({"phone": "1" * 40}, "phone:"),
        ({"first_name": "x" * 60, "last_name": "y" * 60}, "first_name/last_name:"),
        ({"media_url": "not a url"}, "media_url:"),
    ],
)
def test_form_errors(index: DirectoryIndex, changes: dict[str, str], words: str) -> None:
    descriptions = errors_of({**FORM, **changes}, index)
    assert any(words in d for d in descriptions), descriptions


def test_every_problem_is_named_at_once(index: DirectoryIndex) -> None:
    descriptions = errors_of({"api_key": "k"}, index)
    assert len(descriptions) == 3
    assert "service_code is required" in descriptions and "description is required" in descriptions


def test_description_of_exactly_4000_characters_is_taken(index: DirectoryIndex) -> None:
    issue = form_to_issue({**FORM, "description": "x" * 4000}, index).issue
    assert len(issue.description) == 4000 and issue.title == "x" * 50


def test_form_body() -> None:
    body = "api_key=k&attribute%5Bbuilding_id%5D=B1&description=%E6%B6%88%E9%98%B2+%3C%26%3E&description=second"
    form = parse_form_body(body.encode(), "application/x-www-form-urlencoded; charset=UTF-8")
    assert form == {"api_key": "k", "attribute[building_id]": "B1", "description": "消防 <&>"}
    assert parse_form_body(b"", None) == {}
    with pytest.raises(FormError, match="application/x-www-form-urlencoded"):
        parse_form_body(b'{"a": 1}', "application/json")
    with pytest.raises(FormError, match="UTF-8"):
        parse_form_body(b"description=%FF", "application/x-www-form-urlencoded")
