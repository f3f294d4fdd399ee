from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from chassis.auth import Admin
from chassis.paging import decode_cursor, page
from notify.bootstrap import Notify, runtime
from notify.deliveries.service import to_record

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])

Channel = Literal["inbox", "webhook", "wecom", "dingtalk", "email", "callback"]
Status = Literal["pending", "sent", "failed"]


class Record(BaseModel):
    id: str
    event_id: str
    event: str
    issue_id: str
    recipient: str | None
    channel: Channel
    status: Status
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class RecordPage(BaseModel):
    items: list[Record]
    next_cursor: str | None


@router.get("", response_model=RecordPage, summary="The delivery ledger: one record per (event, recipient, channel)")
async def list_notifications(
    _: Admin,
    notify: Annotated[Notify, Depends(runtime)],
    issue_id: str | None = None,
    recipient: str | None = None,
    channel: Channel | None = None,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    filters = {
        k: v
        for k, v in (("issue_id", issue_id), ("recipient", recipient), ("channel", channel), ("status", status))
        if v is not None
    }
    docs = await notify.deliveries.list(filters, limit, decode_cursor(cursor) if cursor else None)
    items, next_cursor = page(docs, limit)
    return {"items": [to_record(d) for d in items], "next_cursor": next_cursor}
