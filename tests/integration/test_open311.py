"""Open311 GeoReport v2 on the real stack: POST per spec with plain form requests; reads of
requests need an api_key by default (the stack's intake), and public read is on other intake
processes: one showing the default public fields, one whose operator made every field public,
which the `georeport` client (it sends no key on a GET, as the spec has it) reads in JSON and XML."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import requests
import xmltodict
from bson import ObjectId
from georeport import GeoReport

from intake.open311.mapping import DEFAULT_PUBLIC_FIELDS, REQUEST_FIELDS
from tests.support.api import Api
from tests.support.enterprises import put_enterprise
from tests.support.servers import eventually, free_port

FORMATS = ("json", "xml")
CODES = ["fire-safety", "quick", "quick-urgent", "talent"]
FORM = {"service_code": "talent", "attribute[building_id]": "B1", "description": "三名员工申请人才公寓，请协助办理。"}
NASTY = '<script>alert("x")</script> & "引号" \'单引号\' a < b > c &amp; ]]>'


def root(api: Api, base: str | None = None) -> str:
    return f"{base or api.stack.url('intake')}/open311/v2"


def client(base: str, fmt: str) -> GeoReport:
    return GeoReport(f"{base}/open311/v2", output_format=fmt)


def items(value: Any) -> list[dict[str, Any]]:
    """xmltodict gives one element as a dict and several as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def post(api: Api, form: dict[str, str], fmt: str = "json", base: str | None = None) -> httpx.Response:
    return httpx.post(f"{root(api, base)}/requests.{fmt}", data=form, timeout=10)


def create(api: Api, key: str, **changes: str) -> str:
    r = post(api, {**FORM, "api_key": key, **changes})
    assert r.status_code == 201, r.text
    [created] = r.json()
    return str(created["service_request_id"])


def errors(r: httpx.Response, fmt: str = "json") -> list[dict[str, Any]]:
    if fmt == "xml":
        assert r.headers["content-type"].startswith("text/xml")
        return [
            {"code": int(e["code"]), "description": e["description"]}
            for e in items(xmltodict.parse(r.content)["errors"]["error"])
        ]
    return list(r.json())


@pytest.fixture(scope="module")
def key(api: Api) -> str:
    return api.token_for("system", "open311-client")


def replica(api: Api, label: str, env: dict[str, str]) -> Iterator[str]:
    url = api.stack.start_replica("intake", label, env=env)
    try:
        eventually(lambda: httpx.get(f"{url}/readyz").status_code == 200, what=f"{label} ready")
        yield url
    finally:
        api.stack.kill(label)


@pytest.fixture(scope="module")
def public(api: Api) -> Iterator[str]:
    """An intake with public read on and the default public fields."""
    yield from replica(api, "intake-public", {"LOUZHANG_OPEN311_PUBLIC_READ": "1"})


@pytest.fixture(scope="module")
def open_all(api: Api) -> Iterator[str]:
    """An intake whose operator made every field of a request public."""
    env = {"LOUZHANG_OPEN311_PUBLIC_READ": "1", "LOUZHANG_OPEN311_PUBLIC_FIELDS": ",".join(REQUEST_FIELDS)}
    yield from replica(api, "intake-open-all", env)


def test_service_list(api: Api) -> None:
    for fmt in FORMATS:
        services = items(client(api.stack.url("intake"), fmt).get_service_list())
        assert [s["service_code"] for s in services] == CODES
        fire = services[0]
        assert fire["service_name"] == "消防安全隐患"
        assert fire["type"] == "realtime"
        assert fire["metadata"] in (True, "true")
        assert fire["description"] == "类别：未分类；责任部门：未指定"


