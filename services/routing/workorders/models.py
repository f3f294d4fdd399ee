"""Work-order schemas of the API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from kernel.directory import DirectoryIndex
from kernel.events import StaffRef
from kernel.sla.calendar import WorkingCalendar
from routing.workorders.dispatch import level_name
from routing.workorders.states import Action, Status

Note = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Acknowledge(_Body):
    pass


class Progress(_Body):
    note: Note


class Transfer(_Body):
    building_id: Id | None = None
    service_code: Id | None = None
    staff_id: Id | None = None
    reason: Note

    @model_validator(mode="after")
    def one_target(self) -> Transfer:
        if self.building_id is None and self.service_code is None and self.staff_id is None:
            raise ValueError("name at least one target: building_id, service_code or staff_id")
        return self


class Reject(_Body):
    reason: Note
    duplicate_of: Id | None = None


BODIES: dict[Action, type[_Body]] = {
    "acknowledge": Acknowledge,
    "progress": Progress,
    "resolve": Progress,
    "transfer": Transfer,
    "reject": Reject,
}


class TimelineEntry(BaseModel):
    type: str
    time: datetime
    actor: str
    note: str | None = None


class PhotoRef(BaseModel):
    id: str
    content_type: str


class WorkOrderRead(BaseModel):
    issue_id: str
    status: Status
    title: str
    building_id: str
    service_code: str
    grid_node: str
    assignees: list[StaffRef]
    escalation_level: int
    level_name: str | None = Field(
        default=None, description="the level by the grid: the officer's role, 点楼长, 分楼长 or 总楼长, and where"
    )
    chain: list[list[str]]
    notified: list[str]
    urgent: bool
    created_at: datetime
    acknowledge_due: datetime | None
    acknowledge_overdue: bool
    acknowledge_left_s: int | None = Field(
        default=None,
        description="seconds left to acknowledge on the SLA calendar (working time on the working one), "
        "negative once past; null when not running",
    )
    resolve_due: datetime | None
    resolve_left_s: int | None = Field(default=None, description="as acknowledge_left_s, to resolve")
    sla_calendar: Literal["natural", "working"] = "natural"
    overdue: bool
    reopened: int
    duplicate_of: str | None = None
    possible_duplicate_of: str | None = None
    timeline: list[TimelineEntry]
    photos: list[PhotoRef] = Field(default=[], description="photos of the result: GET .../photos/{id}")


class WorkOrderPage(BaseModel):
    items: list[WorkOrderRead]
    next_cursor: str | None


def to_read(order: dict[str, Any], index: DirectoryIndex, calendar: WorkingCalendar) -> dict[str, Any]:
    staff_name = index.staff_name
    building = index.buildings.get(order["building_id"])
    kind = order.get("sla", {}).get("calendar", "natural")
    now = datetime.now(UTC)

    def left(due: datetime | None, running: bool) -> int | None:
        return int(calendar.left(due, now, kind).total_seconds()) if due is not None and running else None

    open_ = order["status"] in ("assigned", "acknowledged", "in_progress")
    return {
        "issue_id": order["_id"],
        "status": order["status"],
        "title": order["title"],
        "building_id": order["building_id"],
        "service_code": order["service_code"],
        "grid_node": order["grid_node"],
        "assignees": [{"id": s, "name": staff_name(s)} for s in order["assignees"]],
        "escalation_level": order["level"],
        "level_name": level_name(index, building, order["chain"], order["level"]) if building else None,
        "chain": order["chain"],
        "notified": order["notified"],
        "urgent": order.get("urgent", False),
        "created_at": order["submitted_at"],
        "acknowledge_due": order.get("acknowledge_due"),
        "acknowledge_overdue": order.get("acknowledge_overdue", False),
        "acknowledge_left_s": left(order.get("acknowledge_due"), order["status"] == "assigned"),
        "resolve_due": order.get("resolve_due"),
        "resolve_left_s": left(order.get("resolve_due"), open_),
        "sla_calendar": kind,
        "overdue": order.get("overdue", False),
        "reopened": order.get("reopened", 0),
        "duplicate_of": order.get("duplicate_of"),
        "possible_duplicate_of": order.get("possible_duplicate_of"),
        "timeline": order["timeline"],
        "photos": [{"id": p["id"], "content_type": p["content_type"]} for p in order.get("photos", [])],
    }
