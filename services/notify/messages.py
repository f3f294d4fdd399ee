"""Notification text in Chinese, short enough for a phone screen."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from louzhang.directory import DirectoryIndex
from louzhang.events import WorkOrderChanged
from notify.channels.base import Message

SHANGHAI = ZoneInfo("Asia/Shanghai")

HEADLINES = {
    "issue.assigned": "新工单",
    "issue.escalated": "工单升级",
    "issue.overdue": "工单逾期督办",
    "issue.transferred": "工单改派",
    "issue.reopened": "工单重新办理",
}


def _local(t: datetime | None) -> str:
    return t.astimezone(SHANGHAI).strftime("%m月%d日 %H:%M") if t else "—"


def compose(event_name: str, change: WorkOrderChanged, index: DirectoryIndex | None, public_url: str) -> Message:
    headline = HEADLINES.get(event_name, "工单动态")
    building = index.buildings.get(change.building_id) if index else None
    node = index.nodes.get(change.grid_node) if index else None
    service = index.services.get(change.service_code) if index else None
    where = building.name if building else change.building_id
    if node:
        where += f"（{node.name}）"
    lines = [
        f"事项：{service.name if service else change.service_code}",
        f"地点：{where}",
        f"级别：第{change.escalation_level}级",
        f"签收时限：{_local(change.acknowledge_due)}",
        f"办结时限：{_local(change.resolve_due)}",
        f"详情：{public_url.rstrip('/')}/issues/{change.issue_id}",
    ]
    return Message(title=f"【{headline}】{change.title}", body="\n".join(lines))
