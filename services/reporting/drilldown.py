"""Drill-down: the issues behind a figure of the summary (`GET /v1/reports/issues?measure=`).

Each measure selects exactly the issues the summary's figure of that name counts: the issues
submitted in the window (not rejected), within the filter's buildings and service, whose
contribution to that counter is 1. The condition is `fold.contribution_expressions`, the very
expression the summary sums over the issues of partial days (and that is kept equal to
`fold.contribution`, which feeds the cells), so the list and the figure cannot drift apart.

Rows name who is responsible now (the escalation chain's current level, as routing publishes
it) and, for an issue past its resolve deadline, how long it is overdue on its service's SLA
calendar (working time on the working calendar), counted at the time of the request.
"""

from __future__ import annotations

import functools
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.exceptions import RequestValidationError
from pymongo import ASCENDING, DESCENDING

from louzhang.directory import DirectoryIndex, GridNode
from louzhang.paging import decode_cursor_text, encode_cursor
from louzhang.store import utcnow
from reporting import counters as C
from reporting import fold
from reporting.bootstrap import Reporting, runtime
from reporting.filters import ReportScope, Scope
from reporting.queries import Filter
from routing.sla.calendar import WorkingCalendar

Doc = dict[str, Any]

# The summary's counts of issues, each a measure (visit coverage counts enterprises, not issues).
MEASURES: tuple[str, ...] = C.SCALARS
# 督办 first: the longest overdue at the top. Every other list newest first (the contract's order).
OVERDUE = "overdue_open"

router = APIRouter(prefix="/v1/reports", tags=["reports"])
Runtime = Annotated[Reporting, Depends(runtime)]


# ---- selecting (pure) ----------------------------------------------------------


def check_measure(measure: str) -> str:
    if measure not in MEASURES:
        raise RequestValidationError(
            [
                {
                    "loc": ["query", "measure"],
                    "msg": f"unknown measure {measure!r}: one of {', '.join(MEASURES)}",
                    "type": "enum",
                    "input": measure,
                }
            ]
        )
    return measure


def population(f: Filter) -> Doc:
    """The issues the summary counts over `f`: submitted in [start, end), not rejected, within the
    filter's buildings (every building when None) and service."""
    submitted: Doc = {"$lt": f.end} if f.start is None else {"$gte": f.start, "$lt": f.end}
    query: Doc = {"submitted_at": submitted, "status": {"$ne": "rejected"}}
    if f.buildings is not None:
        query["building_id"] = {"$in": sorted(f.buildings)}
    if f.service_code is not None:
        query["service_code"] = f.service_code
    return query


def selection(f: Filter, measure: str) -> Doc:
    """The MongoDB query for the issues behind `measure` over `f`."""
    query = population(f)
    if measure == OVERDUE:
        query["overdue"] = True  # implied by the condition; lets the 督办 index serve the list
    if measure != "total":
        query["$expr"] = {"$eq": [fold.contribution_expressions()[measure], 1]}
    return query


def order(measure: str) -> tuple[str, int]:
    """The field a list is sorted by (then `_id` the same way), and the direction."""
    return ("resolve_due", ASCENDING) if measure == OVERDUE else ("submitted_at", DESCENDING)


def encode(doc: Doc, measure: str) -> str:
    field, _ = order(measure)
    at: datetime | None = doc.get(field)
    millis = int(at.timestamp() * 1000) if at is not None else 0
    return encode_cursor(f"{millis}.{doc['_id']}")


def after(cursor: str, measure: str) -> Doc:
    """What follows the cursor's issue in the measure's order; 422 for a cursor not handed out here."""
    text = decode_cursor_text(cursor)
    try:
        millis, last_id = text.split(".")
        at = datetime.fromtimestamp(int(millis) / 1000, UTC)
        if not last_id:
            raise ValueError("no id")
    except (ValueError, OverflowError, OSError) as exc:
        raise RequestValidationError(
            [{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "value_error"}]
        ) from exc
    field, direction = order(measure)
    beyond = "$gt" if direction == ASCENDING else "$lt"
    return {"$or": [{field: {beyond: at}}, {field: at, "_id": {beyond: last_id}}]}


def responsible(doc: Doc) -> list[str]:
    """Who is responsible now; documents folded before routing published it name the assignees."""
    return list(doc.get("responsible") or doc.get("assignees") or [])


def item(doc: Doc, index: DirectoryIndex, calendar: WorkingCalendar, now: datetime) -> Doc:
    """A row of the list; open issues past their resolve deadline (督办) add how late they are."""
    building = index.buildings.get(doc.get("building_id", ""))
    service = index.services.get(doc.get("service_code", ""))
    row: Doc = {
        "id": doc["_id"],
        "title": doc.get("title"),
        "status": doc.get("status"),
        "building_id": doc.get("building_id"),
        "building": building.name if building else doc.get("building_id"),
        "service_code": doc.get("service_code"),
        "service": service.name if service else doc.get("service_code"),
        "submitted_at": doc.get("submitted_at"),
        "resolve_due": doc.get("resolve_due"),
        "overdue": bool(doc.get("overdue")),
        "responsible": [{"id": s, "name": index.staff_name(s)} for s in responsible(doc)],
    }
    due = doc.get("resolve_due")
    if doc.get("overdue") and doc.get("status") not in fold.DONE and due is not None:
        kind = service.sla.calendar if service else "natural"
        row["overdue_working_seconds"] = int(calendar.late_by(due, now, kind).total_seconds())
    return row


def own_root(index: DirectoryIndex, buildings: AbstractSet[str] | None) -> GridNode:
    """The lowest grid node whose subtree holds all of `buildings` (the district's root for every
    building): where a head's own part of the grid starts, so that a 点楼长 sees their part rather
    than the whole district."""
    node = index.directory.grid
    if buildings is None:
        return node
    while True:
        below = next((c for c in node.children if buildings <= index.buildings_under(c.id)), None)
        if below is None or not buildings:
            return node
        node = below


# ---- reading -----------------------------------------------------------------------


@functools.cache
def _calendar(work_hours: str, holidays_file: Path | None) -> WorkingCalendar:
    return WorkingCalendar.from_config(work_hours, holidays_file)


def calendar_of(reporting: Reporting) -> WorkingCalendar:
    """The SLA working calendar, as routing counts it (the same LOUZHANG_WORK_HOURS and
    LOUZHANG_HOLIDAYS_FILE)."""
    return _calendar(reporting.settings.work_hours, reporting.settings.holidays_file)


async def issues(
    reporting: Reporting, scope: Scope, measure: str, limit: int, cursor: str | None
) -> tuple[list[Doc], str | None]:
    query = selection(scope.filter, measure)
    if cursor:
        query = {"$and": [query, after(cursor, measure)]}
    field, direction = order(measure)
    found = (
        await reporting.readmodel.issues.find(query)
        .sort([(field, direction), ("_id", direction)])
        .limit(limit + 1)
        .to_list()
    )
    next_cursor = encode(found[limit - 1], measure) if len(found) > limit else None
    now, calendar = utcnow(), calendar_of(reporting)
    return [item(d, scope.index, calendar, now) for d in found[:limit]], next_cursor


@router.get(
    "/issues",
    summary="The issues behind a summary figure (measure), with the summary's filter: newest first, "
    "督办 (overdue_open) longest overdue first",
)
async def get_issues(
    scope: ReportScope,
    reporting: Runtime,
    measure: Annotated[str, Query(description=f"a summary count: {', '.join(MEASURES)}")] = "total",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    items, next_cursor = await issues(reporting, scope, check_measure(measure), limit, cursor)
    return {"items": items, "next_cursor": next_cursor}
