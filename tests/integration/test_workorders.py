"""Dispatch, escalation up the grid, overdue, staff actions and their refusals,
on the real stack with second-scale SLAs (see tests/support/directory.py)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from tests.support.api import Api
from tests.support.broker import publish_raw
from tests.support.servers import eventually

# B1: safety officer S05; heads S04; grid node park (S02) under town (S01).
CHAIN = [["S05"], ["S04"], ["S02"], ["S01"]]


def submit(api: Api, service_code: str = "quick", building_id: str = "B1") -> str:
    r = api.post(
        "intake",
        "/v1/issues",
        json={"building_id": building_id, "service_code": service_code, "title": "测试工单", "description": "描述"},
    )
    assert r.status_code == 201, r.text
    issue_id = str(r.json()["id"])
    eventually(lambda: api.get("routing", f"/v1/workorders/{issue_id}").status_code == 200, what="dispatched")
    return issue_id


def order(api: Api, issue_id: str) -> dict[str, Any]:
    return dict(api.get("routing", f"/v1/workorders/{issue_id}").json())


def inbox_events(api: Api, staff_id: str, issue_id: str) -> list[str]:
    items = api.get("notify", "/v1/inbox", params={"staff_id": staff_id, "limit": 500}).json()["items"]
    return sorted(i["event"] for i in items if i["issue_id"] == issue_id)


def staff(api: Api, staff_id: str) -> Api:
    return api.as_token(api.token_for("staff", staff_id))


def test_unacknowledged_work_order_climbs_the_grid_level_by_level_then_is_marked(api: Api) -> None:
    issue_id = submit(api)
    assert order(api, issue_id)["chain"] == CHAIN
    final = eventually(
        lambda: (o := order(api, issue_id))["acknowledge_overdue"] and o, timeout=20, what="top reached and marked"
    )
    assert final["escalation_level"] == 3
    escalations = [e for e in final["timeline"] if e["type"] == "escalated"]
    assert len(escalations) == 4  # to levels 1, 2, 3, then the mark at the top
    for member in ("S04", "S02", "S01"):
        assert eventually(lambda m=member: inbox_events(api, m, issue_id), what=f"{member} notified") == [
            "issue.escalated"
        ]
    assert inbox_events(api, "S05", issue_id) == ["issue.assigned"]
    public = eventually(
        lambda: (i := api.get("intake", f"/v1/issues/{issue_id}").json())["acknowledge_overdue"] and i,
        what="intake reflects it",
    )
    assert public["escalation_level"] == 3
    assert [s["type"] for s in public["timeline"]][:2] == ["submitted", "assigned"]


def test_acknowledgement_stops_escalation(api: Api) -> None:
    issue_id = submit(api)
    r = staff(api, "S05").post("routing", f"/v1/workorders/{issue_id}/acknowledge", json={})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "acknowledged"
    due = datetime.fromisoformat(r.json()["acknowledge_due"])
    db = api.stack.database()
    assert db["routing_timers"].count_documents({"issue_id": issue_id, "kind": "acknowledge"}) == 0
    # Let the acknowledge deadline pass well behind us before looking for an escalation that must not come.
    while datetime.now(due.tzinfo) < due:
        time.sleep(0.1)
    eventually(lambda: order(api, issue_id)["overdue"], timeout=15, what="a later timer (resolve) still fires")
    assert [e["type"] for e in order(api, issue_id)["timeline"]].count("escalated") == 0
    assert inbox_events(api, "S04", issue_id) == []


def test_urgent_service_starts_at_level_one_and_escalates_from_there(api: Api) -> None:
    issue_id = submit(api, "quick-urgent")
    first = order(api, issue_id)
    assert first["escalation_level"] == 1 and first["notified"] == ["S05", "S04"]
    eventually(lambda: order(api, issue_id)["escalation_level"] == 2, what="level 2")
    assert eventually(lambda: inbox_events(api, "S02", issue_id), what="S02 notified") == ["issue.escalated"]


def test_resolve_deadline_marks_overdue_and_notifies_the_grid_node_heads_once(api: Api) -> None:
    issue_id = submit(api)
    assert staff(api, "S05").post("routing", f"/v1/workorders/{issue_id}/acknowledge", json={}).status_code == 200
    eventually(lambda: order(api, issue_id)["overdue"], timeout=15, what="overdue")
    assert eventually(
        lambda: "issue.overdue" in inbox_events(api, "S02", issue_id) and inbox_events(api, "S02", issue_id)
    )
    assert inbox_events(api, "S02", issue_id) == ["issue.overdue"]
    eventually(lambda: api.get("intake", f"/v1/issues/{issue_id}").json()["overdue"], what="intake shows it")


def test_transfer_dispatches_again_with_a_fresh_clock_and_the_same_resolve_due(api: Api) -> None:
    issue_id = submit(api, "talent")
    before = order(api, issue_id)
    # The town's head: a grid subtree holding both buildings.
    r = staff(api, "S01").post(
        "routing", f"/v1/workorders/{issue_id}/transfer", json={"building_id": "B2", "reason": "属于二号楼"}
    )
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["status"] == "assigned" and after["building_id"] == "B2"
    assert sorted(a["id"] for a in after["assignees"]) == ["S07", "S08"]
    assert after["resolve_due"] == before["resolve_due"]
    # A fresh clock (outside working hours both deadlines fall at the same working-time instant).
    assert after["acknowledge_due"] >= before["acknowledge_due"]
    assert after["timeline"][-1] == {
        **after["timeline"][-1],
        "type": "transferred",
        "actor": "S01",
        "note": "属于二号楼",
    }
    assert eventually(lambda: inbox_events(api, "S07", issue_id)) == ["issue.transferred"]
    eventually(lambda: api.get("intake", f"/v1/issues/{issue_id}").json()["building_id"] == "B2", what="intake")
    to_person = staff(api, "S07").post(
        "routing", f"/v1/workorders/{issue_id}/transfer", json={"staff_id": "S08", "reason": "请另一位楼长处理"}
    )
    assert to_person.status_code == 200, to_person.text
    assert to_person.json()["assignees"] == [{"id": "S08", "name": "测试人员08"}]


def test_transfer_stays_within_what_the_caller_and_the_named_person_may_reach(api: Api) -> None:
    issue_id = submit(api, "talent")
    path = f"/v1/workorders/{issue_id}/transfer"
    first = [a["id"] for a in order(api, issue_id)["assignees"]]
    officer, head = staff(api, first[0]), staff(api, "S04")
    assert first == ["S06"]
    # An officer of B1 cannot take the order to a building of another grid, nor can B1's own head.
    for who in (officer, head):
        r = who.post("routing", path, json={"building_id": "B2", "reason": "别的网格"})
        assert r.status_code == 403, r.text
    # Nobody transfers to themselves; a named person must have the building in their scope.
    r = officer.post("routing", path, json={"staff_id": "S06", "reason": "我自己来"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "staff_id"]
    r = head.post("routing", path, json={"staff_id": "S07", "reason": "二号楼楼长"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "staff_id"]
    assert order(api, issue_id)["building_id"] == "B1"
    # Within their own scope a non-head officer still transfers.
    r = officer.post("routing", path, json={"staff_id": "S05", "reason": "请安全保障员处理"})
    assert r.status_code == 200 and r.json()["assignees"] == [{"id": "S05", "name": "测试人员05"}]
    # The town's head moves it to B2; whoever was notified before keeps reading it.
    r = staff(api, "S01").post("routing", path, json={"building_id": "B2", "reason": "属于二号楼"})
    assert r.status_code == 200, r.text
    for member in first:
        assert staff(api, member).get("routing", f"/v1/workorders/{issue_id}").status_code == 200, member


def test_reject_as_duplicate(api: Api) -> None:
    first, second = submit(api, "talent"), submit(api, "talent")
    officer, head = staff(api, "S06"), staff(api, "S04")
    reason = {"reason": "重复提交", "duplicate_of": first}
    assert officer.post("routing", f"/v1/workorders/{second}/reject", json=reason).status_code == 403
    unknown = head.post("routing", f"/v1/workorders/{second}/reject", json={**reason, "duplicate_of": "nope"})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "duplicate_of"]
    r = head.post("routing", f"/v1/workorders/{second}/reject", json=reason)
    assert r.status_code == 200 and r.json()["status"] == "rejected" and r.json()["duplicate_of"] == first
    assert head.post("routing", f"/v1/workorders/{second}/acknowledge", json={}).status_code == 409
    eventually(lambda: api.get("intake", f"/v1/issues/{second}").json()["status"] == "rejected", what="intake")


def test_state_machine_and_scope_refusals_in_the_contract_order(api: Api) -> None:
    issue_id = submit(api, "talent")
    outsider, officer = staff(api, "S03"), staff(api, "S06")
    path = f"/v1/workorders/{issue_id}"
    assert officer.post("routing", "/v1/workorders/nope/acknowledge", json={}).status_code == 404
    assert outsider.post("routing", f"{path}/acknowledge", json={}).status_code == 403
    assert outsider.post("routing", f"{path}/progress", json={"bad": 1}).status_code == 403  # 403 before 422
    assert outsider.get("routing", path).status_code == 404  # as for an unknown id: existence is not theirs
    assert officer.post("routing", f"{path}/progress", json={}).status_code == 422  # note missing
    assert officer.post("routing", f"{path}/progress", json={"note": "处理中"}).status_code == 409  # not acknowledged
    assert officer.post("routing", f"{path}/transfer", json={"reason": "无目标"}).status_code == 422
    client = api.as_token(api.token_for("system", "hotline"))
    assert client.post("routing", f"{path}/acknowledge", json={}).status_code == 403
    assert officer.post("routing", f"{path}/acknowledge", json={}).status_code == 200
    assert officer.post("routing", f"{path}/acknowledge", json={}).status_code == 409
    assert officer.post("routing", f"{path}/progress", json={"note": "联系企业"}).status_code == 200
    resolved = officer.post("routing", f"{path}/resolve", json={"note": "已办结"})
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert officer.post("routing", f"{path}/transfer", json={"staff_id": "S05", "reason": "x"}).status_code == 409
    steps = [(e["type"], e["actor"]) for e in resolved.json()["timeline"]]
    assert steps == [("assigned", "system"), ("acknowledged", "S06"), ("progressed", "S06"), ("resolved", "S06")]
    closed = eventually(lambda: order(api, issue_id)["status"] == "closed" and order(api, issue_id), what="autoclose")
    assert closed["timeline"][-1]["type"] == "closed" and closed["timeline"][-1]["actor"] == "system"
    eventually(lambda: api.get("intake", f"/v1/issues/{issue_id}").json()["status"] == "closed", what="intake")


def test_my_work_orders(api: Api) -> None:
    issue_id = submit(api, "talent")
    mine = staff(api, "S06").get("routing", "/v1/workorders", params={"assignee": "me", "status": "assigned"}).json()
    assert issue_id in [o["issue_id"] for o in mine["items"]]
    assert all(o["status"] == "assigned" for o in mine["items"])
    others = staff(api, "S03").get("routing", "/v1/workorders").json()["items"]
    assert issue_id not in [o["issue_id"] for o in others]


async def test_redelivered_submission_makes_no_second_work_order(api: Api) -> None:
    issue_id = submit(api, "talent")
    db = api.stack.database()
    stored = db["intake_outbox"].find_one({"name": "issue.submitted", "event.subject": issue_id})
    before = order(api, issue_id)
    timers = list(db["routing_timers"].find({"issue_id": issue_id}).sort("_id"))
    for _ in range(2):  # very likely one batch: routing takes a prefetch-full at a time
        await publish_raw(api.stack.amqp_url, "issue.submitted", json.dumps(stored["event"]).encode(), stored["_id"])
    submit(api, "talent")  # its submission queues behind the repeats
    assert order(api, issue_id) == before
    assert list(db["routing_timers"].find({"issue_id": issue_id}).sort("_id")) == timers  # not re-armed
    assert db["routing_outbox"].count_documents({"name": "issue.assigned", "event.subject": issue_id}) == 1
    # The work order is what tells a repeat: routing records no `processed` dispatch.
    assert db["routing_processed"].count_documents({"_id": {"$regex": "^routing\\.dispatch:"}}) == 0
    assert eventually(lambda: inbox_events(api, "S06", issue_id), what="S06 notified") == ["issue.assigned"]
