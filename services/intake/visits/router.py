from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from chassis.auth import Principal, require
from chassis.bodies import parse_body
from intake.bootstrap import Intake, runtime
from intake.visits.models import VisitCreate, VisitPage, VisitRead
from intake.visits.service import claimed_building, list_filter, period, to_read

router = APIRouter(prefix="/v1/visits", tags=["visits"])
Runtime = Annotated[Intake, Depends(runtime)]
# Visits are staff work: system tokens get a 403.
Staff = Annotated[Principal, Depends(require("staff", "admin"))]


@router.post(
    "",
    status_code=201,
    response_model=VisitRead,
    summary="联络走访: record a visit and the issues found on it, all or nothing",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": VisitCreate.model_json_schema()}}}
    },
)
async def record_visit(request: Request, who: Staff, intake: Runtime) -> dict[str, Any]:
    """Checked in the contract's order: 401, 403 (a staff
    member records visits only in buildings of their scope), then 422 for everything else,
    every problem at once (an unknown building is a 422: it is body data)."""
    index = intake.directory.require()
    raw = await request.body()
    building = claimed_building(raw)
    if who.kind == "staff" and building in index.buildings and building not in index.scope(who.subject):
        raise HTTPException(403, f"building {building!r} is outside your buildings")
    body = parse_body(VisitCreate, raw)
    return to_read(await intake.visits.record(who, body, index, intake.directory.version))


@router.get("/{visit_id}", response_model=VisitRead, summary="A visit")
async def get_visit(visit_id: str, who: Staff, intake: Runtime) -> dict[str, Any]:
    doc = await intake.visits.get(visit_id, who, intake.directory.index)
    if doc is None:
        raise HTTPException(404, f"no visit {visit_id!r}")
    return to_read(doc)


@router.get("", response_model=VisitPage, summary="Visits visible to the caller, newest first by visited_at")
async def list_visits(
    who: Staff,
    intake: Runtime,
    building_id: str | None = None,
    enterprise_id: str | None = None,
    staff_id: Annotated[str | None, Query(description="visits this staff member took part in or recorded")] = None,
    from_: Annotated[str | None, Query(alias="from", description="RFC 3339, or a date (00:00 Asia/Shanghai)")] = None,
    to: Annotated[str | None, Query(description="RFC 3339, or a date; exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    start, end = period(from_, to)
    filters = list_filter(building_id=building_id, enterprise_id=enterprise_id, staff_id=staff_id, start=start, end=end)
    docs, next_cursor = await intake.visits.list(who, intake.directory.index, filters, limit, cursor)
    return {"items": [to_read(d) for d in docs], "next_cursor": next_cursor}
