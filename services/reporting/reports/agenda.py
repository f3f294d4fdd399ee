"""The monthly joint meeting of a building (大厦联席会议): the month's figures, the building's open
and overdue issues as they stand now, and the month's visits; as JSON and as a workbook."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from chassis.auth import Principal
from kernel.directory import Building, DirectoryIndex
from kernel.times import SHANGHAI, utcnow
from reporting.readmodel.cells import next_month
from reporting.reports.exports import (
    BOLD,
    FIGURES,
    TITLE,
    Kind,
    display_width,
    fit_columns,
    header_row,
    local,
    put,
    workbook_bytes,
)
from reporting.reports.queries import Filter, Reports
from reporting.reports.scope import Scope, issue_row

MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
FIRST_YEAR, LAST_YEAR = 2000, 2999

STATUS_NAMES = {
    "received": "已受理",
    "assigned": "已派单",
    "acknowledged": "已签收",
    "in_progress": "办理中",
    "resolved": "已办结",
    "closed": "已关闭",
    "rejected": "已退回",
}
VISIT_KINDS = {"visit": "走访", "meeting": "座谈", "call": "电话", "activity": "活动"}


def parse_month(text: str) -> tuple[datetime, datetime]:
    """`2026-11` → [2026-11-01 00:00, 2026-12-01 00:00) in Asia/Shanghai; ValueError for anything else."""
    match = MONTH.fullmatch(text)
    if match is None:
        raise ValueError("month must be YYYY-MM, e.g. 2026-11")
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12:
        raise ValueError("month must be YYYY-MM with a month from 01 to 12")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"month must be within {FIRST_YEAR}-01 and {LAST_YEAR}-12")
    start = datetime(year, month, 1, tzinfo=SHANGHAI)
    return start, next_month(start)


def month_label(start: datetime) -> str:
    """2026-11 → 2026年11月."""
    return f"{start.year}年{start.month}月"


@dataclass
class Agenda:
    building: Building
    index: DirectoryIndex
    month: str
    start: datetime
    end: datetime
    figures: dict[str, Any]
    open: list[dict[str, Any]]
    overdue: list[dict[str, Any]]
    visits: list[dict[str, Any]]

    @property
    def heading(self) -> str:
        return f"{self.building.name} 大厦联席会议 {month_label(self.start)}"

    def as_json(self) -> dict[str, Any]:
        b, index = self.building, self.index
        node = index.nodes.get(b.grid_node)
        return {
            "building": {
                "id": b.id,
                "name": b.name,
                "grid_node": b.grid_node,
                "grid_node_name": node.name if node else b.grid_node,
                "heads": [{"id": s, "name": index.staff_name(s)} for s in b.heads],
            },
            "month": self.month,
            "from": self.start.astimezone(UTC),
            "to": self.end.astimezone(UTC),
            "figures": self.figures,
            "open": self.open,
            "overdue": self.overdue,
            "visits": self.visits,
        }


async def agenda(
    reports: Reports,
    index: DirectoryIndex,
    who: Principal,
    building: Building,
    month: str,
    start: datetime,
    end: datetime,
) -> Agenda:
    """The building's agenda for the month [start, end): its figures, its open and overdue issues now."""
    now = utcnow()
    only = frozenset({building.id})
    scope = Scope(Filter(None, now, only, None), index, None, who)
    figures, open_docs, overdue_docs, visits = await asyncio.gather(
        reports.summary(Filter(start, end, only, None)),
        reports.open_issues(scope.filter),
        reports.overdue(scope.filter),
        reports.visits(building.id, start, end),
    )
    return Agenda(
        building=building,
        index=index,
        month=month,
        start=start,
        end=end,
        figures=figures,
        open=[issue_row(d, scope) for d in open_docs],
        overdue=[issue_row(d, scope) for d in overdue_docs],
        visits=[visit_row(d, index) for d in visits],
    )


def visit_row(doc: dict[str, Any], index: DirectoryIndex) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "visited_at": doc["visited_at"],
        "kind": doc.get("kind"),
        "enterprise_id": doc.get("enterprise_id"),
        "enterprise": doc["enterprise"],
        "participants": [{"id": s, "name": index.staff_name(s)} for s in doc.get("participants", [])],
    }


