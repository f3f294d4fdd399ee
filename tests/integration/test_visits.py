"""Visits (联络走访) on the real stack: a visit and its issues all or nothing, the issues in the normal
loop, intake's copy of the enterprises, who may record and read, listings by building, enterprise,
staff and period."""

from __future__ import annotations

import re
import uuid
from typing import Any

from kernel.enterprises import Enterprise
from tests.support.api import Api
from tests.support.enterprises import publish, put_enterprise
from tests.support.servers import eventually
from tests.support.uscc import new_uscc

ISSUE = {"service_code": "talent", "title": "人才公寓申请", "description": "三名员工申请人才公寓"}


def visit(building_id: str = "B1", **changes: Any) -> dict[str, Any]:
    return {
        "building_id": building_id,
        "visited_at": "2026-01-05T10:00:00+08:00",
        "kind": "visit",
        "notes": "了解用工需求",
        **changes,
    }


def counts(api: Api) -> list[int]:
    """Visits, issues and outbox events that intake holds."""
    db = api.stack.database()
    # Not `token.seen`: intake reports a token it verifies for the first time a second or so later.
    events = {"name": {"$ne": "token.seen"}}
    return [
        db["intake_visits"].count_documents({}),
        db["intake_issues"].count_documents({}),
        db["intake_outbox"].count_documents(events),
    ]


def problems(r: Any) -> list[tuple[list[Any], str]]:
    assert r.status_code == 422, r.text
    return [(e["loc"], e["type"]) for e in r.json()["detail"]]


