from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError

from chassis.auth import Caller
from chassis.bodies import parse_body
from chassis.follow import follow_url
from intake.bootstrap import Intake, runtime
from intake.issues.idempotency import Conflict
from intake.issues.models import FeedbackCreate, IssueCreate, IssueCreated, IssuePage, IssueRead, Status
from intake.issues.service import NotResolved, may_give_feedback, to_read

router = APIRouter(prefix="/v1/issues", tags=["issues"])
Runtime = Annotated[Intake, Depends(runtime)]


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Retry safely: the same key and body within 24 hours give the same issue (per token subject).",
    ),
]


def created(intake: Intake, doc: dict[str, Any]) -> dict[str, Any]:
    """The issue as submitted, with the reporter's link (the same on every replay: it is derived)."""
    issue = to_read(doc)
    return {**issue, "follow_url": follow_url(intake.settings.public_url, intake.tokens, issue["id"])}


@router.post("", status_code=201, response_model=IssueCreated, summary="Submit an issue")
async def submit_issue(
    body: IssueCreate, request: Request, who: Caller, intake: Runtime, key: IdempotencyKey = None
) -> dict[str, Any]:
    return created(intake, await _submit(body, request, who, intake, key))


async def _submit(body: IssueCreate, request: Request, who: Caller, intake: Intake, key: str | None) -> dict[str, Any]:
    index = intake.directory.require()
    if body.callback_url is not None:
        reason = await intake.outbound.check_submitted(str(body.callback_url))
        if reason is not None:
            problem = {"loc": ["body", "callback_url"], "msg": f"callback_url refused: {reason}", "type": "url_refused"}
            raise RequestValidationError([problem])
    if key is None:
        return await intake.issues.submit(who, body, index, intake.directory.version)
    try:
        claim, ref = await intake.issues.keys.claim(who, key, await request.json())
    except Conflict as exc:
        raise HTTPException(409, str(exc)) from exc
    if claim == "done":
        doc = await intake.issues.get(ref, who, index)
        if doc is None:
            raise HTTPException(404, f"no issue {ref!r}")
        return doc
    try:
        doc = await intake.issues.submit(who, body, index, intake.directory.version, idempotency_record=ref)
    except BaseException:
        await intake.issues.keys.release(ref)
        raise
    return doc


FollowToken = Annotated[
    str | None,
    Header(
        alias="X-Louzhang-Follow-Token",
        max_length=200,
        description="Admin only: the reporter's link token for this issue; the feedback is then the reporter's "
        "(timeline actor `reporter`). The reporter's page sends it.",
    ),
]


@router.post(
    "/{issue_id}/feedback",
    response_model=IssueRead,
    summary="回访: satisfied or basically satisfied closes a resolved issue, dissatisfied reopens it",
)
async def give_feedback(
    issue_id: str, request: Request, who: Caller, intake: Runtime, follow_token: FollowToken = None
) -> dict[str, Any]:
    """Checked in the contract's order: 401, 404, 403, 422, 409."""
    index = intake.directory.index
    doc = await intake.issues.get(issue_id, who, index)
    if doc is None:
        raise HTTPException(404, f"no issue {issue_id!r}")
    if not may_give_feedback(who, doc, index):
        raise HTTPException(403, "feedback comes from the submitting system, staff in scope or an admin")
    actor = who.subject
    if follow_token is not None:
        # The reporter's page (reporting) relays the reporter's verdict: recorded as `reporter`
        # only for the admin, and only with the link's own token for this very issue.
        if not who.is_admin:
            raise HTTPException(403, "only the admin may relay a reporter's feedback (X-Louzhang-Follow-Token)")
        if intake.tokens.followed_issue(follow_token) != issue_id:
            raise HTTPException(403, "X-Louzhang-Follow-Token does not open this issue")
        actor = "reporter"
    verdict = parse_body(FeedbackCreate, await request.body())
    try:
        return to_read(await intake.issues.feedback(doc, who, verdict, actor=actor))
    except NotResolved as exc:
        raise HTTPException(409, str(exc)) from exc


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
