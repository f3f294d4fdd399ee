"""`GET /v1/reports/agenda` and `agenda.xlsx`: the joint meeting's agenda (see `reports.agenda`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.exceptions import RequestValidationError

from chassis.auth import Principal
from kernel.directory import Building, DirectoryIndex
from kernel.times import utcnow
from reporting.api.filters import Reader, Runtime
from reporting.reports.agenda import Agenda, agenda, agenda_workbook, parse_month
from reporting.reports.exports import XLSX, attachment, local

router = APIRouter(prefix="/v1/reports", tags=["reports"])


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


async def requested(
    who: Reader,
    reporting: Runtime,
    building_id: Annotated[str | None, Query(description="the building (required)")] = None,
    month: Annotated[str | None, Query(description="YYYY-MM in Asia/Shanghai; the current month by default")] = None,
) -> Agenda:
    index = reporting.directory.require()
    building, month, start, end = check(who, index, building_id, month)
    return await agenda(reporting.reports, index, who, building, month, start, end)


AgendaDep = Annotated[Agenda, Depends(requested)]


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