def test_a_visit_with_issues_puts_them_in_the_loop(api: Api) -> None:
    enterprise = put_enterprise(api, "B1")
    officer = api.as_token(api.token_for("staff", "S06"))
    marker = uuid.uuid4().hex
    body = visit(
        enterprise_id=enterprise,
        participants=["S06", "S05"],
        issues=[
            {**ISSUE, "description": f"人才公寓 {marker}", "reporter": {"name": "王经理", "phone": "13900000000"}},
            {"service_code": "quick", "title": "消防通道堆物", "description": f"三楼消防通道 {marker}"},
        ],
    )
    r = officer.post("intake", "/v1/visits", json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["building_id"] == "B1" and created["enterprise_id"] == enterprise
    assert created["visited_at"] == "2026-01-05T02:00:00Z" and created["kind"] == "visit"
    assert created["participants"] == ["S06", "S05"] and created["notes"] == "了解用工需求"
    assert created["recorded_by"] == {"kind": "staff", "subject": "S06"}
    assert len(created["issue_ids"]) == 2
    assert officer.get("intake", f"/v1/visits/{created['id']}").json() == created

    for issue_id, assignee in zip(created["issue_ids"], ("S06", "S05"), strict=True):
        issue = eventually(
            lambda i=issue_id: (d := api.get("intake", f"/v1/issues/{i}").json())["status"] == "assigned" and d,
            what="the visit's issue is dispatched",
        )
        assert issue["source"] == "visit" and issue["building_id"] == "B1" and issue["enterprise_id"] == enterprise
        assert issue["assignees"][0]["id"] == assignee
    first = api.get("intake", f"/v1/issues/{created['issue_ids'][0]}").json()
    assert first["reporter"]["name"] == "王经理" and first["description"] == f"人才公寓 {marker}"
    listed = api.get("intake", "/v1/issues", params={"source": "visit", "building_id": "B1"}).json()["items"]
    assert set(created["issue_ids"]) <= {i["id"] for i in listed}

    # One visit.recorded and one issue.submitted per issue, all sent.
    outbox = api.stack.database()["intake_outbox"]
    recorded = eventually(
        lambda: outbox.find_one({"name": "visit.recorded", "event.subject": created["id"], "sent": True}),
        what="visit.recorded published",
    )
    event = recorded["event"]
    assert event["type"] == "louzhang.visit.recorded.v1" and event["source"] == "intake"
    assert event["data"] == {
        "id": created["id"],
        "building_id": "B1",
        "enterprise_id": enterprise,
        "visited_at": "2026-01-05T02:00:00Z",
        "kind": "visit",
        "notes": "了解用工需求",
        "participants": ["S06", "S05"],
        "issue_ids": created["issue_ids"],
        "recorded_by": {"kind": "staff", "subject": "S06"},
        "created_at": created["created_at"],
    }
    submitted = outbox.find({"name": "issue.submitted", "event.subject": {"$in": created["issue_ids"]}})
    assert sorted(d["event"]["data"]["source"] for d in submitted) == ["visit", "visit"]


def test_a_visit_without_issues(api: Api) -> None:
    r = api.post("intake", "/v1/visits", json=visit("B2", kind="call", participants=["S07"]))
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["issue_ids"] == [] and created["enterprise_id"] is None
    assert created["recorded_by"] == {"kind": "admin", "subject": "admin"}
    outbox = api.stack.database()["intake_outbox"]
    assert outbox.count_documents({"event.subject": created["id"]}) == 1
    minimal = api.post("intake", "/v1/visits", json={k: visit()[k] for k in ("building_id", "visited_at", "kind")})
    assert minimal.status_code == 201 and minimal.json()["participants"] == []


def test_near_identical_issues_of_one_visit_are_marked_possible_duplicates(api: Api) -> None:
    text = f"二楼茶水间漏水严重，请尽快处理 {uuid.uuid4().hex[:8]}"
    issues = [{**ISSUE, "description": text}, {**ISSUE, "description": text + "。"}, {**ISSUE, "building_id": "x"}]
    assert api.post("intake", "/v1/visits", json=visit(issues=issues)).status_code == 422  # not an issue field
    r = api.post("intake", "/v1/visits", json=visit(issues=issues[:2]))
    assert r.status_code == 201, r.text
    first, second = r.json()["issue_ids"]
    assert api.get("intake", f"/v1/issues/{first}").json()["possible_duplicate_of"] is None
    assert api.get("intake", f"/v1/issues/{second}").json()["possible_duplicate_of"] == first


def test_one_invalid_issue_stores_nothing_at_all(api: Api) -> None:
    enterprise = put_enterprise(api, "B1")
    marker = uuid.uuid4().hex
    good = {**ISSUE, "description": f"好的问题 {marker}"}
    before = counts(api)
    unknown_service = api.post(
        "intake",
        "/v1/visits",
        json=visit(enterprise_id=enterprise, issues=[good, good, {**good, "service_code": "nope"}]),
    )
    assert problems(unknown_service) == [(["body", "issues", 2, "service_code"], "unknown_service")]
    too_long = api.post(
        "intake", "/v1/visits", json=visit(enterprise_id=enterprise, issues=[good, {**good, "title": "长" * 201}])
    )
    assert [loc for loc, _ in problems(too_long)] == [["body", "issues", 1, "title"]]
    # Every problem of the visit at once, the issues' included.
    everything = api.post(
        "intake",
        "/v1/visits",
        json=visit(
            enterprise_id=f"E-missing-{marker[:6]}",
            visited_at="2099-01-01T00:00:00Z",
            participants=["S01", "S99"],
            issues=[{**good, "service_code": "nope"}, good, {**good, "service_code": "gone"}],
        ),
    )
    assert problems(everything) == [
        (["body", "visited_at"], "in_future"),
        (["body", "enterprise_id"], "unknown_enterprise"),
        (["body", "participants", 1], "unknown_staff"),
        (["body", "issues", 0, "service_code"], "unknown_service"),
        (["body", "issues", 2, "service_code"], "unknown_service"),
    ]
    assert counts(api) == before
    db = api.stack.database()
    assert db["intake_issues"].count_documents({"description": good["description"]}) == 0
    assert db["intake_outbox"].count_documents({"event.data.description": good["description"]}) == 0


def test_the_enterprise_must_be_known_and_in_the_building(api: Api) -> None:
    elsewhere = put_enterprise(api, "B2")
    before = counts(api)
    r = api.post("intake", "/v1/visits", json=visit("B1", enterprise_id=elsewhere, issues=[ISSUE]))
    assert problems(r) == [(["body", "enterprise_id"], "enterprise_not_in_building")]
    r = api.post("intake", "/v1/visits", json=visit("B9", enterprise_id=elsewhere))
    assert problems(r) == [(["body", "building_id"], "unknown_building")]
    assert counts(api) == before
    assert api.post("intake", "/v1/visits", json=visit("B2", enterprise_id=elsewhere)).status_code == 201


def test_issues_name_a_known_enterprise_in_their_building(api: Api) -> None:
    enterprise = put_enterprise(api, "B1")
    marker = uuid.uuid4().hex
    body = {"building_id": "B1", **ISSUE, "description": f"企业问题 {marker}"}
    before = counts(api)
    unknown = api.post("intake", "/v1/issues", json={**body, "enterprise_id": f"E-nope-{marker[:6]}"})
    assert problems(unknown) == [(["body", "enterprise_id"], "unknown_enterprise")]
    misplaced = api.post("intake", "/v1/issues", json={**body, "building_id": "B2", "enterprise_id": enterprise})
    assert problems(misplaced) == [(["body", "enterprise_id"], "enterprise_not_in_building")]
    everything = api.post(
        "intake",
        "/v1/issues",
        json={**body, "building_id": "B9", "service_code": "nope", "enterprise_id": f"E-nope-{marker[:6]}"},
    )
    assert [t for _, t in problems(everything)] == ["unknown_building", "unknown_enterprise", "unknown_service"]
    assert counts(api) == before
    assert api.stack.database()["intake_issues"].count_documents({"description": body["description"]}) == 0
    r = api.post("intake", "/v1/issues", json={**body, "enterprise_id": enterprise})
    assert r.status_code == 201 and r.json()["enterprise_id"] == enterprise


def consumed(api: Api) -> float:
    """Events intake's enterprises queue has handled (from its /metrics)."""
    text = api.get("intake", "/metrics").text
    pattern = r'louzhang_events_consumed_total\{outcome="ok",queue="louzhang.intake.enterprises"\} (\S+)'
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


def test_the_newest_enterprise_version_wins_whatever_the_order(api: Api) -> None:
    enterprise = put_enterprise(api, "B2", version=2)
    held = api.stack.database()["intake_enterprises"]
    stale = Enterprise(id=enterprise, name="旧名称", building_id="B1", uscc=new_uscc())
    publish(api, stale, 1)  # an older version arriving late
    put_enterprise(api, "B1", enterprise_id=enterprise, version=3)
    kept = held.find_one({"_id": enterprise})
    # The same version again with other content, and the old one once more, change nothing.
    handled = consumed(api)
    publish(api, stale.model_copy(update={"building_id": "B2"}), 3)
    publish(api, stale.model_copy(update={"building_id": "B2"}), 1)
    eventually(lambda: consumed(api) >= handled + 2, what="both repeats handled")
    assert held.find_one({"_id": enterprise}) == kept
    assert kept["version"] == 3 and kept["building_id"] == "B1"
    assert api.post("intake", "/v1/visits", json=visit("B1", enterprise_id=enterprise)).status_code == 201
    r = api.post("intake", "/v1/visits", json=visit("B2", enterprise_id=enterprise))
    assert problems(r) == [(["body", "enterprise_id"], "enterprise_not_in_building")]


def test_who_may_record_visits(api: Api) -> None:
    outsider = api.as_token(api.token_for("staff", "S03"))  # heads cbd: B2 only
    system = api.as_token(api.token_for("system", "hotline"))
    before = counts(api)
    assert outsider.post("intake", "/v1/visits", json=visit("B1")).status_code == 403
    # 403 comes before 422: an invalid body outside the scope is still a 403.
    assert outsider.post("intake", "/v1/visits", json=visit("B1", kind="party")).status_code == 403
    assert system.post("intake", "/v1/visits", json=visit("B2")).status_code == 403
    assert api.as_token("").post("intake", "/v1/visits", json=visit("B2")).status_code == 401
    assert counts(api) == before
    assert outsider.post("intake", "/v1/visits", json=visit("B2")).status_code == 201
    # A node head records in every building below the node.
    park = api.as_token(api.token_for("staff", "S02"))
    assert park.post("intake", "/v1/visits", json=visit("B1")).status_code == 201
    assert system.get("intake", "/v1/visits").status_code == 403


def ids(api: Api, **params: Any) -> list[str]:
    """Every visit id matching the filter, walked page by page (limit 2)."""
    found: list[str] = []
    cursor = None
    while True:
        r = api.get("intake", "/v1/visits", params={**params, "limit": 2, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        found += [v["id"] for v in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return found


def test_listing_by_building_enterprise_staff_and_period(api: Api) -> None:
    one, two = put_enterprise(api, "B2"), put_enterprise(api, "B2")
    head = api.as_token(api.token_for("staff", "S07"))

    def record(client: Api, when: str, enterprise: str, participants: list[str]) -> str:
        body = visit("B2", enterprise_id=enterprise, visited_at=when, participants=participants, kind="meeting")
        r = client.post("intake", "/v1/visits", json=body)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    # Recorded out of order; two at the same moment.
    late = record(head, "2020-03-02T00:30:00+08:00", one, ["S07"])
    early = record(api, "2020-03-01T23:30:00+08:00", one, ["S08", "S02"])
    tie_a = record(head, "2020-03-05T12:00:00+08:00", one, [])
    tie_b = record(api, "2020-03-05T04:00:00Z", one, ["S08"])
    other = record(api, "2020-03-03T09:00:00+08:00", two, ["S08"])

    newest_first = [tie_b, tie_a, other, late, early]
    assert ids(api, building_id="B2", **{"from": "2020-03-01", "to": "2020-03-06"}) == newest_first
    assert ids(api, enterprise_id=one) == [tie_b, tie_a, late, early]
    assert ids(api, enterprise_id=two) == [other]
    # A bare date is 00:00 in Shanghai: 23:30 the day before is out, 00:30 is in.
    assert ids(api, enterprise_id=one, **{"from": "2020-03-02", "to": "2020-03-05"}) == [late]
    assert ids(api, enterprise_id=one, **{"to": "2020-03-02T00:30:00+08:00"}) == [early]
    # By staff: taken part in, or recorded.
    assert ids(api, building_id="B2", staff_id="S08", **{"from": "2020-03-01", "to": "2020-03-06"}) == [
        tie_b,
        other,
        early,
    ]
    assert ids(api, enterprise_id=one, staff_id="S07") == [tie_a, late]
    assert ids(api, enterprise_id=one, staff_id="S01") == []

    # Staff see visits in their scope, and those they took part in.
    cbd = api.as_token(api.token_for("staff", "S03"))
    assert ids(cbd, enterprise_id=one) == [tie_b, tie_a, late, early]
    park = api.as_token(api.token_for("staff", "S02"))  # heads park (B1): only the visit they joined
    assert ids(park, enterprise_id=one) == [early]
    assert park.get("intake", f"/v1/visits/{early}").status_code == 200
    assert park.get("intake", f"/v1/visits/{late}").status_code == 404
    assert api.get("intake", "/v1/visits/ffffffffffffffffffffffff").status_code == 404
    assert api.get("intake", "/v1/visits/not-an-id").status_code == 404

    for params in ({"from": "2020-03-02", "to": "2020-03-01"}, {"from": "2020-03-02T00:00:00"}, {"cursor": "nope!"}):
        assert api.get("intake", "/v1/visits", params=params).status_code == 422, params
    assert api.get("intake", "/v1/visits", params={"limit": 501}).status_code == 422
