from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from louzhang.auth import Principal, require
from louzhang.paging import decode_cursor, page
from notify.bootstrap import Notify, runtime
from notify.inbox.service import to_item

router = APIRouter(prefix="/v1/inbox", tags=["inbox"])
Reader = Annotated[Principal, Depends(require("staff", "admin"))]
Runtime = Annotated[Notify, Depends(runtime)]


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


def _staff_of(who: Principal, staff_id: str | None) -> str:
    if who.kind == "staff":
        if staff_id not in (None, who.subject):
            raise HTTPException(403, "staff tokens read their own inbox only")
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
    owner = _staff_of(who, staff_id)
    docs = await notify.inbox.list(owner, unread, limit, decode_cursor(cursor) if cursor else None)
    items, next_cursor = page(docs, limit)
    return {"items": [to_item(d) for d in items], "next_cursor": next_cursor}


@router.post("/{item_id}/read", response_model=InboxItem, summary="Mark an item read")
async def mark_read(item_id: str, who: Reader, notify: Runtime) -> dict[str, Any]:
    doc = await notify.inbox.mark_read(item_id, None if who.is_admin else who.subject)
    if doc is None:
        raise HTTPException(404, f"no inbox item {item_id!r}")
    return to_item(doc)
