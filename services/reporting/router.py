from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from louzhang.directory import GridNode
from louzhang.store import utcnow
from reporting import counters as C
from reporting.bootstrap import Reporting, runtime
from reporting.drilldown import calendar_of, item, own_root
from reporting.filters import Reader, ReportScope, Scope
from reporting.kpis import score

router = APIRouter(prefix="/v1/reports", tags=["reports"])
Runtime = Annotated[Reporting, Depends(runtime)]


@router.get("/summary", summary="The KPIs of issues submitted in [from, to) within the filter")
async def get_summary(scope: ReportScope, reporting: Runtime) -> dict[str, Any]:
    return await reporting.reports.summary(scope.filter)


@router.get(
    "/calendar",
    summary="Years without official holiday data that open issues' working-time deadlines were counted through",
)
async def get_calendar(who: Reader, reporting: Runtime) -> dict[str, Any]:
    return {"fallback_years": await reporting.reports.calendar_fallback()}


def node_groups(scope: Scope) -> dict[str, set[str]]:
    """Each child of the filter's grid node (the root when none) with its subtree's buildings."""
    index = scope.index
    parent = index.nodes[scope.grid_node] if scope.grid_node else index.directory.grid
    allowed = scope.filter.buildings
    groups = {}
    for child in parent.children:
        buildings = index.buildings_under(child.id)
        if allowed is not None:
            buildings &= allowed
            if not buildings:
                continue  # outside the filter (another building, or another staff member's grid)
        groups[child.id] = buildings
    return groups


def names_for(scope: Scope, by: str) -> dict[str, str]:
    index = scope.index
    if by == "grid_node":
        return {n.id: n.name for n in index.nodes.values()}
    if by == "building_id":
        return {b.id: b.name for b in index.buildings.values()}
    if by == "service_code":
        return {s.code: s.name for s in index.services.values()}
    return {s.id: s.name for s in index.staff.values()}


@router.get(
    "/breakdown", summary="The summary fields per grid node (children of the filter's), building, service or assignee"
)
async def get_breakdown(
    scope: ReportScope, reporting: Runtime, by: Literal["grid_node", "building", "service_code", "assignee"]
) -> dict[str, Any]:
    field = "building_id" if by == "building" else by
    groups = node_groups(scope) if by == "grid_node" else None
    rows = await reporting.reports.breakdown(scope.filter, field, names_for(scope, field), groups)
    return {"items": rows}


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
    rows = await reporting.reports.breakdown(
        scope.filter, "grid_node", names_for(scope, "grid_node"), node_groups(scope)
    )
    for row in rows:
        row["score"] = score(row, w)
    rows.sort(key=lambda r: (-r["score"], r["key"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return {"items": rows, "weights": {"response": w[0], "resolution": w[1], "satisfaction": w[2]}}


def issue_row(doc: dict[str, Any], scope: Scope) -> dict[str, Any]:
    index = scope.index
    building = index.buildings.get(doc.get("building_id", ""))
    service = index.services.get(doc.get("service_code", ""))
    return {
        "id": doc["_id"],
        "title": doc.get("title"),
        "building_id": doc.get("building_id"),
        "building": building.name if building else doc.get("building_id"),
        "service_code": doc.get("service_code"),
        "service": service.name if service else doc.get("service_code"),
        "status": doc.get("status"),
        "submitted_at": doc.get("submitted_at"),
        "resolve_due": doc.get("resolve_due"),
        "overdue": bool(doc.get("overdue")),
        "assignees": [{"id": s, "name": index.staff_name(s)} for s in doc.get("assignees", [])],
    }


@router.get(
    "/overdue", summary="督办: open issues past their resolve deadline within the filter, longest overdue first"
)
async def get_overdue(scope: ReportScope, reporting: Runtime) -> dict[str, Any]:
    # Who is responsible now, and how late on the SLA calendar, as the drill-down's rows say it.
    now, calendar = utcnow(), calendar_of(reporting)
    docs = await reporting.reports.overdue(scope.filter)
    return {"items": [{**issue_row(d, scope), **item(d, scope.index, calendar, now)} for d in docs]}


@router.get(
    "/grid",
    summary="The grid tree under the filter's node (else the caller's own part: the district's root for an "
    "admin), each node with its figures; nodes holding none of the filter's buildings left out",
)
async def get_grid(scope: ReportScope, reporting: Runtime) -> dict[str, Any]:
    counts, cover = await reporting.reports.by_building(scope.filter)
    index = scope.index
    allowed = scope.filter.buildings

    def node(n: GridNode) -> dict[str, Any]:
        # A node none of whose buildings the filter holds is left out: a head sees their own part.
        children = [node(c) for c in n.children if allowed is None or index.buildings_under(c.id) & allowed]
        total = C.total([*(counts.get(b, {}) for b in index.buildings_under(n.id) if allowed is None or b in allowed)])
        for b in index.buildings_under(n.id):
            if allowed is None or b in allowed:
                C.add(total, cover.get(b, {}))
        return {"id": n.id, "name": n.name, "heads": n.heads, "figures": C.figures(total), "children": children}

    # Without a node asked for, a head's own part of the grid (the district's for an admin).
    root = index.nodes[scope.grid_node] if scope.grid_node else own_root(index, allowed)
    return node(root)