def test_service_definition(api: Api) -> None:
    for fmt in FORMATS:
        definition = client(api.stack.url("intake"), fmt).get_service_definition("fire-safety")
        assert definition["service_code"] == "fire-safety"
        attributes = definition["attributes"] if fmt == "json" else items(definition["attributes"]["attribute"])
        attribute, enterprise, room, contact = attributes
        assert [a["code"] for a in attributes] == ["building_id", "enterprise_id", "room", "contact_preference"]
        assert [str(a["order"]) for a in attributes] == ["1", "2", "3", "4"]
        optional = (enterprise, room, contact)
        assert [a["datatype"] for a in optional] == ["string", "string", "singlevaluelist"]
        assert all(a["required"] in (False, "false") for a in optional)
        assert [a["description"] for a in optional] == ["企业", "楼层/房间", "联系方式"]
        contact_values = contact["values"] if fmt == "json" else items(contact["values"]["value"])
        assert [v["key"] for v in contact_values] == ["phone", "sms", "email", "none"]
        assert attribute["code"] == "building_id" and attribute["datatype"] == "singlevaluelist"
        assert attribute["required"] in (True, "true") and attribute["variable"] in (True, "true")
        assert attribute["description"] == "楼宇"
        values = attribute["values"] if fmt == "json" else items(attribute["values"]["value"])
        assert values == [{"key": "B1", "name": "一号楼"}, {"key": "B2", "name": "二号楼"}]
        with pytest.raises(requests.HTTPError):
            client(api.stack.url("intake"), fmt).get_service_definition("nope")
        r = httpx.get(f"{root(api)}/services/nope.{fmt}")
        assert r.status_code == 404 and errors(r, fmt) == [{"code": 404, "description": "no service 'nope'"}]


@pytest.mark.parametrize(
    "building",
    [{"attribute[building_id]": "B2"}, {"address_string": "二号楼"}, {"address_string": "B2"}, {"address_id": "B2"}],
)
def test_post_names_the_building_several_ways(api: Api, key: str, building: dict[str, str]) -> None:
    form = {k: v for k, v in FORM.items() if k != "attribute[building_id]"}
    for fmt in FORMATS:
        r = post(api, {**form, **building, "api_key": key, "media_url": "https://example.org/a.jpg"}, fmt)
        assert r.status_code == 201, r.text
        if fmt == "json":
            [created] = r.json()
            assert set(created) == {"service_request_id", "service_notice", "account_id", "follow_url"}
            assert created["account_id"] is None
        else:
            created = xmltodict.parse(r.content)["service_requests"]["request"]
            assert created["account_id"] is None
        issue = api.get("intake", f"/v1/issues/{created['service_request_id']}").json()
        assert issue["building_id"] == "B2" and issue["source"] == "open311"
        assert issue["title"] == FORM["description"][:50] and issue["description"] == FORM["description"]
        assert issue["media_urls"] == ["https://example.org/a.jpg"]


def test_refused_posts_store_and_publish_nothing(api: Api, key: str) -> None:
    db = api.stack.database()

    def counts() -> tuple[int, int]:
        # Not `token.seen`: intake reports each token it verifies first, a second or so later.
        events = {"name": {"$ne": "token.seen"}}
        return db["intake_issues"].count_documents({}), db["intake_outbox"].count_documents(events)

    before = counts()
    staff_key = api.token_for("staff", "S05")
    no_building = {k: v for k, v in FORM.items() if k != "attribute[building_id]"}
    refused = [
        (FORM, 403, "api_key is required"),
        ({**FORM, "api_key": "not-a-token"}, 403, "invalid api_key"),
        ({**FORM, "api_key": staff_key}, 403, "staff token"),
        ({**FORM, "api_key": key, "service_code": "nope"}, 400, "service_code 'nope' is not a known service"),
        ({**no_building, "api_key": key}, 400, "a building is required"),
        ({**no_building, "api_key": key, "address_string": "三号楼"}, 400, "address_string '三号楼'"),
        ({**FORM, "api_key": key, "attribute[building_id]": "B9"}, 400, "attribute[building_id] 'B9'"),
        ({**FORM, "api_key": key, "description": "长" * 4001}, 400, "at most 4000"),
        ({**FORM, "api_key": key, "description": ""}, 400, "description is required"),
        ({**FORM, "api_key": key, "lat": "north", "long": "121"}, 400, "lat 'north' is not a number"),
    ]
    for fmt in FORMATS:
        for form, status, words in refused:
            r = post(api, form, fmt)
            assert r.status_code == status, (form, r.text)
            found = errors(r, fmt)
            assert all(e["code"] == status for e in found), found
            assert any(words in e["description"] for e in found), (words, found)
    r = httpx.post(f"{root(api)}/requests.json", json={**FORM, "api_key": key}, timeout=10)
    assert r.status_code == 400 and "x-www-form-urlencoded" in errors(r)[0]["description"]
    assert counts() == before


