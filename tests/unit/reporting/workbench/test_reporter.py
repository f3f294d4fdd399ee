"""What the reporter's page shows of an issue: pure, from intake's view."""

from __future__ import annotations

from typing import Any

from reporting.workbench.reporter import progress, rated, refusal, resolution

BASE: dict[str, Any] = {
    "id": "I1",
    "title": "消防通道堆物",
    "description": "三楼",
    "building_id": "B1",
    "service_code": "fire-safety",
    "created_at": "2026-11-20T01:00:00Z",
    "reporter": {"name": "李女士", "phone": "13900000000"},
    "assignees": [{"id": "S05", "name": "张楼长"}],
    "reopened": 0,
}


def step(kind: str, time: str, actor: str = "S05", note: str | None = None) -> dict[str, Any]:
    return {"type": kind, "time": time, "actor": actor, "note": note}


def issue(status: str, *timeline: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        **BASE,
        "status": status,
        "timeline": [step("submitted", BASE["created_at"], "hotline"), *timeline],
        **extra,
    }


ASSIGNED = step("assigned", "2026-11-20T01:00:01Z", "system")
ACK = step("acknowledged", "2026-11-20T01:10:00Z")
RESOLVED = step("resolved", "2026-11-20T02:00:00.250Z", note="已清理，张楼长 13800000005")


def test_progress_in_plain_words_and_nothing_of_staff() -> None:
    view = progress(issue("acknowledged", ASSIGNED, ACK), None)
    assert view["status_label"] == "处理中"
    assert [(s.label, s.state) for s in view["steps"]] == [
        ("已提交", "done"),
        ("已受理", "done"),
        ("处理中", "now"),
        ("已办结", "todo"),
        ("已关闭", "todo"),
    ]
    assert view["steps"][2].time == "11-20 09:10"
    assert not view["may_rate"] and view["result"] is None
    text = repr(view)
    for private in ("张楼长", "S05", "13900000000", "李女士"):
        assert private not in text


def test_a_resolved_issue_shows_its_result_and_takes_a_rating_for_that_resolution() -> None:
    view = progress(issue("resolved", ASSIGNED, ACK, RESOLVED), None)
    assert view["may_rate"] and view["status_label"] == "已办结"
    assert view["result"] == RESOLVED["note"]  # the result is the officer's own words to the reporter
    assert view["round"] == resolution(issue("resolved", RESOLVED)) == "2026-11-20T02:00:00.250000+00:00"


def test_one_rating_per_resolution() -> None:
    feedback = step("feedback", "2026-11-20T02:00:01Z", "reporter", "不满意")
    reopened = issue("in_progress", ASSIGNED, ACK, RESOLVED, feedback, reopened=1)
    assert rated(reopened) and not progress(reopened, None)["may_rate"]
    assert refusal(reopened)[0] == "已经评价过了"
    again = step("resolved", "2026-11-21T02:00:00Z", note="再次清理")
    resolved_again = issue("resolved", ASSIGNED, ACK, RESOLVED, feedback, again, reopened=1)
    view = progress(resolved_again, None)
    assert not rated(resolved_again) and view["may_rate"] and view["result"] == "再次清理"
    assert view["round"] != resolution(reopened)


def test_refusals_say_why() -> None:
    assert refusal(issue("assigned", ASSIGNED))[0] == "尚未办结"
    assert (
        refusal(issue("closed", ASSIGNED, ACK, RESOLVED, step("closed", "2026-11-27T02:00:00Z", "system")))[0]
        == "已关闭"
    )
    assert refusal(issue("rejected", step("rejected", "2026-11-20T01:05:00Z")))[0] == "已退回"


def test_a_rejected_issue_shows_no_reason() -> None:
    view = progress(issue("rejected", step("rejected", "2026-11-20T01:05:00Z", note="与 I0 重复")), None)
    assert [s.label for s in view["steps"]] == ["已提交", "已退回"]
    assert "I0" not in repr(view)
