"""notify.messages.compose: Chinese notification text."""

from __future__ import annotations

import pytest

from kernel.directory import DirectoryIndex
from kernel.events import Reporter, StaffRef, WorkOrderChanged
from notify.messages import compose

URL = "https://louzhang.example.org/"


def test_a_new_work_order_message(index: DirectoryIndex, work_order: WorkOrderChanged) -> None:
    message = compose("issue.assigned", work_order, index, URL)
    assert message.title == "【新工单】消防通道堆物"
    lines = message.body.splitlines()
    assert "事项：消防安全隐患" in lines
    assert "地点：电科大厦（天地软件园）" in lines
    assert "层级：第2层" in lines  # no name given: counted from one, as people count
    assert not any(line.startswith("级别") for line in lines)
    assert "详情：https://louzhang.example.org/issues/I1" in lines


def test_deadlines_are_shown_in_shanghai_time(index: DirectoryIndex, work_order: WorkOrderChanged) -> None:
    body = compose("issue.assigned", work_order, index, URL).body
    assert "签收时限：11月20日 10:30" in body
    assert "办结时限：11月21日 01:05" in body


def test_missing_deadlines_show_a_dash(index: DirectoryIndex, work_order: WorkOrderChanged) -> None:
    change = work_order.model_copy(update={"acknowledge_due": None, "resolve_due": None})
    body = compose("issue.assigned", change, index, URL).body
    assert "签收时限：—" in body and "办结时限：—" in body


@pytest.mark.parametrize(
    ("event", "headline"),
    [("issue.escalated", "工单升级"), ("issue.overdue", "工单逾期督办"), ("issue.acknowledged", "工单动态")],
)
def test_headline_follows_the_event(
    index: DirectoryIndex, work_order: WorkOrderChanged, event: str, headline: str
) -> None:
    assert compose(event, work_order, index, URL).title == f"【{headline}】消防通道堆物"


def test_without_a_directory_the_ids_are_shown(work_order: WorkOrderChanged) -> None:
    body = compose("issue.assigned", work_order, None, "http://127.0.0.1:8004").body
    assert "地点：B1" in body and "事项：fire-safety" in body
    assert "详情：http://127.0.0.1:8004/issues/I1" in body


def test_what_an_officer_needs_to_decide_is_in_the_message(index: DirectoryIndex, work_order: WorkOrderChanged) -> None:
    change = work_order.model_copy(
        update={
            "description": "三楼消防通道被杂物堵塞，" * 10,
            "urgent": True,
            "reporter": Reporter(name="王经理", phone="13912342222"),
            "level_name": "分楼长（天地软件园）",
        }
    )
    lines = compose("issue.assigned", change, index, URL).body.splitlines()
    [description] = [line for line in lines if line.startswith("描述：")]
    assert len(description.removeprefix("描述：")) == 60 and description.endswith("…")
    assert "紧急：是" in lines and "层级：分楼长（天地软件园）" in lines
    assert "报告人：王经理 13912342222" in lines  # whole in the inbox, email and webhooks
    group = compose("issue.assigned", change, index, URL, group=True).body.splitlines()
    assert "报告人：王经理 139****2222" in group  # masked where a whole group reads it
    calm = compose("issue.assigned", work_order, index, URL).body
    assert "紧急" not in calm and "报告人" not in calm and "描述" not in calm


def test_a_transfer_says_who_moved_it_and_why(index: DirectoryIndex, work_order: WorkOrderChanged) -> None:
    change = work_order.model_copy(update={"actor": "S6", "note": "属于二号楼"})
    assert "改派：由 员工6，原因：属于二号楼" in compose("issue.transferred", change, index, URL).body.splitlines()


def test_a_supervision_notice_says_who_is_late_and_by_how_long(
    index: DirectoryIndex, work_order: WorkOrderChanged
) -> None:
    change = work_order.model_copy(update={"overdue_hours": 3})
    assert "督办：责任人 员工6，逾期 3 个工作小时" in compose("issue.overdue", change, index, URL).body.splitlines()
    # Climbed: the current level's people are named, not the original assignee.
    climbed = change.model_copy(update={"responsible": [StaffRef(id="S1", name="员工1")], "escalation_level": 2})
    assert "督办：责任人 员工1，逾期 3 个工作小时" in compose("issue.overdue", climbed, index, URL).body.splitlines()


def test_a_long_message_stays_within_a_robot_text(index: DirectoryIndex, work_order: WorkOrderChanged) -> None:
    change = work_order.model_copy(
        update={"title": "标题" * 500, "description": "描述" * 2000, "note": "原因" * 2000, "level_name": "层" * 900}
    )
    message = compose("issue.transferred", change, index, URL)
    assert len(f"{message.title}\n{message.body}".encode()) <= 2048 - 200
    assert message.body.splitlines()[-1] == "详情：https://louzhang.example.org/issues/I1"