# ---- the workbook -------------------------------------------------------------------

ISSUE_HEADERS = ("序号", "编号", "标题", "事项", "状态", "提交时间", "办结时限", "是否逾期", "承办人")
VISIT_HEADERS = ("序号", "时间", "方式", "企业", "参与人员")
DATE_FORMAT = "yyyy-mm-dd hh:mm"


class _Sheet:
    """Writes sections down a sheet, keeping each column's width."""

    def __init__(self, sheet: Worksheet, columns: int) -> None:
        self.sheet = sheet
        self.row = 1
        self.widths = [0] * columns

    def line(self, values: tuple[Any, ...], kinds: tuple[Kind, ...] = (), measure: bool = True) -> None:
        for c, value in enumerate(values, 1):
            kind = kinds[c - 1] if c <= len(kinds) else "text"
            if isinstance(value, datetime):
                value = local(value)
            cell = put(self.sheet, self.row, c, value, kind)
            if isinstance(value, datetime):
                cell.number_format = DATE_FORMAT
            if measure:
                self.widths[c - 1] = max(self.widths[c - 1], display_width(value, cell.number_format))
        self.row += 1

    def heading(self, text: str, *, font: Font | None = BOLD) -> None:
        cell = put(self.sheet, self.row, 1, text)
        if font is not None:
            cell.font = font
        self.sheet.merge_cells(start_row=self.row, start_column=1, end_row=self.row, end_column=len(self.widths))
        self.row += 1

    def header(self, headers: tuple[str, ...]) -> None:
        header_row(self.sheet, self.row, headers)
        for c, text in enumerate(headers, 1):
            self.widths[c - 1] = max(self.widths[c - 1], display_width(text))
        self.row += 1

    def gap(self) -> None:
        self.row += 1


def _issues(out: _Sheet, rows: list[dict[str, Any]]) -> None:
    out.header(ISSUE_HEADERS)
    for n, r in enumerate(rows, 1):
        out.line(
            (
                n,
                r["id"],
                r["title"],
                r["service"],
                STATUS_NAMES.get(r["status"] or "", r["status"]),
                r["submitted_at"],
                r["resolve_due"],
                "是" if r["overdue"] else "否",
                "、".join(a["name"] for a in r["assignees"]),
            ),
            ("count",),
        )
    if not rows:
        out.line(("无",), measure=False)


def agenda_workbook(meeting: Agenda) -> bytes:
    """Sheet 议程: the heading, the month's figures, the open and the overdue issues, the month's visits."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "议程"
    out = _Sheet(sheet, len(ISSUE_HEADERS))
    info = meeting.as_json()["building"]
    out.heading(meeting.heading, font=TITLE)
    heads = "、".join(h["name"] for h in info["heads"])
    out.heading(
        f"网格：{info['grid_node_name']}　楼长：{heads}　生成时间：{local(utcnow()).strftime('%Y-%m-%d %H:%M')}",
        font=None,
    )
    out.gap()

    out.heading(f"一、{month_label(meeting.start)}数据（当月提交的问题）")
    out.header(("指标", "数值"))
    for column in FIGURES:
        figure = meeting.figures.get(column.field)
        out.line((column.header, "—" if figure is None else figure), ("text", column.kind))
    out.gap()

    out.heading(f"二、未办结问题（{len(meeting.open)} 件）")
    _issues(out, meeting.open)
    out.gap()

    out.heading(f"三、逾期未办结问题（{len(meeting.overdue)} 件）")
    _issues(out, meeting.overdue)
    out.gap()

    out.heading(f"四、{month_label(meeting.start)}走访（{len(meeting.visits)} 次）")
    out.header(VISIT_HEADERS)
    for n, v in enumerate(meeting.visits, 1):
        names = "、".join(p["name"] for p in v["participants"])
        out.line((n, v["visited_at"], VISIT_KINDS.get(v["kind"] or "", v["kind"]), v["enterprise"], names), ("count",))
    if not meeting.visits:
        out.line(("无",), measure=False)

    fit_columns(sheet, out.widths, hi=60)
    return workbook_bytes(workbook)
