from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.exceptions import RequestValidationError

from louzhang.auth import Principal, require
from louzhang.store import utcnow
from louzhang.times import parse_instant
from reporting.bootstrap import Reporting, runtime
from reporting.summary import summarize

router = APIRouter(prefix="/v1/reports", tags=["reports"])
Reader = Annotated[Principal, Depends(require("staff", "admin"))]


def _instant(name: str, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise RequestValidationError([{"loc": ["query", name], "msg": str(exc), "type": "datetime_parsing"}]) from exc


@router.get("/summary", summary="The KPIs of issues submitted in [from, to) within the filter")
async def get_summary(
    who: Reader,
    reporting: Annotated[Reporting, Depends(runtime)],
    from_: Annotated[str | None, Query(alias="from", description="RFC 3339, or a date (00:00 Asia/Shanghai)")] = None,
    to: Annotated[str | None, Query(description="RFC 3339, or a date; defaults to now")] = None,
    grid_node: str | None = None,
    building_id: str | None = None,
    service_code: str | None = None,
) -> dict[str, Any]:
    index = reporting.directory.require()
    if grid_node is not None and grid_node not in index.nodes:
        raise HTTPException(404, f"no grid node {grid_node!r}")
    if building_id is not None and building_id not in index.buildings:
        raise HTTPException(404, f"no building {building_id!r}")
    buildings: set[str] | None = None
    if grid_node is not None:
        buildings = index.buildings_under(grid_node)
    if building_id is not None:
        buildings = {building_id} & buildings if buildings is not None else {building_id}
    if who.kind == "staff":
        scope = index.scope(who.subject)
        if buildings is None:
            buildings = scope
        elif not buildings <= scope:
            raise HTTPException(403, "the filter reaches outside your buildings")
    now = utcnow()
    start, end = _instant("from", from_), _instant("to", to) or now
    if start is not None and start >= end:
        raise RequestValidationError(
            [{"loc": ["query", "from"], "msg": "from must be before to", "type": "value_error"}]
        )
    return await summarize(
        reporting.readmodel.issues, start=start, end=end, buildings=buildings, service_code=service_code, now=now
    )