def test_posted_request_is_dispatched_then_closed_by_a_rejection(api: Api, key: str, open_all: str) -> None:
    request_id = create(api, key, lat="31.2304", long="121.4737")

    def assigned() -> dict[str, Any] | None:
        issue = api.get("intake", f"/v1/issues/{request_id}").json()
        return issue if issue["status"] == "assigned" else None

    issue = eventually(assigned, what="the posted request assigned")
    assert issue["assignees"] == [{"id": "S06", "name": "测试人员06"}]
    for fmt in FORMATS:
        request = client(open_all, fmt).get_service_request(request_id)
        assert request["service_request_id"] == request_id
        assert request["status"] == "open"
        assert request["service_code"] == "talent" and request["service_name"] == "人才公寓申请"
        assert request["address"] == "一号楼" and request["address_id"] == "B1"
        assert request["description"] == FORM["description"]
        assert request["requested_datetime"].endswith("Z") and request["updated_datetime"].endswith("Z")
        assert datetime.fromisoformat(request["expected_datetime"]) == datetime.fromisoformat(issue["resolve_due"])
        assert float(request["lat"]) == 31.2304 and float(request["long"]) == 121.4737
        assert request["media_url"] is None and request["zipcode"] is None

    r = api.post("routing", f"/v1/workorders/{request_id}/reject", json={"reason": "不属于本楼宇事项"})
    assert r.status_code == 200, r.text
    for fmt in FORMATS:

        def closed(f: str = fmt) -> dict[str, Any] | None:
            request = client(open_all, f).get_service_request(request_id)
            return request if request["status"] == "closed" else None

        assert eventually(closed, what=f"closed in {fmt}")["status_notes"] == "不属于本楼宇事项"


def test_filters(api: Api, key: str, open_all: str) -> None:
    open_id = create(api, key)
    fire_id = create(api, key, service_code="fire-safety")
    closed_id = create(api, key)
    eventually(lambda: api.get("routing", f"/v1/workorders/{closed_id}").status_code == 200, what="dispatched")
    assert api.post("routing", f"/v1/workorders/{closed_id}/reject", json={"reason": "重复"}).status_code == 200
    eventually(lambda: api.get("intake", f"/v1/issues/{closed_id}").json()["status"] == "rejected", what="rejected")
    first = client(open_all, "json").get_service_request(open_id)["requested_datetime"]
    last = client(open_all, "json").get_service_request(closed_id)["requested_datetime"]
    for fmt in FORMATS:
        geo = client(open_all, fmt)

        def ids(**params: str) -> list[str]:
            return [r["service_request_id"] for r in items(geo.get_service_requests(**params))]  # noqa: B023

        everything = ids()
        assert {open_id, fire_id, closed_id} <= set(everything)
        assert everything.index(closed_id) < everything.index(fire_id) < everything.index(open_id)  # newest first
        assert ids(service_request_id=f"{open_id},{closed_id},nope") == [closed_id, open_id]
        talent = ids(service_code="talent", start_date=first)
        assert open_id in talent and closed_id in talent and fire_id not in talent
        assert fire_id in ids(service_code="fire-safety,quick", start_date=first)
        assert ids(status="closed", start_date=first) == [closed_id]
        assert closed_id not in ids(status="open", start_date=first)
        assert set(ids(status="open,closed", start_date=first)) == {open_id, fire_id, closed_id}
        assert ids(start_date=first, end_date=last) == [closed_id, fire_id, open_id]
        assert ids(start_date=first, end_date=first) == [open_id]
        later = (datetime.fromisoformat(last) + timedelta(seconds=1)).isoformat()
        # An empty list is `[]` or `<service_requests />`, which the georeport client cannot read: plain GET.
        empty = httpx.get(f"{root(api)}/requests.{fmt}", params={"start_date": later, "api_key": key})
        assert empty.status_code == 200
        assert (empty.json() if fmt == "json" else xmltodict.parse(empty.content)["service_requests"]) in ([], None)
        shanghai = datetime.fromisoformat(first).astimezone(ZoneInfo("Asia/Shanghai")).isoformat()
        assert open_id in ids(start_date=shanghai)


def test_bad_query_parameters_are_400_arrays(api: Api, key: str) -> None:
    for fmt in FORMATS:
        url = f"{root(api)}/requests.{fmt}"
        for params, words in [
            ({"start_date": "2026-11-01T00:00:00"}, "start_date"),
            ({"start_date": "2026-11-02T00:00:00Z", "end_date": "2026-11-01T00:00:00Z"}, "after end_date"),
            ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-11-01T00:00:00Z"}, "90 days"),
            ({"status": "pending"}, "status 'pending'"),
        ]:
            r = httpx.get(url, params={**params, "api_key": key})
            assert r.status_code == 400, r.text
            [error] = errors(r, fmt)
            assert error["code"] == 400 and words in error["description"]
        for path in ("requests/nope", "requests/0123456789abcdef01234567", "tokens/nope"):
            r = httpx.get(f"{root(api)}/{path}.{fmt}", params={"api_key": key})
            assert r.status_code == 404 and errors(r, fmt)[0]["code"] == 404
    assert httpx.get(f"{root(api)}/services.html").status_code == 404
    assert httpx.get(f"{root(api)}/requests.yaml").json()[0]["code"] == 404


