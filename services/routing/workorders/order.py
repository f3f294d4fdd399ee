"""A work order as a value: what `routing_workorders` stores, field for field.

`WorkOrder.from_doc(doc).to_doc() == doc` for every document routing writes: the same field
names and values (optional fields absent until they are set, as before).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kernel.sla.deadlines import Terms
from routing.workorders.states import Status

Doc = dict[str, Any]


@dataclass(frozen=True)
class Entry:
    """One line of the work order's timeline: `type` is the event's name without `issue.`."""

    type: str
    time: datetime
    actor: str
    note: str | None = None

    def to_doc(self) -> Doc:
        return {"type": self.type, "time": self.time, "actor": self.actor, "note": self.note}


@dataclass(frozen=True)
class WorkOrder:
    id: str
    seq: int
    title: str
    description: str | None
    reporter: Mapping[str, Any] | None
    submitted_at: datetime
    submitted_by: Mapping[str, Any]
    callback_url: str | None
    possible_duplicate_of: str | None
    timeline: tuple[Entry, ...]
    # Where it stands
    building_id: str
    service_code: str
    grid_node: str
    status: Status
    assignees: tuple[str, ...]
    chain: tuple[tuple[str, ...], ...]
    level: int
    # Everyone ever told of the order (only grows: they keep the read access that gave them).
    notified: tuple[str, ...]
    sla: Terms
    urgent: bool
    # Deadlines (kernel.sla.deadlines)
    level_since: datetime
    acknowledge_due: datetime
    acknowledge_overdue: bool
    resolve_due: datetime
    overdue: bool
    reopened: int
    calendar_fallback: tuple[int, ...] = ()
    # Set by the steps that reach them; absent before.
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    reject_reason: str | None = None  # with duplicate_of, stored on every rejected order
    duplicate_of: str | None = None
    photos: tuple[Mapping[str, Any], ...] = ()  # added by POST .../photos, outside the lifecycle

    @property
    def responsible(self) -> tuple[str, ...]:
        """Who is responsible now: the members of the chain's current level (the order has climbed
        to them), else the assignees."""
        if 0 <= self.level < len(self.chain) and self.chain[self.level]:
            return self.chain[self.level]
        return self.assignees

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> WorkOrder:
        return cls(
            id=doc["_id"],
            seq=doc["seq"],
            title=doc["title"],
            description=doc.get("description"),
            reporter=doc.get("reporter"),
            submitted_at=doc["submitted_at"],
            submitted_by=doc["submitted_by"],
            callback_url=doc.get("callback_url"),
            possible_duplicate_of=doc.get("possible_duplicate_of"),
            timeline=tuple(Entry(e["type"], e["time"], e["actor"], e.get("note")) for e in doc["timeline"]),
            building_id=doc["building_id"],
            service_code=doc["service_code"],
            grid_node=doc["grid_node"],
            status=doc["status"],
            assignees=tuple(doc["assignees"]),
            chain=tuple(tuple(level) for level in doc["chain"]),
            level=doc["level"],
            notified=tuple(doc["notified"]),
            sla=Terms.from_doc(doc["sla"]),
            urgent=doc.get("urgent", False),
            level_since=doc["level_since"],
            acknowledge_due=doc["acknowledge_due"],
            acknowledge_overdue=doc.get("acknowledge_overdue", False),
            resolve_due=doc["resolve_due"],
            overdue=doc.get("overdue", False),
            reopened=doc.get("reopened", 0),
            calendar_fallback=tuple(doc.get("calendar_fallback", ())),
            acknowledged_at=doc.get("acknowledged_at"),
            resolved_at=doc.get("resolved_at"),
            closed_at=doc.get("closed_at"),
            reject_reason=doc.get("reject_reason"),
            duplicate_of=doc.get("duplicate_of"),
            photos=tuple(doc.get("photos", ())),
        )

    def to_doc(self) -> Doc:
        doc: Doc = {
            "_id": self.id,
            "seq": self.seq,
            "title": self.title,
            "description": self.description,
            "reporter": None if self.reporter is None else dict(self.reporter),
            "submitted_at": self.submitted_at,
            "submitted_by": dict(self.submitted_by),
            "callback_url": self.callback_url,
            "overdue": self.overdue,
            "reopened": self.reopened,
            "possible_duplicate_of": self.possible_duplicate_of,
            "timeline": [e.to_doc() for e in self.timeline],
            "building_id": self.building_id,
            "service_code": self.service_code,
            "grid_node": self.grid_node,
            "status": self.status,
            "assignees": list(self.assignees),
            "chain": [list(level) for level in self.chain],
            "level": self.level,
            "notified": list(self.notified),
            "sla": self.sla.to_doc(),
            "urgent": self.urgent,
            "level_since": self.level_since,
            "acknowledge_due": self.acknowledge_due,
            "acknowledge_overdue": self.acknowledge_overdue,
            "resolve_due": self.resolve_due,
        }
        if self.calendar_fallback:
            doc["calendar_fallback"] = list(self.calendar_fallback)
        for name in ("acknowledged_at", "resolved_at", "closed_at"):
            if getattr(self, name) is not None:
                doc[name] = getattr(self, name)
        if self.status == "rejected":
            doc["reject_reason"] = self.reject_reason
            doc["duplicate_of"] = self.duplicate_of
        if self.photos:
            doc["photos"] = [dict(p) for p in self.photos]
        return doc
