"""A stack of its own for the reporter's page (回访): the suite's stack auto-closes a resolved issue
after five seconds (LOUZHANG_AUTOCLOSE=PT5S), too soon for a person, or a browser, to rate it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.api import Api
from tests.support.directory import small_directory
from tests.support.endpoints import Endpoints
from tests.support.servers import Mongod, eventually, own_stack

ROUND = re.compile(r'name="round" value="([^"]*)"')


@contextmanager
def reporter_stack(mongod: Mongod, endpoints: Endpoints, env: dict[str, str]) -> Iterator[Api]:
    extra = {**env, "LOUZHANG_AUTOCLOSE": "PT1H", "LOUZHANG_OUTBOUND_ALLOW": f"127.0.0.1:{endpoints.port}"}
    with own_stack(mongod.url, None, extra, small_directory()) as stack:
        yield Api(stack)


def submit(api: Api, title: str = "消防通道堆物", service_code: str = "talent", **extra: Any) -> dict[str, Any]:
    """Submit (as the admin unless `api` holds another token) and wait for the dispatch; the 201's body."""
    body = {"building_id": "B1", "service_code": service_code, "title": title, "description": "三楼通道", **extra}
    r = api.post("intake", "/v1/issues", json=body)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    eventually(lambda: api.get("intake", f"/v1/issues/{created['id']}").json()["status"] == "assigned", what="assigned")
    return created


def act(api: Api, staff_id: str, issue_id: str, action: str, body: dict[str, Any] | None = None) -> None:
    """A work-order action as the staff member, then wait until intake reflects it."""
    officer = api.as_token(api.token_for("staff", staff_id))
    r = officer.post("routing", f"/v1/workorders/{issue_id}/{action}", json=body or {})
    assert r.status_code == 200, r.text
    status = r.json()["status"]
    eventually(lambda: api.get("intake", f"/v1/issues/{issue_id}").json()["status"] == status, what=status)
