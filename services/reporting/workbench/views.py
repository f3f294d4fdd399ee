"""What the workbench pages show, as pure functions of the API's answers: labels, tabs, deadlines,
the actions a status allows, and the words for each refusal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from louzhang.times import SHANGHAI

STATUS = {
    "assigned": "待签收",
    "acknowledged": "已签收",
    "in_progress": "办理中",
    "resolved": "已办结",
    "closed": "已关闭",
    "rejected": "已退单",
}
STEPS = {
    "assigned": "派单",
    "escalated": "升级",
    "acknowledged": "签收",
    "progressed": "进展",
    "resolved": "办结",
    "transferred": "改派",
    "rejected": "退单",
    "overdue": "督办",
    "closed": "关闭",
    "reopened": "重新办理",
    "feedback": "回访",
}
# Which buttons a status shows: the state machine's (routing.workorders.states), as words.
ACTIONS = {
    "acknowledge": ("签收", {"assigned"}),
    "progress": ("进展", {"acknowledged", "in_progress"}),
    "resolve": ("办结", {"acknowledged", "in_progress"}),
    "transfer": ("改派", {"assigned", "acknowledged", "in_progress"}),
    "reject": ("退单", {"assigned", "acknowledged", "in_progress"}),
}
NOT_FOUND = "没有这个问题，或您无权查看"


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    statuses: tuple[str, ...]
    overdue_only: bool = False


TABS = (
    Tab("todo", "待签收", ("assigned",)),
    Tab("doing", "办理中", ("acknowledged", "in_progress")),
    Tab("late", "已逾期", ("assigned", "acknowledged", "in_progress"), overdue_only=True),
    Tab("done", "已办结", ("resolved", "closed")),
)


def tab(key: str | None) -> Tab:
    return next((t for t in TABS if t.key == key), TABS[0])


def late(order: dict[str, Any]) -> bool:
    """Past a deadline and not resolved (the 已逾期 tab)."""
    return order["status"] in ("assigned", "acknowledged", "in_progress") and bool(
        order.get("overdue") or order.get("acknowledge_overdue")
    )


def in_tab(order: dict[str, Any], t: Tab) -> bool:
    return order["status"] in t.statuses and (not t.overdue_only or late(order))


def local(t: str | datetime | None) -> str:
    if t is None:
        return "—"
    instant = datetime.fromisoformat(t) if isinstance(t, str) else t
    return instant.astimezone(SHANGHAI).strftime("%m-%d %H:%M")


def left(seconds: int | None, working: bool) -> tuple[str, bool]:
    """Time left to a deadline in words (routing counts it on the SLA calendar: working hours on
    the working one), and whether it has passed (shown red)."""
    if seconds is None:
        return "", False
    minutes = abs(seconds) // 60
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    unit = "工作" if working else ""
    if working:  # working time is told in hours: a working day is not 24 of them
        hours, days = hours + days * 24, 0
    parts = f"{days}天{hours}小时" if days else f"{hours}{unit}小时{minutes}分" if hours else f"{minutes}{unit}分钟"
    return (f"已超时 {parts}", True) if seconds < 0 else (f"剩余 {parts}", False)


def actions(status: str) -> list[tuple[str, str]]:
    """(action, label) the status allows, in the order of the page."""
    return [(name, label) for name, (label, allowed) in ACTIONS.items() if status in allowed]


def refusal(status: int, body: Any) -> str:
    """A refusal of the API in words for the page."""
    if status == 409:
        return "别人已经先处理了这个问题，页面已刷新为最新状态。"
    if status == 403:
        return "您没有权限这样处理这个问题。"
    if status == 404:
        return NOT_FOUND
    if status == 422 and isinstance(body, dict) and isinstance(body.get("detail"), list):
        problems = []
        for d in body["detail"]:
            where = d.get("loc", [])[-1] if d.get("loc") else ""
            problems.append(f"{FIELDS.get(str(where), str(where))}：{d.get('msg', '')}")
        return "请检查填写的内容。" + "；".join(problems)
    if status == 429:
        return "操作太频繁，请稍后再试。"
    if status >= 500:
        return "系统暂时不可用，请稍后再试。"
    return "操作未成功，请稍后再试。"


FIELDS = {
    "note": "说明",
    "reason": "原因",
    "building_id": "楼宇",
    "service_code": "事项",
    "staff_id": "人员",
    "duplicate_of": "重复的问题",
    "body": "内容",
}