def test_token_is_the_request_id(api: Api, key: str) -> None:
    request_id = create(api, key)
    mine = {"api_key": key}
    assert httpx.get(f"{root(api)}/tokens/{request_id}.json", params=mine).json() == [
        {"service_request_id": request_id, "token": request_id}
    ]
    xml = xmltodict.parse(httpx.get(f"{root(api)}/tokens/{request_id}.xml", params=mine).content)
    assert xml == {"service_requests": {"request": {"service_request_id": request_id, "token": request_id}}}


def test_xml_escaping_round_trips(api: Api, key: str, open_all: str) -> None:
    request_id = create(api, key, description=NASTY)
    raw = httpx.get(f"{root(api)}/requests/{request_id}.xml", params={"api_key": key}).content
    assert b"<script>" not in raw
    assert xmltodict.parse(raw)["service_requests"]["request"]["description"] == NASTY
    for fmt in FORMATS:
        assert client(open_all, fmt).get_service_request(request_id)["description"] == NASTY
    assert api.get("intake", f"/v1/issues/{request_id}").json()["title"] == NASTY[:50]


def test_no_reporter_data_in_get_output(api: Api, key: str, open_all: str) -> None:
    """Not in the caller's own full record, nor where every field is public."""
    person = {"first_name": "明", "last_name": "李", "phone": "13912345678", "email": "li.ming@example.org"}
    request_id = create(api, key, **person)
    stored = api.get("intake", f"/v1/issues/{request_id}").json()["reporter"]
    assert stored == {"name": "李明", "phone": "13912345678", "email": "li.ming@example.org", "enterprise": None}
    for base, params in ((root(api), {"api_key": key}), (root(api, open_all), {})):
        for fmt in FORMATS:
            for path in (f"requests/{request_id}.{fmt}", f"requests.{fmt}", f"tokens/{request_id}.{fmt}"):
                text = httpx.get(f"{base}/{path}", params=params).text
                assert request_id in text, (base, path, text)
                assert "description" in text or path.startswith("tokens"), (base, path, text)  # the full record
                for value in ("李明", "13912345678", "li.ming@example.org", "reporter", "open311-client"):
                    assert value not in text, (base, path, value)


def test_by_default_reads_of_requests_need_a_key_and_show_own_requests(api: Api, key: str) -> None:
    other = api.token_for("system", "open311-other")
    mine, theirs = create(api, key), create(api, other)
    base = root(api)
    for fmt in FORMATS:
        for path in ("requests", f"requests/{mine}", f"tokens/{mine}"):
            r = httpx.get(f"{base}/{path}.{fmt}")
            assert r.status_code == 403, r.text
            assert errors(r, fmt) == [{"code": 403, "description": "api_key is required"}]
            r = httpx.get(f"{base}/{path}.{fmt}", params={"api_key": "bad"})
            assert r.status_code == 403 and errors(r, fmt)[0]["description"].startswith("invalid api_key")
        # The catalogue and the discovery document stay public, key or none.
        for path in ("services", "services/talent", "discovery"):
            assert httpx.get(f"{base}/{path}.{fmt}").status_code == 200
            assert httpx.get(f"{base}/{path}.{fmt}", params={"api_key": "bad"}).status_code == 200

    def ids(token: str) -> set[str]:
        return {r["service_request_id"] for r in httpx.get(f"{base}/requests.json", params={"api_key": token}).json()}

    assert mine in ids(key) and theirs not in ids(key)
    assert theirs in ids(other) and mine not in ids(other)
    assert {mine, theirs} <= ids(api.stack.admin_token)
    assert httpx.get(f"{base}/requests/{theirs}.json", params={"api_key": key}).status_code == 404
    [full] = httpx.get(f"{base}/requests/{mine}.json", params={"api_key": key}).json()
    assert tuple(full) == REQUEST_FIELDS and full["service_request_id"] == mine
    assert full["description"] == FORM["description"]
    assert httpx.get(f"{base}/tokens/{theirs}.xml", params={"api_key": key}).status_code == 404


