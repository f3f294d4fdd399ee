"""A GeoReport POST form as an IssueCreate, or a FormError naming what is wrong."""

from __future__ import annotations

import pytest

from intake.open311.mapping import (
    EnterpriseRef,
    FormError,
    details_line,
    form_to_issue,
    full_name,
    parse_form_body,
    title_of,
)
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


# ---- the optional attributes: enterprise, room, contact preference ----------------------------

ENTERPRISES = {"E1": EnterpriseRef("B1", "示例科技有限公司"), "E2": EnterpriseRef("B2", "春之声餐饮")}


def test_attributes_are_kept_and_shown_at_the_end_of_the_description(index: DirectoryIndex) -> None:
    form = {
        **FORM,
        "attribute[enterprise_id]": "E1",
        "attribute[room]": " 12F-1203 ",
        "attribute[contact_preference]": "sms",
        "phone": "13900000000",
        "lat": "31.23",
        "long": "121.47",
    }
    submission = form_to_issue(form, index, enterprises=ENTERPRISES)
    assert submission.attributes == {"enterprise_id": "E1", "room": "12F-1203", "contact_preference": "sms"}
    assert submission.issue.enterprise_id == "E1"
    assert (
        submission.issue.description
        == "消防通道堆物\n\n（楼层/房间：12F-1203；企业：示例科技有限公司；联系方式：短信）"
    )
    assert submission.issue.title == "消防通道堆物"
    assert submission.extra() == {
        "open311": {"lat": 31.23, "long": 121.47},
        "open311_attributes": {"enterprise_id": "E1", "room": "12F-1203", "contact_preference": "sms"},
    }
    # None given (or blank): the description stays as written, nothing extra is kept.
    plain = form_to_issue({**FORM, "attribute[room]": " ", "attribute[enterprise_id]": ""}, index)
    assert plain.attributes == {} and plain.extra() is None and plain.issue.description == "消防通道堆物"
    assert plain.issue.enterprise_id is None


def test_details_line() -> None:
    assert details_line(None, None, None) == ""
    assert details_line("3F", None, "none") == "（楼层/房间：3F；联系方式：无需联系）"


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"attribute[enterprise_id]": "E9"}, "attribute[enterprise_id] 'E9' is not a known enterprise"),
        (
            {"attribute[enterprise_id]": "E2"},
            "attribute[enterprise_id] 'E2' (春之声餐饮) is in building B2, not in B1 电科大厦",
        ),
        (
            {"attribute[contact_preference]": "fax"},
            "attribute[contact_preference] 'fax' is not one of phone, sms, email, none",
        ),
        ({"attribute[contact_preference]": "phone"}, "attribute[contact_preference] phone needs a phone: give phone"),
        (
            {"attribute[contact_preference]": "email"},
            "attribute[contact_preference] email needs an address: give email",
        ),
        ({"attribute[room]": "房" * 101}, "attribute[room] is 101 characters long; at most 100"),
        (
            {"attribute[floor]": "3"},
            "attribute[floor] is not an attribute of the services here: use building_id, enterprise_id, room, "
            "contact_preference",
        ),
    ],
)
def test_bad_attributes_are_named(index: DirectoryIndex, changes: dict[str, str], error: str) -> None:
    with pytest.raises(FormError) as caught:
        form_to_issue({**FORM, **changes}, index, enterprises=ENTERPRISES)
    assert caught.value.descriptions == [error]


def test_the_description_leaves_room_for_the_attributes(index: DirectoryIndex) -> None:
    form = {**FORM, "attribute[room]": "3F", "description": "x" * 4000}
    with pytest.raises(FormError, match=r"description is 4000 characters long; at most 3988 are taken with these"):
        form_to_issue(form, index)
    issue = form_to_issue({**form, "description": "x" * 3988}, index).issue
    assert len(issue.description) == 4000 and issue.description.endswith("（楼层/房间：3F）")
