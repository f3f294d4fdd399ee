"""The scope matrix: each staff member × each building × each action, against the rules of
the contract (Auth, Work orders). Small directory (tests/support/directory.py):

    town (S01) ─ park (S02) ─ B1: heads S04, team safety S05, enterprise_service S06
               └ cbd  (S03) ─ B2: heads S07, S08 (双楼长), no team
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.api import Api
from tests.support.endpoints import Mailbox
from tests.support.servers import eventually

STAFF = ("S01", "S02", "S03", "S04", "S05", "S06", "S07", "S09")
BUILDINGS = ("B1", "B2")
# A `talent` issue goes to B1's enterprise_service officer; B2 has no team, so to its heads.
NOTIFIED = {"B1": {"S06"}, "B2": {"S07", "S08"}}
HEADS_IN_SCOPE = {"B1": {"S04", "S02", "S01"}, "B2": {"S07", "S08", "S03", "S01"}}
SCOPE = {"B1": {"S01", "S02", "S04", "S05", "S06"}, "B2": {"S01", "S03", "S07", "S08"}}
OTHER = {"B1": "B2", "B2": "B1"}
# A transfer to a named person: a head of the building, who has it in their scope.
HEAD = {"B1": "S04", "B2": "S07"}


def expected(action: str, staff: str, building: str) -> int:
    if action in ("read_issue", "read_order", "read_page", "summary"):
        if staff in SCOPE[building] or (action in ("read_order", "read_page") and staff in NOTIFIED[building]):
            return 200
        return 403 if action == "summary" else 404  # an issue or order outside scope: as if unknown
    if action in ("acknowledge", "acknowledge_page"):
        if staff in NOTIFIED[building] | HEADS_IN_SCOPE[building]:
            return 200
        # The page tells nothing of an order its reader may not see; the API answers in the contract's order.
        return 404 if action == "acknowledge_page" and expected("read_page", staff, building) == 404 else 403
    if action == "reject":
        return 200 if staff in HEADS_IN_SCOPE[building] else 403
    may_act = staff in NOTIFIED[building] | HEADS_IN_SCOPE[building]
    if action == "transfer_out":  # to the other building: both ends within the caller's reach
        return 200 if may_act and staff in SCOPE[OTHER[building]] else 403
    if action == "transfer_to_head":  # nobody transfers to themselves
        return 403 if not may_act else 422 if staff == HEAD[building] else 200
    raise AssertionError(action)


@pytest.fixture(scope="module")
def tokens(api: Api) -> dict[str, Api]:
    return {s: api.as_token(api.token_for("staff", s)) for s in STAFF}


@pytest.fixture(scope="module")
def pages(api: Api, mailbox: Mailbox) -> Iterator[dict[str, httpx.Client]]:
    """A workbench session of each staff member, signed in by the link mailed to them."""
    clients = {}
    for member in STAFF:
        email = f"{member.lower()}@example.org"
        before = len(mailbox.to(email))
        httpx.post(f"{api.stack.url('reporting')}/signin", data={"who": member})
        mail = eventually(lambda e=email, n=before: mailbox.to(e)[n:], what=f"sign-in mail to {member}")[-1]
        link = re.search(r"(http://\S+/signin/\S+)", mail.get_content())
        assert link, mail.get_content()
        client = httpx.Client(base_url=api.stack.url("reporting"))
        assert client.get(link.group(1)).status_code == 303
        clients[member] = client
    yield clients
    for client in clients.values():
        client.close()


def new_issue(api: Api, building: str) -> str:
    body = {"building_id": building, "service_code": "talent", "title": "范围测试", "description": "scope"}
    issue_id = str(api.post("intake", "/v1/issues", json=body).json()["id"])
    eventually(lambda: api.get("routing", f"/v1/workorders/{issue_id}").status_code == 200, what="dispatched")
    return issue_id


def page_action(client: httpx.Client, issue_id: str, action: str) -> int:
    """A workbench form sent with the session's CSRF token: 200 for done (the page's 303), else the refusal."""
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/signout").text)
    assert csrf
    r = client.post(f"/issues/{issue_id}/{action}", data={"csrf": csrf.group(1)})
    return 200 if r.status_code == 303 else r.status_code


@pytest.mark.parametrize(("staff", "building"), list(itertools.product(STAFF, BUILDINGS)))
def test_scope_matrix(
    api: Api, tokens: dict[str, Api], pages: dict[str, httpx.Client], staff: str, building: str
) -> None:
    who = tokens[staff]
    issue_id = new_issue(api, building)
    seen: dict[str, Any] = {
        # The workbench's page answers as the API does: an order outside the scope is unknown.
        "read_page": pages[staff].get(f"/issues/{issue_id}").status_code,
        "read_issue": who.get("intake", f"/v1/issues/{issue_id}").status_code,
        "read_order": who.get("routing", f"/v1/workorders/{issue_id}").status_code,
        "summary": who.get("reporting", "/v1/reports/summary", params={"building_id": building}).status_code,
        "acknowledge": who.post("routing", f"/v1/workorders/{issue_id}/acknowledge", json={}).status_code,
        "acknowledge_page": page_action(pages[staff], new_issue(api, building), "acknowledge"),
        "reject": who.post(
            "routing", f"/v1/workorders/{new_issue(api, building)}/reject", json={"reason": "范围测试"}
        ).status_code,
        "transfer_out": who.post(
            "routing",
            f"/v1/workorders/{new_issue(api, building)}/transfer",
            json={"building_id": OTHER[building], "reason": "范围测试"},
        ).status_code,
        "transfer_to_head": who.post(
            "routing",
            f"/v1/workorders/{new_issue(api, building)}/transfer",
            json={"staff_id": HEAD[building], "reason": "范围测试"},
        ).status_code,
    }
    want = {action: expected(action, staff, building) for action in seen}
    assert seen == want
