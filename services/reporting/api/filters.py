"""What every report endpoint shares: the reader, the runtime, and the report filter (window, grid
subtree, building, service) checked against the reader's scope."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Query
from fastapi.exceptions import RequestValidationError

from chassis.auth import Principal, require
from kernel.times import parse_instant, utcnow
from reporting.bootstrap import Reporting, runtime
from reporting.reports.queries import Filter
from reporting.reports.scope import Scope

Reader = Annotated[Principal, Depends(require("staff", "admin"))]
Runtime = Annotated[Reporting, Depends(runtime)]


def _instant(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise RequestValidationError([{"loc": ["query", name], "msg": str(exc), "type": "datetime_parsing"}]) from exc


async def report_scope(
    who: Reader,
    reporting: Runtime,
    from_: Annotated[str | None, Query(alias="from", description="RFC 3339, or a date (00:00 Asia/Shanghai)")] = None,
    to: Annotated[str | None, Query(description="RFC 3339, or a date; defaults to now")] = None,
    grid_node: Annotated[str | None, Query(description="a grid node: its whole subtree")] = None,
    building_id: str | None = None,
    service_code: str | None = None,
) -> Scope:
    """Checked in the contract's order: 404 (unknown node or building), 403 (outside scope), 422."""
    index = reporting.directory.require()
    if grid_node is not None and grid_node not in index.nodes:
        raise HTTPException(404, f"no grid node {grid_node!r}")
    if building_id is not None and building_id not in index.buildings:
        raise HTTPException(404, f"no building {building_id!r}")
    buildings: AbstractSet[str] | None = None
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
    start, end = _instant("from", from_), _instant("to", to) or utcnow()
    if start is not None and start >= end:
        raise RequestValidationError(
            [{"loc": ["query", "from"], "msg": "from must be before to", "type": "value_error"}]
        )
    f = Filter(start, end, frozenset(buildings) if buildings is not None else None, service_code)
    return Scope(f, index, grid_node, who)


ReportScope = Annotated[Scope, Depends(report_scope)]