def test_public_read_shows_only_the_public_fields_and_a_key_its_own_in_full(api: Api, key: str, public: str) -> None:
    other = api.token_for("system", "open311-other")
    secret = "某某公司夜间违规排放，举报人：李明 13912345678"
    person = {"first_name": "明", "last_name": "李", "phone": "13912345678"}
    mine = create(api, key, description=secret, lat="31.2304", long="121.4737", **person)
    base = root(api, public)
    for fmt in FORMATS:
        for path in (f"requests/{mine}.{fmt}", f"requests.{fmt}"):
            r = httpx.get(f"{base}/{path}")
            assert r.status_code == 200, r.text
            assert mine in r.text
            for value in ("某某公司", "李明", "13912345678", "31.2304", "description", "status_notes", "lat"):
                assert value not in r.text, (path, value)
            entries = r.json() if fmt == "json" else items(xmltodict.parse(r.content)["service_requests"]["request"])
            assert entries and all(
                tuple(e) == tuple(f for f in REQUEST_FIELDS if f in DEFAULT_PUBLIC_FIELDS) for e in entries
            )
            [entry] = [e for e in entries if e["service_request_id"] == mine]
            assert entry["status"] == "open" and entry["service_code"] == "talent" and entry["address"] == "一号楼"
        assert httpx.get(f"{base}/tokens/{mine}.{fmt}").status_code == 200
        assert httpx.get(f"{base}/services.{fmt}").status_code == 200
        # A key that is given is checked even though none is needed.
        r = httpx.get(f"{base}/requests.{fmt}", params={"api_key": "bad"})
        assert r.status_code == 403 and errors(r, fmt)[0]["description"].startswith("invalid api_key")

    # With its key a client sees its own request in full, and another's as the public does.
    [own] = httpx.get(f"{base}/requests/{mine}.json", params={"api_key": key}).json()
    assert tuple(own) == REQUEST_FIELDS and own["description"] == secret and float(own["lat"]) == 31.2304
    [foreign] = httpx.get(f"{base}/requests/{mine}.json", params={"api_key": other}).json()
    assert set(foreign) == set(DEFAULT_PUBLIC_FIELDS)
    theirs = create(api, other)
    listed = {e["service_request_id"]: e for e in httpx.get(f"{base}/requests.json", params={"api_key": key}).json()}
    assert listed[mine]["description"] == secret and set(listed[theirs]) == set(DEFAULT_PUBLIC_FIELDS)
    admin = {
        e["service_request_id"]: e
        for e in httpx.get(f"{base}/requests.json", params={"api_key": api.stack.admin_token}).json()
    }
    assert admin[mine]["description"] == secret and "description" in admin[theirs]
    # POST works on the public process as anywhere.
    assert post(api, {**FORM, "api_key": key}, base=public).status_code == 201


def test_an_unknown_public_field_stops_intake_at_startup(api: Api) -> None:
    label = "intake-bad-fields"
    env = {"LOUZHANG_INTAKE_PORT": str(free_port()), "LOUZHANG_OPEN311_PUBLIC_FIELDS": "status,reporter"}
    api.stack._spawn("intake", label, env)
    process = api.stack.processes.pop(label)
    try:
        code = process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
    assert code != 0
    log = api.stack.log(label)
    assert "LOUZHANG_OPEN311_PUBLIC_FIELDS: unknown field 'reporter'" in log, log


def test_one_jurisdiction_is_served_and_any_other_is_the_specs_404(api: Api) -> None:
    key = api.token_for("system", "jurisdiction-client")
    base = root(api)
    for served in (None, "", "putuo"):
        params = {} if served is None else {"jurisdiction_id": served}
        assert httpx.get(f"{base}/services.json", params=params).status_code == 200, served
    expected = [
        {"code": 404, "description": "jurisdiction_id 'beijing' is not served here: this endpoint serves 'putuo'"}
    ]
    assert httpx.get(f"{api.stack.url('intake')}/open311/discovery.json").status_code == 200
    wrong = httpx.get(f"{api.stack.url('intake')}/open311/discovery.json", params={"jurisdiction_id": "beijing"})
    assert (wrong.status_code, wrong.json()) == (404, expected)
    for path in ("services.json", "services/talent.json", "discovery.json"):
        r = httpx.get(f"{base}/{path}", params={"jurisdiction_id": "beijing"})
        assert (r.status_code, r.json()) == (404, expected), path
    r = httpx.get(f"{base}/requests.json", params={"jurisdiction_id": "beijing", "api_key": key})
    assert (r.status_code, r.json()) == (404, expected)
    before = api.stack.database()["intake_issues"].count_documents({})
    r = post(api, {**FORM, "api_key": key, "jurisdiction_id": "beijing"})
    assert (r.status_code, r.json()) == (404, expected)
    assert api.stack.database()["intake_issues"].count_documents({}) == before  # nothing stored
    xml = httpx.get(f"{base}/services.xml", params={"jurisdiction_id": "beijing"})
    assert xml.status_code == 404 and "<code>404</code>" in xml.text
    assert post(api, {**FORM, "api_key": key, "jurisdiction_id": "putuo"}).status_code == 201


