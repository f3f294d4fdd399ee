from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from chassis.auth import Admin, Caller, Principal, require
from chassis.bodies import parse_body
from chassis.paging import decode_cursor_text, page
from routing.bootstrap import Routing, runtime
from routing.workorders import states
from routing.workorders.access import Forbidden, Invalid, visible
from routing.workorders.models import BODIES, WorkOrderPage, WorkOrderRead, to_read
from routing.workorders.photos import NotAnImage, Photo, TooMany
from routing.workorders.service import NotFound

router = APIRouter(prefix="/v1/workorders", tags=["work orders"])
Runtime = Annotated[Routing, Depends(runtime)]
Reader = Annotated[Principal, Depends(require("staff", "admin"))]


@router.get("", response_model=WorkOrderPage, summary="Work orders within the caller's scope, newest first")
async def list_workorders(
    who: Reader,
    routing: Runtime,
    assignee: Annotated[str | None, Query(description="`me`, or a staff id")] = None,
    status: states.Status | None = None,
    building_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    index = await routing.workorders.index()
    filters: dict[str, Any] = {}
    if assignee is not None:
        if assignee == "me" and who.staff_id is None:
            raise RequestValidationError(
                [{"loc": ["query", "assignee"], "msg": "the admin token is nobody's assignee", "type": "value_error"}]
            )
        filters["assignees"] = who.staff_id if assignee == "me" else assignee
    if status is not None:
        filters["status"] = status
    if building_id is not None:
        filters["building_id"] = building_id
    after = decode_cursor_text(cursor) if cursor else None
    orders, next_cursor = page(await routing.workorders.list(who, index, filters, limit, after), limit)
    return {"items": [to_read(o, index, routing.workorders.calendar) for o in orders], "next_cursor": next_cursor}


@router.get("/{issue_id}", response_model=WorkOrderRead, summary="One work order")
async def get_workorder(issue_id: str, who: Reader, routing: Runtime) -> dict[str, Any]:
    index = await routing.workorders.index()
    try:
        order = await routing.workorders.get(issue_id)
    except NotFound as exc:
        raise HTTPException(404, f"no work order for issue {issue_id!r}") from exc
    if not visible(who, order, index):
        # As for an unknown id: a 403 would tell that the issue exists.
        raise HTTPException(404, f"no work order for issue {issue_id!r}")
    return to_read(order, index, routing.workorders.calendar)


def _action_doc(action: states.Action) -> dict[str, Any]:
    allowed, target = states.ACTIONS[action]
    schema = BODIES[action].model_json_schema()
    return {
        "summary": f"{action}: {' | '.join(sorted(allowed))} -> {target}",
        "openapi_extra": {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}},
    }


async def _act(action: states.Action, issue_id: str, request: Request, who: Caller, routing: Routing) -> dict[str, Any]:
    """Checked in the contract's order: 401 (dependency), 404, 403, 422, 409."""
    try:
        body = parse_body(BODIES[action], await request.body()).model_dump()
    except RequestValidationError:
        await _authorize(routing, issue_id, who, action)
        raise
    try:
        order = await routing.workorders.act(issue_id, who, action, body)
    except NotFound as exc:
        raise HTTPException(404, f"no work order for issue {issue_id!r}") from exc
    except Forbidden as exc:
        raise HTTPException(403, str(exc)) from exc
    except Invalid as exc:
        raise RequestValidationError([{"loc": ["body", exc.loc], "msg": str(exc), "type": exc.kind}]) from exc
    except states.NotAllowed as exc:
        raise HTTPException(409, str(exc)) from exc
    index = await routing.workorders.index()
    return to_read(order, index, routing.workorders.calendar)


async def _authorize(routing: Routing, issue_id: str, who: Principal, action: states.Action) -> None:
    """404 and 403 come before a 422 for the body."""
    try:
        await routing.workorders.authorize(issue_id, who, action)
    except NotFound as exc:
        raise HTTPException(404, f"no work order for issue {issue_id!r}") from exc
    except Forbidden as exc:
        raise HTTPException(403, str(exc)) from exc


class PhotoRead(BaseModel):
    id: str
    content_type: str
    size: int


@router.post(
    "/{issue_id}/photos",
    status_code=201,
    response_model=PhotoRead,
    summary="Add a photo of the result (办结), while the order is open: an image by its content",
    responses={413: {"description": "larger than LOUZHANG_PHOTO_MAX_BYTES"}, 409: {"description": "not open"}},
)
async def add_photo(
    issue_id: str,
    file: Annotated[UploadFile, File(description="JPEG, PNG, GIF or WebP")],
    who: Caller,
    routing: Runtime,
) -> dict[str, Any]:
    limit = routing.settings.photo_max_bytes
    data = await file.read(limit + 1)
    try:
        await routing.workorders.authorize(issue_id, who, "resolve")
        if len(data) > limit:
            raise HTTPException(413, f"a photo is at most {limit} bytes")
        return await routing.workorders.add_photo(issue_id, who, data)
    except NotFound as exc:
        raise HTTPException(404, f"no work order for issue {issue_id!r}") from exc
    except Forbidden as exc:
        raise HTTPException(403, str(exc)) from exc
    except (NotAnImage, TooMany) as exc:
        raise RequestValidationError([{"loc": ["body", "file"], "msg": str(exc), "type": "value_error"}]) from exc
    except states.NotAllowed as exc:
        raise HTTPException(409, str(exc)) from exc


@router.get(
    "/{issue_id}/photos/{photo_id}",
    summary="One photo of the result, for those who may read the order",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/gif": {}, "image/webp": {}}}},
)
async def get_photo(issue_id: str, photo_id: str, who: Reader, routing: Runtime) -> Response:
    index = await routing.workorders.index()
    try:
        order = await routing.workorders.get(issue_id)
    except NotFound as exc:
        raise HTTPException(404, "no such photo") from exc
    found = await routing.workorders.photos.get(photo_id)
    if not visible(who, order, index) or found is None or found[0] != issue_id:
        raise HTTPException(404, "no such photo")
    return photo_response(found[1])


photos_router = APIRouter(prefix="/v1/photos", tags=["work orders"])


@photos_router.get(
    "/{photo_id}",
    summary="A photo by its id alone (admin: the public page that Open311's media_url names asks for it)",
    response_class=Response,
)
async def get_photo_by_id(photo_id: str, _: Admin, routing: Runtime) -> Response:
    found = await routing.workorders.photos.get(photo_id)
    if found is None:
        raise HTTPException(404, "no such photo")
    return photo_response(found[1])


def photo_response(photo: Photo) -> Response:
    headers = {"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"}
    return Response(photo.data, media_type=photo.content_type, headers=headers)


def _register(action: states.Action) -> None:
    async def endpoint(issue_id: str, request: Request, who: Caller, routing: Runtime) -> dict[str, Any]:
        return await _act(action, issue_id, request, who, routing)

    endpoint.__name__ = f"{action}_workorder"
    router.post(f"/{{issue_id}}/{action}", response_model=WorkOrderRead, **_action_doc(action))(endpoint)


for _action in states.ACTIONS:
    _register(_action)
