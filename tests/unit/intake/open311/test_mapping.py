"""Issue documents and the directory as GeoReport v2 values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from bson import ObjectId

from intake.open311.mapping import (
    DEFAULT_PUBLIC_FIELDS,
    REQUEST_FIELDS,
    BadRequest,
    created_entry,
    parse_public_fields,
    parse_query,
    public_entry,
    query_filter,
    request_entry,
    rfc3339,
    service_definition,
    service_entry,
    status_of,
    token_entry,
)
from kernel.directory import Directory, DirectoryIndex

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
OID = ObjectId.from_datetime(NOW)


def issue(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": OID,
        "status": "assigned",
        "building_id": "B1",
        "service_code": "fire-safety",
        "title": "消防通道堆物",
        "description": "三楼消防通道被杂物堵塞",
        "reporter": {"name": "李女士", "phone": "13900000000", "email": "li@example.org", "enterprise": "某公司"},
        "media_urls": ["https://example.org/a.jpg", "https://example.org/b.jpg"],
        "created_at": NOW,
        "submitted_by": {"kind": "system", "subject": "hotline"},
        "resolve_due": NOW + timedelta(hours=24),
        "timeline": [
            {"type": "assigned", "time": NOW + timedelta(seconds=3), "actor": "system", "note": "派给 员工6"},
            {"type": "submitted", "time": NOW, "actor": "hotline", "note": None},
        ],
    }
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("received", "open"),
        ("assigned", "open"),
        ("acknowledged", "open"),
        ("in_progress", "open"),
        ("resolved", "open"),
        ("closed", "closed"),
        ("rejected", "closed"),
    ],
)
def test_status_mapping(status: str, expected: str) -> None:
    assert status_of(status) == expected


def test_times_are_utc_with_z() -> None:
    shanghai = datetime(2026, 11, 20, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert rfc3339(shanghai) == "2026-11-20T10:00:00Z"
    assert rfc3339(datetime(2026, 11, 20, 2, 0, 0, 123000, tzinfo=UTC)) == "2026-11-20T02:00:00.123Z"
    assert rfc3339(datetime(2026, 11, 20, 2, 0)) == "2026-11-20T02:00:00Z"  # naive from MongoDB: UTC
    assert rfc3339(None) is None


def test_request_entry_fields(index: DirectoryIndex) -> None:
    entry = request_entry(issue(), index)
    assert entry == {
        "service_request_id": str(OID),
        "status": "open",
        "status_notes": "派给 员工6",
        "service_name": "消防安全隐患",
        "service_code": "fire-safety",
        "description": "三楼消防通道被杂物堵塞",
        "agency_responsible": None,
        "service_notice": None,
        "requested_datetime": "2026-11-20T02:00:00Z",
        "updated_datetime": "2026-11-20T02:00:03Z",
        "expected_datetime": "2026-11-21T02:00:00Z",
        "address": "电科大厦",
        "address_id": "B1",
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": "https://example.org/a.jpg",
    }


def test_request_entry_has_no_personal_data(index: DirectoryIndex) -> None:
    text = repr(request_entry(issue(), index))
    for secret in ("李女士", "13900000000", "li@example.org", "某公司", "hotline", "reporter", "submitted_by"):
        assert secret not in text


def test_request_fields_are_the_entry_keys_in_order(index: DirectoryIndex) -> None:
    assert tuple(request_entry(issue(), index)) == REQUEST_FIELDS
    assert set(DEFAULT_PUBLIC_FIELDS) <= set(REQUEST_FIELDS)


def test_public_entry_shows_only_the_chosen_fields_in_the_records_order(index: DirectoryIndex) -> None:
    full = request_entry(issue(), index)
    public = public_entry(full, DEFAULT_PUBLIC_FIELDS)
    assert list(public) == [
        "service_request_id",
        "status",
        "service_name",
        "service_code",
        "requested_datetime",
        "updated_datetime",
        "address",
    ]
    assert public["address"] == full["address"] and public["status"] == "open"
    assert "description" not in public and "status_notes" not in public and "lat" not in public
    assert public_entry(full, ("description", "status")) == {"status": "open", "description": full["description"]}


def test_public_fields_parse_and_refuse_unknown_names() -> None:
    assert parse_public_fields(" status, description ,status,,") == ("status", "description")
    assert parse_public_fields(",".join(DEFAULT_PUBLIC_FIELDS)) == DEFAULT_PUBLIC_FIELDS
    with pytest.raises(ValueError, match="LOUZHANG_OPEN311_PUBLIC_FIELDS: unknown field 'reporter', 'phone'"):
        parse_public_fields("status,reporter,phone")
    with pytest.raises(ValueError, match="names no field"):
        parse_public_fields(" , ")


def test_request_entry_closed_rejected_and_bare(index: DirectoryIndex) -> None:
    rejected = request_entry(issue(status="rejected", media_urls=[], resolve_due=None, timeline=[]), index)
    assert rejected["status"] == "closed"
    assert rejected["media_url"] is None and rejected["expected_datetime"] is None
    assert rejected["status_notes"] is None and rejected["updated_datetime"] == rejected["requested_datetime"]
    located = request_entry(issue(open311={"lat": 31.2, "long": 121.4}), index)
    assert (located["lat"], located["long"]) == (31.2, 121.4)


def test_request_entry_survives_a_directory_without_the_building_or_service() -> None:
    entry = request_entry(issue(building_id="GONE", service_code="gone"), None)
    assert entry["address"] == "GONE" and entry["service_name"] == "gone" and entry["agency_responsible"] is None


def test_service_entry_and_definition(doc: dict[str, Any]) -> None:
    doc["services"][0].update(group="安全", department="区消防救援支队")
    index = DirectoryIndex(Directory.model_validate(doc))
    entry = service_entry(index.services["fire-safety"])
    assert entry == {
        "service_code": "fire-safety",
        "service_name": "消防安全隐患",
        "description": "类别：安全；责任部门：区消防救援支队",
        "metadata": True,
        "type": "realtime",
        "keywords": "安全, 区消防救援支队, 紧急",
        "group": "安全",
    }
    assert service_entry(index.services["talent"])["description"] == "类别：未分类；责任部门：未指定"
    definition = service_definition(index.services["talent"], index)
    assert definition["service_code"] == "talent"
    attribute, enterprise, room, contact = definition["attributes"]
    shape = ("variable", "code", "datatype", "required", "order", "description")
    assert [{k: a[k] for k in shape} for a in definition["attributes"]] == [
        {
            "variable": True,
            "code": "building_id",
            "datatype": "singlevaluelist",
            "required": True,
            "order": 1,
            "description": "楼宇",
        },
        {
            "variable": True,
            "code": "enterprise_id",
            "datatype": "string",
            "required": False,
            "order": 2,
            "description": "企业",
        },
        {
            "variable": True,
            "code": "room",
            "datatype": "string",
            "required": False,
            "order": 3,
            "description": "楼层/房间",
        },
        {
            "variable": True,
            "code": "contact_preference",
            "datatype": "singlevaluelist",
            "required": False,
            "order": 4,
            "description": "联系方式",
        },
    ]
    assert all(a["datatype_description"] for a in definition["attributes"])
    assert "values" not in enterprise and "values" not in room  # string attributes: no list
    assert contact["values"] == [
        {"key": "phone", "name": "电话"},
        {"key": "sms", "name": "短信"},
        {"key": "email", "name": "邮件"},
        {"key": "none", "name": "无需联系"},
    ]
    assert attribute["values"] == [
        {"key": "B1", "name": "电科大厦"},
        {"key": "B2", "name": "春之声大厦"},
        {"key": "B3", "name": "港鸿大厦"},
        {"key": "B4", "name": "天汇广场"},
    ]


def test_created_and_token_entries() -> None:
    created = created_entry(issue())
    assert created["service_request_id"] == str(OID) and created["account_id"] is None and created["service_notice"]
    assert token_entry(issue()) == {"service_request_id": str(OID), "token": str(OID)}


# ---- GET requests parameters ----------------------------------------------------


def test_query_defaults_to_the_last_90_days() -> None:
    query = parse_query({}, NOW)
    assert query.start == NOW - timedelta(days=90) and query.end is None
    found = query_filter(query)
    assert found["created_at"] == {"$gte": NOW - timedelta(days=90)}
    assert found["_id"]["$gte"].generation_time <= NOW - timedelta(days=90)
    assert "status" not in found and "service_code" not in found


def test_query_ids_override_everything() -> None:
    params = {"service_request_id": [f"{OID},nonsense", str(OID)], "status": ["bogus"], "start_date": ["x"]}
    query = parse_query(params, NOW)
    assert query.ids == [str(OID), "nonsense"]
    assert query_filter(query) == {"_id": {"$in": [OID]}}


def test_query_lists_and_statuses() -> None:
    query = parse_query({"service_code": ["a,b", "c"], "status": ["open"]}, NOW)
    found = query_filter(query)
    assert found["service_code"] == {"$in": ["a", "b", "c"]}
    assert found["status"] == {"$nin": ["closed", "rejected"]}
    assert query_filter(parse_query({"status": ["closed"]}, NOW))["status"] == {"$in": ["closed", "rejected"]}
    assert "status" not in query_filter(parse_query({"status": ["open,closed"]}, NOW))


def test_query_dates() -> None:
    query = parse_query({"start_date": ["2026-11-01T00:00:00Z"], "end_date": ["2026-11-20T10:00:00+08:00"]}, NOW)
    assert query.start == datetime(2026, 11, 1, tzinfo=UTC) and query.end == NOW
    found = query_filter(query)
    assert found["created_at"] == {"$gte": query.start, "$lte": NOW}
    # The id range is wider than the time range, never narrower.
    assert found["_id"]["$gte"].generation_time <= query.start
    assert found["_id"]["$lt"].generation_time > NOW
    alone = parse_query({"start_date": ["2026-11-01T00:00:00Z"]}, NOW)
    assert alone.end == datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=90)
    alone = parse_query({"end_date": ["2026-11-20T00:00:00Z"]}, NOW)
    assert alone.start == datetime(2026, 11, 20, tzinfo=UTC) - timedelta(days=90)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"start_date": ["2026-11-01T00:00:00"]}, "start_date '2026-11-01T00:00:00' is not a W3C"),
        ({"end_date": ["yesterday"]}, "end_date 'yesterday' is not a W3C"),
        ({"start_date": ["2026-11-10T00:00:00Z"], "end_date": ["2026-11-01T00:00:00Z"]}, "after end_date"),
        ({"start_date": ["2026-01-01T00:00:00Z"], "end_date": ["2026-11-01T00:00:00Z"]}, "more than 90 days"),
        ({"status": ["pending"]}, "status 'pending'"),
        ({"service_request_id": [",".join(str(i) for i in range(1001))]}, "at most 1000"),
    ],
)
def test_query_errors(params: dict[str, list[str]], words: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_query(params, NOW)
    assert caught.value.status == 400
    assert any(words in d for d in caught.value.descriptions), caught.value.descriptions
