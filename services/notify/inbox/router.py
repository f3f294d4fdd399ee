from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from bson import ObjectId
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel

from chassis.auth import InvalidToken, Principal, principal, require
from chassis.paging import decode_cursor, page
from notify.bootstrap import Notify, runtime
from notify.inbox.hub import Listener, TooManyStreams
from notify.inbox.service import to_item

router = APIRouter(prefix="/v1/inbox", tags=["inbox"])
Reader = Annotated[Principal, Depends(require("staff", "admin"))]
Runtime = Annotated[Notify, Depends(runtime)]
_ITEM_ID = re.compile(r"[0-9a-fA-F]{24}")


class InboxItem(BaseModel):
    id: str
    issue_id: str
    event: str
    level: int
    title: str
    body: str
    created_at: Any
    read: bool


class InboxPage(BaseModel):
    items: list[InboxItem]
    next_cursor: str | None


def _staff_of(who: Principal, staff_id: str | None, notify: Notify) -> str:
    """Whose inbox: a staff token's own; an admin names it (a named admin's own without one). A
    `staff_id` that names nobody in the directory is a 404 (not an empty inbox or a stream that
    never says anything)."""
    if staff_id is not None and staff_id not in notify.directory.require().staff:
        raise HTTPException(404, f"no staff member {staff_id!r}")
    if who.kind == "staff":
        if staff_id not in (None, who.subject):
            raise HTTPException(403, "staff tokens read their own inbox only")
        return who.subject
    if staff_id is None and who.named:
        return who.subject
    if staff_id is None:
        raise RequestValidationError(
            [{"loc": ["query", "staff_id"], "msg": "an admin names the staff member's inbox", "type": "missing"}]
        )
    return staff_id


@router.get("", response_model=InboxPage, summary="The caller's notifications, newest first")
async def list_inbox(
    who: Reader,
    notify: Runtime,
    unread: Annotated[bool, Query(description="1: unread items only")] = False,
    staff_id: Annotated[str | None, Query(description="admin: whose inbox")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    owner = _staff_of(who, staff_id, notify)
    docs = await notify.inbox.list(owner, unread, limit, decode_cursor(cursor) if cursor else None)
    items, next_cursor = page(docs, limit)
    return {"items": [to_item(d) for d in items], "next_cursor": next_cursor}


class Ticket(BaseModel):
    ticket: str
    expires_in: int


@router.post("/ticket", response_model=Ticket, summary="A one-minute ticket for the stream, for browsers")
async def stream_ticket(
    who: Reader,
    notify: Runtime,
    staff_id: Annotated[str | None, Query(description="admin: whose inbox")] = None,
) -> Ticket:
    return Ticket(ticket=notify.tokens.issue_ticket(_staff_of(who, staff_id, notify)), expires_in=60)


async def _stream_owner(
    request: Request,
    notify: Runtime,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))],
    ticket: Annotated[str | None, Query(description="from POST /v1/inbox/ticket, for browsers")] = None,
    staff_id: Annotated[str | None, Query(description="admin: whose inbox")] = None,
) -> str:
    if ticket is not None:
        try:
            return notify.tokens.verify_ticket(ticket)
        except InvalidToken as exc:
            raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc
    who = await principal(request, credentials)
    if who.kind == "system":
        raise HTTPException(403, "system tokens have no inbox")
    return _staff_of(who, staff_id, notify)


@dataclass(frozen=True)
class Subscription:
    listener: Listener
    after: ObjectId | None


async def _subscription(
    owner: Annotated[str, Depends(_stream_owner)],
    notify: Runtime,
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", description="resume after this item id (one the stream sent)")
    ] = None,
) -> AsyncIterator[Subscription]:
    """Everything that can refuse a stream, checked before its 200 is sent: the ticket or
    token (401), the inbox (404, 403), Last-Event-ID (400), the caps (429)."""
    after = _after(last_event_id)
    try:
        listener = notify.hub.open(owner)
    except TooManyStreams as exc:
        # A dead client's stream is dropped within about one heartbeat: worth trying again then.
        retry = str(max(1, math.ceil(notify.settings.inbox_heartbeat_s)))
        raise HTTPException(429, str(exc), headers={"Retry-After": retry}) from exc
    try:
        yield Subscription(listener, after)
    finally:
        notify.hub.close(listener)


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    summary="New notifications as Server-Sent Events (`event: notification`), resuming after Last-Event-ID",
    responses={
        400: {"description": "Last-Event-ID is not an item id"},
        404: {"description": "`staff_id` names nobody"},
        429: {"description": "too many streams open for this staff member or in this process (Retry-After)"},
    },
)
async def stream_inbox(
    subscription: Annotated[Subscription, Depends(_subscription)], notify: Runtime
) -> AsyncIterator[ServerSentEvent]:
    try:
        async for doc in notify.hub.follow(
            subscription.listener, subscription.after, notify.settings.inbox_heartbeat_s
        ):
            if doc is None:
                yield ServerSentEvent(comment="heartbeat")
            else:
                yield ServerSentEvent(event="notification", data=to_item(doc), id=str(doc["_id"]))
    finally:
        notify.hub.close(subscription.listener)


def _after(last_event_id: str | None) -> ObjectId | None:
    if not last_event_id:
        return None
    if not _ITEM_ID.fullmatch(last_event_id):
        raise HTTPException(400, "Last-Event-ID is not an id this stream sent")
    return ObjectId(last_event_id)


@router.post("/{item_id}/read", response_model=InboxItem, summary="Mark an item read")
async def mark_read(item_id: str, who: Reader, notify: Runtime) -> dict[str, Any]:
    doc = await notify.inbox.mark_read(item_id, None if who.is_admin else who.subject)
    if doc is None:
        raise HTTPException(404, f"no inbox item {item_id!r}")
    return to_item(doc)
