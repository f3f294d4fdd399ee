"""RabbitMQ restarting: an issue accepted while it is down is stored and dispatched once it is back."""

from __future__ import annotations

import subprocess

import httpx

from tests.support.api import Api
from tests.support.servers import SERVICES, eventually

ISSUE = {"building_id": "B1", "service_code": "talent", "title": "断线期间提交", "description": "RabbitMQ 重启时提交"}


def rabbitmq(command: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", command], check=True, timeout=120, stdout=subprocess.DEVNULL)


def status(api: Api, issue_id: str) -> str:
    return str(api.get("intake", f"/v1/issues/{issue_id}").json()["status"])


def test_issue_accepted_while_the_broker_is_down_is_dispatched_after_it_returns(api: Api) -> None:
    rabbitmq("stop_app")
    try:
        eventually(
            lambda: httpx.get(f"{api.stack.url('intake')}/readyz").status_code == 503, what="intake sees the outage"
        )
        during = api.post("intake", "/v1/issues", json=ISSUE)
        assert during.status_code == 201, during.text
        assert status(api, during.json()["id"]) == "received"
    finally:
        rabbitmq("start_app")
    for name in SERVICES:
        eventually(
            lambda n=name: httpx.get(f"{api.stack.url(n)}/readyz").status_code == 200, timeout=60, what=f"{name} back"
        )
    eventually(lambda: status(api, during.json()["id"]) == "assigned", timeout=30, what="dispatched after the restart")
    after = api.post("intake", "/v1/issues", json=ISSUE).json()
    eventually(lambda: status(api, after["id"]) == "assigned", timeout=30, what="the loop works again")
    db = api.stack.database()
    assert db["routing_workorders"].count_documents({"_id": during.json()["id"]}) == 1
    inbox = db["notify_inbox"].count_documents({"issue_id": during.json()["id"]})
    assert inbox == 1
