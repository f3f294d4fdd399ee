"""The in-app inbox: one item per (event, recipient), written once however often the event arrives."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import DESCENDING, ReturnDocument

from chassis.store import Store
from kernel.events import Event, WorkOrderChanged
from kernel.times import utcnow
from notify.channels.base import Message

Doc = dict[str, Any]


class Inbox:
    def __init__(self, store: Store) -> None:
        self.items = store.col("inbox")

    async def ensure_indexes(self) -> None:
        await self.items.create_index([("event_id", 1), ("staff_id", 1)], unique=True)
        await self.items.create_index([("staff_id", 1), ("read", 1), ("_id", DESCENDING)])
        await self.items.create_index([("staff_id", 1), ("created_at", 1), ("_id", 1)])  # resuming a stream

    @staticmethod
    def item(event: Event, change: WorkOrderChanged, message: Message, staff_id: str, now: datetime) -> Doc:
        return {
            "_id": ObjectId(),
            "event_id": event.id,
            "staff_id": staff_id,
            "issue_id": change.issue_id,
            "event": event.name,
            "level": change.escalation_level,
            "title": message.title,
            "body": message.body,
            "created_at": now,
            "read": False,
        }

    async def add(self, items: list[Doc], *, session: Any) -> None:
        """Store new inbox items, within the caller's transaction (the delivery records go with them)."""
        await self.items.insert_many(items, session=session)

    async def settle_assignment(self, issue_id: str, staff_ids: list[str], *, session: Any) -> None:
        """The order went to someone else: its 【新工单】 items of these people no longer ask for them."""
        await self.items.update_many(
            {"issue_id": issue_id, "staff_id": {"$in": staff_ids}, "event": "issue.assigned", "read": False},
            {"$set": {"read": True, "read_at": utcnow()}},
            session=session,
        )

    async def list(self, staff_id: str, unread: bool, limit: int, before: ObjectId | None) -> list[Doc]:
        query: Doc = {"staff_id": staff_id}
        if unread:
            query["read"] = False
        if before is not None:
            query["_id"] = {"$lt": before}
        return await self.items.find(query).sort("_id", DESCENDING).limit(limit + 1).to_list()

    async def mark_read(self, item_id: str, staff_id: str | None) -> Doc | None:
        try:
            query: Doc = {"_id": ObjectId(item_id)}
        except InvalidId:
            return None
        if staff_id is not None:
            query["staff_id"] = staff_id
        return await self.items.find_one_and_update(
            query, {"$set": {"read": True, "read_at": utcnow()}}, return_document=ReturnDocument.AFTER
        )


def to_item(doc: Doc) -> Doc:
    return {
        "id": str(doc["_id"]),
        "issue_id": doc["issue_id"],
        "event": doc["event"],
        "level": doc["level"],
        "title": doc["title"],
        "body": doc["body"],
        "created_at": doc["created_at"],
        "read": doc["read"],
    }
