"""Intake: feedback (回访) with routing's side, Idempotency-Key, possible duplicates, careful input."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.support.api import Api
from tests.support.servers import eventually

ISSUE = {"building_id": "B1", "service_code": "talent", "title": "人才公寓申请", "description": "三名员工申请人才公寓"}


def issue(api: Api, issue_id: str) -> dict[str, Any]:
    return dict(api.get("intake", f"/v1/issues/{issue_id}").json())


def resolved_issue(api: Api, client: Api, **changes: Any) -> str:
    """An issue submitted by `client`, acknowledged and resolved by its officer S06."""
    r = client.post("intake", "/v1/issues", json={**ISSUE, "description": uuid.uuid4().hex, **changes})
    assert r.status_code == 201, r.text
    issue_id = str(r.json()["id"])
    eventually(lambda: issue(api, issue_id)["status"] == "assigned", what="assigned")
    officer = api.as_token(api.token_for("staff", "S06"))
    for action, body in (("acknowledge", {}), ("resolve", {"note": "已安排"})):
        assert officer.post("routing", f"/v1/workorders/{issue_id}/{action}", json=body).status_code == 200
    eventually(lambda: issue(api, issue_id)["status"] == "resolved", what="resolved in intake")
    return issue_id


def test_satisfied_feedback_closes_the_issue_and_is_counted(api: Api) -> None:
    client = api.as_token(api.token_for("system", "mini-program"))
    issue_id = resolved_issue(api, client)
    before = api.get("reporting", "/v1/reports/summary").json()
    r = client.post("intake", f"/v1/issues/{issue_id}/feedback", json={"satisfaction": "basically_satisfied"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed" and r.json()["feedback"]["satisfaction"] == "basically_satisfied"
    order = eventually(
        lambda: (o := api.get("routing", f"/v1/workorders/{issue_id}").json())["status"] == "closed" and o,
        what="routing closes the work order",
    )
    assert order["timeline"][-1]["type"] == "closed" and order["timeline"][-1]["actor"] == "mini-program"
    summary = eventually(
        lambda: (s := api.get("reporting", "/v1/reports/summary").json())["feedback"] == before["feedback"] + 1 and s,
        what="reporting counts the feedback",
    )
    assert summary["basically_satisfied"] == before["basically_satisfied"] + 1
    assert (
        client.post("intake", f"/v1/issues/{issue_id}/feedback", json={"satisfaction": "satisfied"}).status_code == 409
    )


def test_dissatisfied_feedback_reopens_the_work_order(api: Api) -> None:
    issue_id = resolved_issue(api, api)
    r = api.post(
        "intake", f"/v1/issues/{issue_id}/feedback", json={"satisfaction": "dissatisfied", "comment": "未解决"}
    )
    assert r.status_code == 200
    assert r.json()["status"] == "in_progress" and r.json()["reopened"] == 1
    order = eventually(
        lambda: (o := api.get("routing", f"/v1/workorders/{issue_id}").json())["status"] == "in_progress" and o,
        what="routing reopens",
    )
    assert order["reopened"] == 1 and order["timeline"][-1]["note"] == "未解决"
    assert eventually(lambda: "issue.reopened" in inbox(api, "S06", issue_id))
    # The reopened work order can be resolved again and does not auto-close underneath a second round.
    officer = api.as_token(api.token_for("staff", "S06"))
    assert officer.post("routing", f"/v1/workorders/{issue_id}/resolve", json={"note": "再次办结"}).status_code == 200
    eventually(lambda: issue(api, issue_id)["reopened"] == 1 and issue(api, issue_id)["status"] == "resolved")


def inbox(api: Api, staff_id: str, issue_id: str) -> list[str]:
    items = api.get("notify", "/v1/inbox", params={"staff_id": staff_id, "limit": 500}).json()["items"]
    return [i["event"] for i in items if i["issue_id"] == issue_id]


def test_feedback_refusals_in_the_contract_order(api: Api) -> None:
    owner = api.as_token(api.token_for("system", "owner"))
    other = api.as_token(api.token_for("system", "other"))
    issue_id = resolved_issue(api, owner)
    path = f"/v1/issues/{issue_id}/feedback"
    assert api.as_token("").post("intake", path, json={"satisfaction": "satisfied"}).status_code == 401
    assert other.post("intake", path, json={"satisfaction": "satisfied"}).status_code == 404
    assert owner.post("intake", "/v1/issues/ffffffffffffffffffffffff/feedback", json={}).status_code == 404
    outsider = api.as_token(api.token_for("staff", "S03"))  # can see nothing in B1
    assert outsider.post("intake", path, json={"satisfaction": "satisfied"}).status_code == 404
    bad = owner.post("intake", path, json={"satisfaction": "great"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "satisfaction"]
    fresh = owner.post("intake", "/v1/issues", json=ISSUE).json()["id"]
    assert owner.post("intake", f"/v1/issues/{fresh}/feedback", json={"satisfaction": "satisfied"}).status_code == 409
    head = api.as_token(api.token_for("staff", "S04"))
    assert head.post("intake", path, json={"satisfaction": "satisfied"}).status_code == 200


def test_idempotency_key_gives_the_same_issue_once(api: Api) -> None:
    client = api.as_token(api.token_for("system", f"retrying-{uuid.uuid4().hex[:6]}"))
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = {**ISSUE, "description": uuid.uuid4().hex}
    first = client.post("intake", "/v1/issues", json=body, headers=key)
    assert first.status_code == 201
    reordered = dict(reversed(list(body.items())))  # the same body as canonical JSON
    again = client.post("intake", "/v1/issues", json=reordered, headers=key)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    other = client.post("intake", "/v1/issues", json={**body, "title": "另一个"}, headers=key)
    assert other.status_code == 409 and "another body" in other.json()["detail"]
    db = api.stack.database()
    assert db["intake_issues"].count_documents({"description": body["description"]}) == 1
    assert db["intake_outbox"].count_documents({"event.data.description": body["description"]}) == 1
    # Per token subject: another client's identical key is its own.
    stranger = api.as_token(api.token_for("system", f"stranger-{uuid.uuid4().hex[:6]}"))
    assert stranger.post("intake", "/v1/issues", json=body, headers=key).json()["id"] != first.json()["id"]
    assert client.post("intake", "/v1/issues", json=body, headers={"Idempotency-Key": "bad key"}).status_code == 422


def test_refused_submission_with_a_key_releases_it(api: Api) -> None:
    key = {"Idempotency-Key": uuid.uuid4().hex}
    refused = api.post("intake", "/v1/issues", json={**ISSUE, "building_id": "NOPE"}, headers=key)
    assert refused.status_code == 422
    fixed = api.post("intake", "/v1/issues", json={**ISSUE, "building_id": "B2"}, headers=key)
    assert fixed.status_code == 201


def test_idempotency_key_in_flight_is_409(api: Api) -> None:
    key = uuid.uuid4().hex
    db = api.stack.database()
    from datetime import UTC, datetime

    db["intake_idempotency"].insert_one(
        {"_id": f"admin:admin:{key}", "digest": "x", "state": "pending", "created_at": datetime.now(UTC)}
    )
    r = api.post("intake", "/v1/issues", json=ISSUE, headers={"Idempotency-Key": key})
    assert r.status_code == 409


def test_near_identical_issue_is_marked_possible_duplicate(api: Api) -> None:
    text = f"二楼茶水间漏水严重，请尽快处理 {uuid.uuid4().hex[:8]}"
    first = api.post("intake", "/v1/issues", json={**ISSUE, "description": text}).json()
    second = api.post("intake", "/v1/issues", json={**ISSUE, "description": text.replace("，", ", ") + "。"}).json()
    assert second["possible_duplicate_of"] == first["id"]
    elsewhere = api.post("intake", "/v1/issues", json={**ISSUE, "building_id": "B2", "description": text}).json()
    assert elsewhere["possible_duplicate_of"] is None
    different = api.post("intake", "/v1/issues", json={**ISSUE, "description": "完全不同的问题描述：停车位申请"}).json()
    assert different["possible_duplicate_of"] is None
    order = eventually(lambda: api.get("routing", f"/v1/workorders/{second['id']}").json(), what="dispatched")
    assert order["possible_duplicate_of"] == first["id"]


def test_near_identical_issues_submitted_at_once_are_linked_one_to_the_other(api: Api) -> None:
    text = f"电梯按钮失灵，三号梯 {uuid.uuid4().hex[:8]}"
    body = {**ISSUE, "description": text}

    def post(_: int) -> dict[str, Any]:
        r = api.post("intake", "/v1/issues", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    # Concurrent requests share a transaction, and the later of two near-identical ones in it
    # is linked to the earlier, as if they had come one after the other.
    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(post, range(8)))
    ids = {c["id"] for c in created}
    originals = [c for c in created if c["possible_duplicate_of"] is None]
    assert len(originals) == 1, [c["possible_duplicate_of"] for c in created]
    assert all(c["possible_duplicate_of"] in ids - {c["id"]} for c in created if c is not originals[0])


def test_input_is_kept_as_given_and_limits_name_the_field(api: Api) -> None:
    tricky = "<script>alert('x')</script> & \"引号\" 😀"
    created = api.post("intake", "/v1/issues", json={**ISSUE, "title": tricky, "description": tricky}).json()
    assert issue(api, created["id"])["title"] == tricky
    for field, value in (
        ("description", "长" * 4001),
        ("external_id", "x" * 129),
        ("media_urls", ["ftp://example.org/a.jpg"]),
        ("callback_url", "not a url"),
        ("reporter", {"name": "名" * 101}),
        ("source", ""),
        ("unknown_field", 1),
    ):
        r = api.post("intake", "/v1/issues", json={**ISSUE, field: value})
        assert r.status_code == 422, (field, r.text)
        assert r.json()["detail"][0]["loc"][:2] == ["body", field], r.text
    own = api.post("intake", "/v1/issues", json={**ISSUE, "callback_url": f"{api.stack.url('notify')}/v1/inbox"})
    assert own.status_code == 422 and own.json()["detail"][0]["loc"] == ["body", "callback_url"]
    not_utf8 = httpx.post(
        f"{api.stack.url('intake')}/v1/issues",
        content=b'{"building_id": "B1", "service_code": "talent", "title": "\xff", "description": "d"}',
        headers={**api.headers(), "Content-Type": "application/json"},
    )
    assert not_utf8.status_code == 422 and "UTF-8" in not_utf8.text
