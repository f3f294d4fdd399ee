"""A scenario through the real stack (on time, late, resolved, each kind of feedback, reopened,
rejected, overdue, left alone) and the exact summary and breakdown figures it must give."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.support.api import Api
from tests.support.servers import eventually


def submit(api: Api, service: str) -> dict[str, Any]:
    body = {"building_id": "B2", "service_code": service, "title": f"场景{service}", "description": "报表场景"}
    created = api.post("intake", "/v1/issues", json=body).json()
    eventually(lambda: api.get("routing", f"/v1/workorders/{created['id']}").status_code == 200, what="dispatched")
    return dict(created)


def act(api: Api, issue_id: str, action: str, body: dict[str, Any] | None = None) -> None:
    r = api.post("routing", f"/v1/workorders/{issue_id}/{action}", json=body or {})
    assert r.status_code == 200, r.text


def resolved_with(api: Api, head: Api, service: str, satisfaction: str) -> str:
    issue_id = submit(api, service)["id"]
    act(head, issue_id, "acknowledge")
    act(head, issue_id, "resolve", {"note": "办结"})
    eventually(lambda: api.get("intake", f"/v1/issues/{issue_id}").json()["status"] == "resolved", what="resolved")
    r = api.post("intake", f"/v1/issues/{issue_id}/feedback", json={"satisfaction": satisfaction})
    assert r.status_code == 200, r.text
    return str(issue_id)


def test_exact_figures_of_a_scenario(api: Api) -> None:
    head = api.as_token(api.token_for("staff", "S07"))
    first = submit(api, "talent")  # left alone: assigned, never acknowledged
    resolved_with(api, head, "talent", "satisfied")
    resolved_with(api, head, "talent", "basically_satisfied")
    reopened = resolved_with(api, head, "talent", "dissatisfied")
    rejected = submit(api, "talent")["id"]
    act(head, rejected, "reject", {"reason": "不属于受理范围"})
    late = submit(api, "quick")
    # Acknowledged only after its one-second deadline, and left unresolved past its five seconds.
    eventually(lambda: api.get("routing", f"/v1/workorders/{late['id']}").json()["escalation_level"] > 0)
    act(head, late["id"], "acknowledge")
    eventually(lambda: api.get("routing", f"/v1/workorders/{late['id']}").json()["overdue"], timeout=20)
    eventually(lambda: api.get("routing", f"/v1/workorders/{reopened}").json()["status"] == "in_progress")

    start = first["created_at"]
    end = (datetime.fromisoformat(late["created_at"]) + timedelta(milliseconds=1)).isoformat()
    window = {"from": start, "to": end, "building_id": "B2"}
    expected = {
        "total": 5,
        "acknowledged": 4,
        "acknowledged_on_time": 3,
        "resolved": 2,
        "closed": 2,
        "reopened": 1,
        "overdue_open": 1,
        "feedback": 3,
        "satisfied": 1,
        "basically_satisfied": 1,
        "dissatisfied": 1,
    }

    def settled() -> dict[str, Any] | None:
        s = api.get("reporting", "/v1/reports/summary", params=window).json()
        return s if {k: s[k] for k in expected} == expected else None

    summary = eventually(settled, timeout=20, what=f"the summary settles on {expected}")
    assert summary["response_rate"] == pytest.approx(4 / 5)
    assert summary["on_time_response_rate"] == pytest.approx(3 / 5)
    assert summary["resolution_rate"] == pytest.approx(2 / 5)
    assert summary["satisfaction_rate"] == pytest.approx((1 + 0.9) / 3)
    assert summary["median_ack_seconds"] is not None and summary["median_resolve_seconds"] is not None

    rows = {
        r["key"]: r
        for r in api.get("reporting", "/v1/reports/breakdown", params={**window, "by": "service_code"}).json()["items"]
    }
    assert {k: rows["talent"][k] for k in expected} == {**expected, "total": 4, "acknowledged": 3, "overdue_open": 0}
    assert {k: rows["quick"][k] for k in ("total", "acknowledged", "acknowledged_on_time", "overdue_open")} == {
        "total": 1,
        "acknowledged": 1,
        "acknowledged_on_time": 0,
        "overdue_open": 1,
    }
    by_assignee = api.get("reporting", "/v1/reports/breakdown", params={**window, "by": "assignee"}).json()["items"]
    assert {r["key"]: r["total"] for r in by_assignee} == {"S07": 5, "S08": 5}
    nodes = api.get("reporting", "/v1/reports/breakdown", params={**window, "by": "grid_node"}).json()["items"]
    assert [(r["key"], r["total"], r["resolved"]) for r in nodes] == [("cbd", 5, 2)]
    ranking = api.get(
        "reporting", "/v1/reports/ranking", params={k: v for k, v in window.items() if k != "building_id"}
    ).json()
    assert ranking["items"][0]["key"] == "cbd"
    assert ranking["items"][0]["score"] == pytest.approx(0.1 * 4 / 5 + 0.5 * 2 / 5 + 0.4 * 1.9 / 3)
