"""Notification text in Chinese, short enough for a phone screen and a robot's size limit.

What an officer needs to decide is in the message itself: the service, the building, a shortened
description, the urgency, the reporter (the phone masked where a whole group reads it), the level
named by the grid, and for a transfer or a 督办 who did it, why, who is late and by how long.
"""

from __future__ import annotations

from datetime import datetime

from kernel.directory import DirectoryIndex
from kernel.events import WorkOrderChanged
from kernel.times import SHANGHAI
from notify.channels.base import Message

HEADLINES = {
    "issue.assigned": "新工单",
    "issue.escalated": "工单升级",
    "issue.overdue": "工单逾期督办",
    "issue.transferred": "工单改派",
    "issue.reopened": "工单重新办理",
}
DESCRIPTION_CHARS = 60
NOTE_CHARS = 60
TITLE_CHARS = 60
# WeCom takes a text of at most 2,048 bytes (DingTalk more): the title line, the body and a margin
# for the robot's @mentions.
MAX_BYTES = 1800


def _local(t: datetime | None) -> str:
    return t.astimezone(SHANGHAI).strftime("%m月%d日 %H:%M") if t else "—"


def shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def mask(phone: str) -> str:
    """`13912342222` → `139****2222`: enough to recognise, not to call."""
    digits = phone.strip()
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****"


def compose(
    event_name: str,
    change: WorkOrderChanged,
    index: DirectoryIndex | None,
    public_url: str,
    *,
    group: bool = False,
) -> Message:
    """The message of one event. `group`: for a robot, which a whole group reads (phones masked)."""
    headline = HEADLINES.get(event_name, "工单动态")
    building = index.buildings.get(change.building_id) if index else None
    node = index.nodes.get(change.grid_node) if index else None
    service = index.services.get(change.service_code) if index else None
    names = index.staff_name if index else (lambda s: s)
    where = building.name if building else change.building_id
    if node:
        where += f"（{node.name}）"
    lines = [f"事项：{service.name if service else change.service_code}", f"地点：{where}"]
    address = getattr(building, "address", None)
    if address:
        lines.append(f"地址：{address}")
    if change.description:
        lines.append(f"描述：{shorten(change.description, DESCRIPTION_CHARS)}")
    if change.urgent:
        lines.append("紧急：是")
    if change.reporter and (change.reporter.name or change.reporter.phone):
        phone = change.reporter.phone or ""
        who = " ".join(p for p in (change.reporter.name or "", mask(phone) if group and phone else phone) if p)
        lines.append(f"报告人：{who}")
    lines.append(f"层级：{change.level_name or f'第{change.escalation_level + 1}层'}")
    if event_name == "issue.transferred":
        reason = shorten(change.note or "—", NOTE_CHARS)
        lines.append(f"改派：由 {names(change.actor) if change.actor != 'system' else '系统'}，原因：{reason}")
    if event_name == "issue.overdue":
        late = "、".join(a.name for a in change.responsible or change.assignees) or "—"
        lines.append(f"督办：责任人 {late}，逾期 {change.overdue_hours or 0} 个工作小时")
    lines += [
        f"签收时限：{_local(change.acknowledge_due)}",
        f"办结时限：{_local(change.resolve_due)}",
        f"详情：{public_url.rstrip('/')}/issues/{change.issue_id}",
    ]
    message = Message(title=f"【{headline}】{shorten(change.title, TITLE_CHARS)}", body="\n".join(lines))
    return fit(message)


def fit(message: Message) -> Message:
    """Within MAX_BYTES: the longest lines (never the link) are cut until it fits."""
    lines = message.body.splitlines()
    while len(f"{message.title}\n{chr(10).join(lines)}".encode()) > MAX_BYTES:
        longest = max(range(len(lines) - 1), key=lambda i: len(lines[i]))
        if len(lines[longest]) <= 8:
            break
        lines[longest] = lines[longest][: len(lines[longest]) // 2] + "…"
    return Message(title=message.title, body="\n".join(lines))
