"""`/v1/reports/...`: summary, calendar, breakdown, timeseries, ranking, overdue, grid."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from kernel.times import utcnow
from reporting.api.filters import Reader, ReportScope, Runtime
from reporting.reports.drilldown import item
from reporting.reports.grid import breakdown, grid_tree
from reporting.reports.ranking import ranking
from reporting.reports.scope import issue_row

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get("/summary", summary="The KPIs of issues submitted in [from, to) within the filter")
async def get_summary(scope: ReportScope, reporting: Runtime) -> dict[str, Any]:
    return await reporting.reports.summary(scope.filter)


@router.get(
    "/calendar",
    summary="Years without official holiday data that open issues' working-time deadlines were counted through",
)
async def get_calendar(who: Reader, reporting: Runtime) -> dict[str, Any]:
    return {"fallback_years": await reporting.reports.calendar_fallback()}


@router.get(
    "/breakdown", summary="The summary fields per grid node (children of the filter's), building, service or assignee"
)
async def get_breakdown(
    scope: ReportScope, reporting: Runtime, by: Literal["grid_node", "building", "service_code", "assignee"]
) -> dict[str, Any]:
    return {"items": await breakdown(reporting.reports, scope, by)}


@router.get("/timeseries", summary="The summary fields per day, week (from Monday) or month, in Asia/Shanghai")
async def get_timeseries(
    scope: ReportScope, reporting: Runtime, interval: Literal["day", "week", "month"] = "day"
) -> dict[str, Any]:
    return {"items": await reporting.reports.timeseries(scope.filter, interval)}


@router.get("/ranking", summary="考核排名: grid nodes by 0.1 × response + 0.5 × resolution + 0.4 × satisfaction")
async def get_ranking(
    scope: ReportScope,
    reporting: Runtime,
    weights: Annotated[
        str | None, Query(description="response,resolution,satisfaction weights, e.g. 0.1,0.5,0.4")
    ] = None,
) -> dict[str, Any]:
    w = reporting.settings.weights(weights)
    rows = await ranking(reporting.reports, scope, w)
    return {"items": rows, "weights": {"response": w[0], "resolution": w[1], "satisfaction": w[2]}}


@router.get(
    "/overdue", summary="督办: open issues past their resolve deadline within the filter, longest overdue first"
)
async def get_overdue(scope: ReportScope, reporting: Runtime) -> dict[str, Any]:
    # Who is responsible now, and how late on the SLA calendar, as the drill-down's rows say it.
    now, docs = utcnow(), await reporting.reports.overdue(scope.filter)
    return {"items": [{**issue_row(d, scope), **item(d, scope.index, reporting.calendar, now)} for d in docs]}


@router.get(
    "/grid",
    summary="The grid tree under the filter's node (else the caller's own part: the district's root for an "
    "admin), each node with its figures; nodes holding none of the filter's buildings left out",
)
async def get_grid(scope: ReportScope, reporting: Runtime) -> dict[str, Any]:
    return await grid_tree(reporting.reports, scope)