def test_a_request_with_only_lat_long_goes_to_the_nearest_building_within_the_radius(api: Api) -> None:
    key = api.token_for("system", "geo-client")
    bare = {k: v for k, v in FORM.items() if k != "attribute[building_id]"}

    def building_of(r: httpx.Response) -> str:
        assert r.status_code == 201, r.text
        issue_id = r.json()[0]["service_request_id"]
        return str(api.get("intake", f"/v1/issues/{issue_id}").json()["building_id"])

    # About 14 m from 一号楼: placed there; its stored location is the request's.
    assert building_of(post(api, {**bare, "api_key": key, "lat": "31.2351", "long": "121.4101"})) == "B1"
    # A building named wins over lat/long.
    named = {**bare, "api_key": key, "lat": "31.2351", "long": "121.4101", "attribute[building_id]": "B2"}
    assert building_of(post(api, named)) == "B2"
    # 2.8 km north of it: refused, naming the nearest building and how far it is.
    far = post(api, {**bare, "api_key": key, "lat": "31.2600", "long": "121.4100"})
    assert far.status_code == 400
    [error] = far.json()
    assert "B1 一号楼" in error["description"] and "2,780 m" in error["description"], error


def test_the_optional_attributes_are_checked_kept_and_shown(api: Api, key: str) -> None:
    here, elsewhere = put_enterprise(api, "B1"), put_enterprise(api, "B2")
    form = {
        **FORM,
        "api_key": key,
        "attribute[enterprise_id]": here,
        "attribute[room]": "12F-1203",
        "attribute[contact_preference]": "sms",
        "phone": "13900000000",
    }
    r = post(api, form, "xml")
    assert r.status_code == 201, r.text
    assert xmltodict.parse(r.content)["service_requests"]["request"]["service_request_id"]
    r = post(api, form)
    assert r.status_code == 201, r.text
    issue_id = r.json()[0]["service_request_id"]
    issue = api.get("intake", f"/v1/issues/{issue_id}").json()
    assert issue["enterprise_id"] == here
    assert issue["title"] == FORM["description"][:50]
    assert issue["description"] == (
        f"{FORM['description']}\n\n（楼层/房间：12F-1203；企业：测试企业 {here}；联系方式：短信）"
    )
    stored = api.stack.database()["intake_issues"].find_one({"_id": ObjectId(issue_id)})
    assert stored is not None
    assert stored["open311_attributes"] == {"enterprise_id": here, "room": "12F-1203", "contact_preference": "sms"}
    # Shown where the issue is shown: the reporter's page (and the workbench's, which shows the same text).
    link = r.json()[0]["follow_url"]
    eventually(
        lambda: "楼层/房间：12F-1203" in httpx.get(link, timeout=10).text, what="the reporter's page shows the room"
    )

    db = api.stack.database()
    before = db["intake_issues"].count_documents({})
    refused = [
        ({"attribute[enterprise_id]": "E-nobody"}, "attribute[enterprise_id] 'E-nobody' is not a known enterprise"),
        (
            {"attribute[enterprise_id]": elsewhere},
            f"attribute[enterprise_id] '{elsewhere}' (测试企业 {elsewhere}) is in building B2, not in B1 一号楼",
        ),
        (
            {"attribute[contact_preference]": "fax"},
            "attribute[contact_preference] 'fax' is not one of phone, sms, email, none",
        ),
    ]
    for fmt in FORMATS:
        for changes, description in refused:
            r = post(api, {**form, **changes}, fmt)
            assert r.status_code == 400, r.text
            assert errors(r, fmt) == [{"code": 400, "description": description}]
    assert db["intake_issues"].count_documents({}) == before
