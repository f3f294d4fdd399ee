"""notify.messages.compose: Chinese notification text."""

from __future__ import annotations

import pytest

from louzhang.directory import DirectoryIndex
from louzhang.events import WorkOrderChanged
from notify.messages import compose

URL = "https://louzhang.example.org/"


def test_a_new_work_order_message(index: DirectoryIndex, work_order: WorkOrderChanged) -> None:
    message = compose("issue.assigned", work_order, index, URL)
    assert message.title == "【新工单】消防通道堆物"
    lines = message.body.splitlines()
    assert "事项：消防安全隐患" in lines
    assert "地点：电科大厦（天地软件园）" in lines
    assert "级别：第1级" in lines
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
