"""Drill-down: the issues behind a figure of the summary (`GET /v1/reports/issues?measure=`).

Each measure selects exactly the issues the summary's figure of that name counts: the issues
submitted in the window (not rejected), within the filter's buildings and service, whose
contribution to that counter is 1. The condition is `counters.contribution_expressions`, the very
expression the summary sums over the issues of partial days (and that is kept equal to
`counters.contribution`, which feeds the cells), so the list and the figure cannot drift apart.

Rows name who is responsible now (the escalation chain's current level, as routing publishes
it) and, for an issue past its resolve deadline, how long it is overdue on its service's SLA
calendar (working time on the working calendar), counted at the time of the request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING

from chassis.paging import decode_cursor_text, encode_cursor
from kernel.directory import DirectoryIndex
from kernel.sla.calendar import WorkingCalendar
from kernel.times import utcnow
from reporting.readmodel import counters
from reporting.reports.queries import Filter, Reports, issue_query
from reporting.reports.scope import Scope

Doc = dict[str, Any]

# The summary's counts of issues, each a measure (visit coverage counts enterprises, not issues).
MEASURES: tuple[str, ...] = counters.SCALARS
# 督办 first: the longest overdue at the top. Every other list newest first (the contract's order).
OVERDUE = "overdue_open"


def selection(f: Filter, measure: str) -> Doc:
    """The MongoDB query for the issues behind `measure` over `f`."""
    query = issue_query(f, [(f.start, f.end)])
    if measure == OVERDUE:
        query["overdue"] = True  # implied by the condition; lets the 督办 index serve the list
    if measure != "total":
        query["$expr"] = {"$eq": [counters.contribution_expressions()[measure], 1]}
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
    """What follows the cursor's issue in the measure's order; ValueError for a cursor not handed out here."""
    text = decode_cursor_text(cursor)
    try:
        millis, last_id = text.split(".")
        at = datetime.fromtimestamp(int(millis) / 1000, UTC)
        if not last_id:
            raise ValueError("no id")
    except (ValueError, OverflowError, OSError) as exc:
        raise ValueError("invalid cursor") from exc
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
    if doc.get("overdue") and doc.get("status") not in counters.DONE and due is not None:
        kind = service.sla.calendar if service else "natural"
        row["overdue_working_seconds"] = int(calendar.late_by(due, now, kind).total_seconds())
    return row


async def issues(
    reports: Reports, scope: Scope, measure: str, limit: int, cursor: str | None, calendar: WorkingCalendar
) -> tuple[list[Doc], str | None]:
    """A page of the issues behind `measure` within the scope's filter, and the next page's cursor."""
    query = selection(scope.filter, measure)
    if cursor:
        query = {"$and": [query, after(cursor, measure)]}
    field, direction = order(measure)
    found = await reports.issues(query, [(field, direction), ("_id", direction)], limit + 1)
    next_cursor = encode(found[limit - 1], measure) if len(found) > limit else None
    now = utcnow()
    return [item(d, scope.index, calendar, now) for d in found[:limit]], next_cursor
