"""The monthly joint meeting of a building (大厦联席会议): the month's figures, the building's open
and overdue issues as they stand now, and the month's visits; as JSON and as a workbook."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.exceptions import RequestValidationError
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from chassis.auth import Principal
from kernel.directory import Building, DirectoryIndex
from kernel.times import SHANGHAI, utcnow
from reporting.bootstrap import Reporting, runtime
from reporting.exports import (
    BOLD,
    FIGURES,
    TITLE,
    XLSX,
    Kind,
    attachment,
    display_width,
    fit_columns,
    header_row,
    local,
    put,
    workbook_bytes,
)
from reporting.filters import Reader, Scope
from reporting.queries import Filter
from reporting.router import issue_row
from reporting.windows import next_month

router = APIRouter(prefix="/v1/reports", tags=["reports"])
Runtime = Annotated[Reporting, Depends(runtime)]

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


def check(
    who: Principal, index: DirectoryIndex, building_id: str | None, month: str | None
) -> tuple[Building, str, datetime, datetime]:
    """In the contract's order: 404 (unknown building), 403 (outside scope), then 422 for every problem."""
    problems: list[dict[str, Any]] = []
    building = None
    if not building_id:
        problems.append({"loc": ["query", "building_id"], "msg": "Field required", "type": "missing"})
    else:
        building = index.buildings.get(building_id)
        if building is None:
            raise HTTPException(404, f"no building {building_id!r}")
        if who.kind == "staff" and building_id not in index.scope(who.subject):
            raise HTTPException(403, "the building is outside your buildings")
    month = month or local(utcnow()).strftime("%Y-%m")
    try:
        start, end = parse_month(month)
    except ValueError as exc:
        problems.append({"loc": ["query", "month"], "msg": str(exc), "type": "value_error"})
    if problems:
        raise RequestValidationError(problems)
    assert building is not None
    return building, month, start, end


async def agenda(
    who: Reader,
    reporting: Runtime,
    building_id: Annotated[str | None, Query(description="the building (required)")] = None,
    month: Annotated[str | None, Query(description="YYYY-MM in Asia/Shanghai; the current month by default")] = None,
) -> Agenda:
    index = reporting.directory.require()
    building, month, start, end = check(who, index, building_id, month)
    reports, now = reporting.reports, utcnow()
    only = frozenset({building.id})
    scope = Scope(Filter(None, now, only, None), index, None, who)
    figures, open_docs, overdue_docs, visits = await asyncio.gather(
        reports.summary(Filter(start, end, only, None)),
        reports.open_issues(scope.filter),
        reports.overdue(scope.filter),
        visits_in(reporting, index, building.id, start, end),
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
        visits=visits,
    )


async def visits_in(
    reporting: Reporting, index: DirectoryIndex, building_id: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The building's visits in [start, end), oldest first, with the enterprises' and participants' names."""
    model = reporting.readmodel
    docs = (
        await model.visits.find({"building_id": building_id, "visited_at": {"$gte": start, "$lt": end}})
        .sort("visited_at", 1)
        .to_list()
    )
    ids = sorted({d["enterprise_id"] for d in docs if d.get("enterprise_id")})
    names = {e["_id"]: e.get("name") async for e in model.enterprises.find({"_id": {"$in": ids}}, {"name": 1})}
    return [
        {
            "id": d["_id"],
            "visited_at": d["visited_at"],
            "kind": d.get("kind"),
            "enterprise_id": d.get("enterprise_id"),
            "enterprise": names.get(d.get("enterprise_id") or "", d.get("enterprise_id")),
            "participants": [{"id": s, "name": index.staff_name(s)} for s in d.get("participants", [])],
        }
        for d in docs
    ]


AgendaDep = Annotated[Agenda, Depends(agenda)]


@router.get(
    "/agenda",
    summary="大厦联席会议: a building's figures for a month, its open and overdue issues now, the month's visits",
)
async def get_agenda(meeting: AgendaDep) -> dict[str, Any]:
    return meeting.as_json()


@router.get(
    "/agenda.xlsx",
    summary="The agenda as a workbook (sheet 议程)",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
async def get_agenda_xlsx(meeting: AgendaDep) -> Response:
    return Response(
        agenda_workbook(meeting),
        media_type=XLSX,
        headers={"Content-Disposition": attachment(f"{meeting.building.name}_大厦联席会议_{meeting.month}.xlsx")},
    )


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
