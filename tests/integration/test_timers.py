"""SLA timers fire exactly once: with two routing replicas, and across a routing crash."""

from __future__ import annotations

import httpx

from tests.support.api import Api
from tests.support.servers import eventually

ISSUE = {"building_id": "B1", "service_code": "quick", "title": "计时测试", "description": "计时"}
LEVELS = 4  # escalated to levels 1, 2, 3, then marked at the top


def escalations(api: Api, issue_id: str) -> list[dict[str, object]]:
    timeline = api.get("routing", f"/v1/workorders/{issue_id}").json()["timeline"]
    return [e for e in timeline if e["type"] == "escalated"]


def assert_escalated_once_per_level(api: Api, issue_ids: list[str]) -> None:
    db = api.stack.database()
    for issue_id in issue_ids:
        eventually(
            lambda i=issue_id: db["routing_workorders"].find_one({"_id": i, "acknowledge_overdue": True}),
            timeout=30,
            what=f"{issue_id} escalated to the top",
        )
    for issue_id in issue_ids:
        assert len(escalations(api, issue_id)) == LEVELS
        # S04, S02 and S01 each hear of the escalation once.
        for member in ("S04", "S02", "S01"):
            query = {"issue_id": issue_id, "staff_id": member, "event": "issue.escalated"}
            assert db["notify_inbox"].count_documents(query) == 1
        assert db["routing_timers"].count_documents({"issue_id": issue_id, "kind": "acknowledge"}) == 0


def fired(url: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith("louzhang_timers_fired_total{"))


def submit_many(api: Api, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        r = api.post("intake", "/v1/issues", json=ISSUE)
        assert r.status_code == 201
        ids.append(r.json()["id"])
    return ids


def test_two_routing_replicas_fire_each_timer_once(api: Api) -> None:
    replica = api.stack.start_replica("routing", "routing-2")
    try:
        eventually(lambda: httpx.get(f"{replica}/readyz").status_code == 200, what="replica ready")
        assert_escalated_once_per_level(api, submit_many(api, 12))
        for url in (replica, api.stack.url("routing")):
            assert fired(url) > 0, f"{url} fired no timer: the test did not run two replicas"
    finally:
        api.stack.kill("routing-2")


def test_killing_routing_with_timers_pending_loses_and_doubles_nothing(api: Api) -> None:
    ids = submit_many(api, 6)
    db = api.stack.database()
    eventually(
        lambda: db["routing_timers"].count_documents({"issue_id": {"$in": ids}, "kind": "acknowledge"}) == len(ids),
        what="every work order dispatched with its timer armed",
    )
    api.stack.kill("routing")
    api.stack.start("routing")
    assert_escalated_once_per_level(api, ids)
