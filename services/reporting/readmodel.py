"""The per-issue read model, folded from events in any order, each applied once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from louzhang.events import Event, IssueFeedback, IssueSubmitted, WorkOrderChanged
from louzhang.store import Store

Stage = dict[str, Any]
SEQ = {"$ifNull": ["$seq", 0]}


def fold_submitted(issue: IssueSubmitted) -> list[Stage]:
    """Submission facts; the building and service only while no work-order snapshot holds newer ones."""
    keep_if_dispatched = {"$gt": [SEQ, 0]}
    return [
        {
            "$set": {
                "submitted_at": issue.created_at,
                "source": {"$literal": issue.source},
                "building_id": {"$cond": [keep_if_dispatched, "$building_id", {"$literal": issue.building_id}]},
                "service_code": {"$cond": [keep_if_dispatched, "$service_code", {"$literal": issue.service_code}]},
                "status": {"$ifNull": ["$status", "received"]},
                "seq": SEQ,
            }
        }
    ]


def fold_work_order(name: str, change: WorkOrderChanged) -> list[Stage]:
    """The latest snapshot wins by `seq`; first acknowledgement, first deadline, latest
    resolution and the reopen count accumulate whatever the order."""
    newer = {"$lt": [SEQ, change.seq]}

    def latest(field: str, value: Any) -> Stage:
        return {"$cond": [newer, {"$literal": value}, f"${field}"]}

    snapshot = {
        "status": change.status,
        "building_id": change.building_id,
        "service_code": change.service_code,
        "resolve_due": change.resolve_due,
        "overdue": change.overdue,
        "assignees": [a.id for a in change.assignees],
    }
    stage: dict[str, Any] = {field: latest(field, value) for field, value in snapshot.items()}
    stage["seq"] = {"$max": [SEQ, change.seq]}
    facts: dict[str, tuple[str, str, datetime | None]] = {
        "issue.assigned": ("first_ack_due", "$min", change.acknowledge_due),
        "issue.acknowledged": ("acknowledged_at", "$min", change.time),
        "issue.resolved": ("resolved_at", "$max", change.time),
    }
    if name in facts:
        field, op, value = facts[name]
        stage[field] = {op: [f"${field}", value]}
    stage["reopened"] = {"$max": [{"$ifNull": ["$reopened", 0]}, change.reopened]}
    return [{"$set": stage}]


def fold_feedback(verdict: IssueFeedback) -> list[Stage]:
    """The latest feedback per issue counts."""
    later = {"$gte": [verdict.time, {"$ifNull": ["$feedback_at", verdict.time]}]}
    return [
        {
            "$set": {
                "feedback": {"$cond": [later, verdict.satisfaction, "$feedback"]},
                "feedback_at": {"$cond": [later, verdict.time, "$feedback_at"]},
            }
        }
    ]


class ReadModel:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.issues = store.col("issues")
        self.events = store.col("events")

    async def ensure_indexes(self) -> None:
        await self.issues.create_index([("submitted_at", 1)])
        await self.issues.create_index([("building_id", 1), ("submitted_at", 1)])
        await self.events.create_index([("time", 1)])

    async def keep(self, event: Event, session: AsyncClientSession | None = None) -> None:
        """Store the event as it came, so that the read models can be rebuilt by replaying them."""
        doc = {"_id": event.id, "name": event.name, "time": event.time, "event": event.model_dump(mode="json")}
        try:
            await self.events.insert_one(doc, session=session)
        except DuplicateKeyError:
            if session is not None:
                raise

    async def apply(self, event: Event, data: IssueSubmitted | WorkOrderChanged | IssueFeedback) -> None:
        if isinstance(data, IssueSubmitted):
            issue_id, pipeline = data.id, fold_submitted(data)
        elif isinstance(data, IssueFeedback):
            issue_id, pipeline = data.issue_id, fold_feedback(data)
        else:
            issue_id, pipeline = data.issue_id, fold_work_order(event.name, data)

        async def effect(session: AsyncClientSession) -> list[Event]:
            await self.keep(event, session)
            await self.issues.update_one({"_id": issue_id}, pipeline, upsert=True, session=session)
            return []

        await self.store.once("reporting.issues", event, effect)
