from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from intake.bootstrap import Intake, runtime
from intake.issues.models import IssueCreate, IssuePage, IssueRead, Status
from intake.issues.service import to_read
from louzhang.auth import Caller

router = APIRouter(prefix="/v1/issues", tags=["issues"])
Runtime = Annotated[Intake, Depends(runtime)]


@router.post("", status_code=201, response_model=IssueRead, summary="Submit an issue")
async def submit_issue(body: IssueCreate, who: Caller, intake: Runtime) -> dict[str, Any]:
    index = intake.directory.require()
    doc = await intake.issues.submit(who, body, index, intake.directory.version)
    return to_read(doc)


@router.get("/{issue_id}", response_model=IssueRead, summary="An issue's public status view")
async def get_issue(issue_id: str, who: Caller, intake: Runtime) -> dict[str, Any]:
    doc = await intake.issues.get(issue_id, who, intake.directory.index)
    if doc is None:
        raise HTTPException(404, f"no issue {issue_id!r}")
    return to_read(doc)


@router.get("", response_model=IssuePage, summary="Issues visible to the caller, newest first")
async def list_issues(
    who: Caller,
    intake: Runtime,
    status: Status | None = None,
    building_id: str | None = None,
    service_code: str | None = None,
    grid_node: str | None = None,
    source: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    index = intake.directory.index
    filters: dict[str, Any] = {
        k: v
        for k, v in (
            ("status", status),
            ("building_id", building_id),
            ("service_code", service_code),
            ("source", source),
        )
        if v is not None
    }
    if grid_node is not None:
        filters.setdefault("$and", []).append(
            {"building_id": {"$in": sorted(index.buildings_under(grid_node)) if index else []}}
        )
    docs, next_cursor = await intake.issues.list(who, index, filters, limit, cursor)
    return {"items": [to_read(d) for d in docs], "next_cursor": next_cursor}
