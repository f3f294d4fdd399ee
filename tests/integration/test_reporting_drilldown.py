"""The drill-down (`GET /v1/reports/issues?measure=`) on the real stack: for every measure and
filter its list holds exactly the issues the summary's figure counts; rows name who is responsible
now (after escalation, the level reached) and how long a 督办 issue is overdue; scope as the summary's."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.api import Api
from tests.support.servers import eventually

MEASURES = (
    "total",
    "acknowledged",
    "acknowledged_on_time",
    "resolved",
    "closed",
    "reopened",
    "overdue_open",
    "feedback",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
)


def submit(api: Api, building_id: str, service_code: str) -> str:
    body = {
        "building_id": building_id,
        "service_code": service_code,
        "title": f"下钻测试 {uuid.uuid4().hex[:6]}",
        "description": uuid.uuid4().hex,
    }
    r = api.post("intake", "/v1/issues", json=body)
    assert r.status_code == 201, r.text
    issue_id = str(r.json()["id"])
    eventually(lambda: api.get("routing", f"/v1/workorders/{issue_id}").status_code == 200, what="dispatched")
    return issue_id


def act(staff: Api, issue_id: str, action: str, body: dict[str, Any]) -> None:
    r = staff.post("routing", f"/v1/workorders/{issue_id}/{action}", json=body)
    assert r.status_code == 200, r.text


def status(api: Api, issue_id: str) -> str:
    return str(api.get("intake", f"/v1/issues/{issue_id}").json()["status"])


@pytest.fixture(scope="module")
def scenario(api: Api) -> Iterator[dict[str, Any]]:
    """From `since` on: at B1 one closed (basically satisfied), one reopened (dissatisfied), one left
    assigned, one overdue (`quick`: it climbs a level a second); at B2 one acknowledged and one
    rejected (counted nowhere)."""
    since = datetime.now(UTC) - timedelta(milliseconds=5)
    officer = api.as_token(api.token_for("staff", "S06"))
    heads = api.as_token(api.token_for("staff", "S07"))
    ids = {
        "closed": submit(api, "B1", "talent"),
        "reopened": submit(api, "B1", "talent"),
        "waiting": submit(api, "B1", "talent"),
        "overdue": submit(api, "B1", "quick"),
        "acknowledged": submit(api, "B2", "talent"),
        "rejected": submit(api, "B2", "talent"),
    }
    for name in ("closed", "reopened"):
        act(officer, ids[name], "acknowledge", {})
        act(officer, ids[name], "resolve", {"note": "已办结"})
        eventually(lambda n=name: status(api, ids[n]) == "resolved", what=f"{name} resolved in intake")
    for name, verdict in (("closed", "basically_satisfied"), ("reopened", "dissatisfied")):
        r = api.post("intake", f"/v1/issues/{ids[name]}/feedback", json={"satisfaction": verdict})
        assert r.status_code == 200, r.text
    act(heads, ids["acknowledged"], "acknowledge", {})
    act(heads, ids["rejected"], "reject", {"reason": "不属于受理范围"})
    window = {"from": since.isoformat()}
    eventually(
        lambda: (
            (s := api.get("reporting", "/v1/reports/summary", params=window).json())["total"] == 5
            and s["closed"] == 1
            and s["reopened"] == 1
            and s["acknowledged"] == 3
            and s["overdue_open"] == 1
        ),
        timeout=30,
        what="the summary counts the scenario",
    )
    yield {"since": since, "window": window, **ids}


def drill(api: Api, params: dict[str, Any], limit: int = 2) -> list[dict[str, Any]]:
    """Every row of a drill-down, page by page (small pages, so that the cursor is used)."""
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = api.get("reporting", "/v1/reports/issues", params={**params, "limit": limit, "cursor": cursor})
        assert r.status_code == 200, r.text
        body = r.json()
        rows += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len({row["id"] for row in rows}) == len(rows), "a page repeated an issue"
    return rows


def agree(api: Api, params: dict[str, Any]) -> dict[str, int] | None:
    """Each measure's drill-down count against the summary's figure on the same filter."""
    summary = api.get("reporting", "/v1/reports/summary", params=params).json()
    counted = {m: len(drill(api, {**params, "measure": m})) for m in MEASURES}
    after = api.get("reporting", "/v1/reports/summary", params=params).json()
    if summary != after:
        return None  # a timer moved an issue meanwhile: ask again
    return counted if counted == {m: summary[m] for m in MEASURES} else None


@pytest.mark.parametrize(
    "narrow",
    [{}, {"grid_node": "park"}, {"building_id": "B2"}, {"service_code": "talent"}, {"service_code": "quick"}],
    ids=["district", "grid-node", "building", "service", "other-service"],
)
def test_each_measure_lists_exactly_what_the_summary_counts(
    api: Api, scenario: dict[str, Any], narrow: dict[str, str]
) -> None:
    counted = eventually(lambda: agree(api, {**scenario["window"], **narrow}), timeout=20, what="lists = figures")
    if not narrow:
        assert counted["total"] == 5 and counted["reopened"] == 1 and counted["dissatisfied"] == 1


def test_the_lists_hold_the_right_issues_in_order(api: Api, scenario: dict[str, Any]) -> None:
    window = scenario["window"]
    total = drill(api, {**window, "measure": "total"}, limit=50)
    assert scenario["rejected"] not in {r["id"] for r in total}
    submitted = [r["submitted_at"] for r in total]
    assert submitted == sorted(submitted, reverse=True), "newest first"
    assert [r["id"] for r in drill(api, {**window, "measure": "closed"})] == [scenario["closed"]]
    assert [r["id"] for r in drill(api, {**window, "measure": "reopened"})] == [scenario["reopened"]]
    row = next(r for r in total if r["id"] == scenario["acknowledged"])
    assert row["building_id"] == "B2" and row["status"] == "acknowledged" and row["resolve_due"]
    assert {"title", "status", "building_id", "resolve_due", "responsible"} <= row.keys()
    assert "overdue_working_seconds" not in row  # not past its deadline
    assert sorted(p["id"] for p in row["responsible"]) == ["S07", "S08"]
    assert {p["name"] for p in row["responsible"]} == {"测试人员07", "测试人员08"}


def test_an_overdue_row_names_who_is_responsible_now_and_how_late(api: Api, scenario: dict[str, Any]) -> None:
    issue_id = scenario["overdue"]

    def climbed() -> dict[str, Any] | None:
        order = api.get("routing", f"/v1/workorders/{issue_id}").json()
        return order if order["escalation_level"] == len(order["chain"]) - 1 else None

    order = eventually(climbed, timeout=20, what="the quick order climbed to the top of its chain")
    assert order["assignees"][0]["id"] == "S05"  # the safety officer it went to first
    now_responsible = order["chain"][order["escalation_level"]]
    assert "S05" not in now_responsible

    def row() -> dict[str, Any] | None:
        items = drill(api, {**scenario["window"], "measure": "overdue_open"})
        found = [r for r in items if r["id"] == issue_id]
        return found[0] if found and [p["id"] for p in found[0]["responsible"]] == now_responsible else None

    overdue = eventually(row, timeout=20, what="the drill-down names the level reached")
    assert overdue["responsible"] == [{"id": s, "name": f"测试人员{s[1:]}"} for s in now_responsible]
    # Natural time for this service: the seconds since its deadline, as routing counts them.
    late = -api.get("routing", f"/v1/workorders/{issue_id}").json()["resolve_left_s"]
    assert late > 0 and abs(overdue["overdue_working_seconds"] - late) <= 5
    # The 督办 list says the same.
    [listed] = [r for r in api.get("reporting", "/v1/reports/overdue").json()["items"] if r["id"] == issue_id]
    assert listed["responsible"] == overdue["responsible"] and listed["overdue_working_seconds"] >= late - 5
    assert listed["assignees"] == [{"id": "S05", "name": "测试人员05"}]


def test_a_head_sees_their_own_subtree_only(api: Api, scenario: dict[str, Any]) -> None:
    head = api.as_token(api.token_for("staff", "S02"))  # 测试园区 (park): B1 only
    window = scenario["window"]
    eventually(lambda: agree(head, window), timeout=20, what="the head's lists = the head's figures")
    assert {r["building_id"] for r in drill(head, {**window, "measure": "total"})} == {"B1"}
    r = head.get("reporting", "/v1/reports/issues", params={**window, "grid_node": "cbd"})
    assert r.status_code == 403
    # The grid tree is their own part (no district of zeros); asked from the top, it leaves out the rest.
    grid = head.get("reporting", "/v1/reports/grid").json()
    assert grid["id"] == "park" and grid["figures"]["total"] == len(drill(head, {"measure": "total"}, limit=500))
    admin = api.get("reporting", "/v1/reports/grid", params={"building_id": "B2"}).json()
    assert admin["id"] == "cbd"
    whole = api.get("reporting", "/v1/reports/grid", params={"grid_node": "town", "building_id": "B1"}).json()
    assert whole["id"] == "town" and [c["id"] for c in whole["children"]] == ["park"]


def test_bad_requests_are_refused_naming_what_is_wrong(api: Api, scenario: dict[str, Any]) -> None:
    r = api.get("reporting", "/v1/reports/issues", params={"measure": "satisfaction_rate"})
    assert r.status_code == 422
    [problem] = r.json()["detail"]
    assert problem["loc"] == ["query", "measure"] and "'satisfaction_rate'" in problem["msg"]
    assert "overdue_open" in problem["msg"]
    r = api.get("reporting", "/v1/reports/issues", params={"cursor": "!!!"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "cursor"]
    r = api.get("reporting", "/v1/reports/issues", params={"limit": 501})
    assert r.status_code == 422
    # The contract's order: an unknown node is a 404 before the measure is looked at.
    r = api.get("reporting", "/v1/reports/issues", params={"grid_node": "nowhere", "measure": "nonsense"})
    assert r.status_code == 404 and "nowhere" in r.json()["detail"]
    assert api.as_token("not-a-token").get("reporting", "/v1/reports/issues").status_code == 401
