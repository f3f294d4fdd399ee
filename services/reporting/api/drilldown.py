"""`GET /v1/reports/issues?measure=`: the issues behind a figure of the summary (reports/drilldown.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError

from reporting.api.filters import ReportScope, Runtime
from reporting.reports import drilldown
from reporting.reports.drilldown import MEASURES

router = APIRouter(prefix="/v1/reports", tags=["reports"])


def _invalid(name: str, message: str, kind: str, given: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ["query", name], "msg": message, "type": kind, "input": given}])


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
    if measure not in MEASURES:
        raise _invalid("measure", f"unknown measure {measure!r}: one of {', '.join(MEASURES)}", "enum", measure)
    try:
        items, next_cursor = await drilldown.issues(
            reporting.reports, scope, measure, limit, cursor, reporting.calendar
        )
    except ValueError as exc:
        raise _invalid("cursor", str(exc), "value_error", cursor or "") from exc
    return {"items": items, "next_cursor": next_cursor}
