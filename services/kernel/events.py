"""CloudEvents envelope and every event schema, used by producers and consumers alike.

An event's routing key is its name (`issue.submitted`); its CloudEvents `type`
carries the schema version (`louzhang.issue.submitted.v1`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kernel.directory import Directory, Staff
from kernel.enterprises import Enterprise
from kernel.strict import READ, Strict

SPEC_VERSION = "1.0"


class Event(BaseModel):
    """A CloudEvents 1.0 JSON envelope."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=64)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    time: datetime
    subject: str
    datacontenttype: str = "application/json"
    data: dict[str, Any]

    @property
    def name(self) -> str:
        """The routing key: `louzhang.issue.submitted.v1` -> `issue.submitted`."""
        return self.type.removeprefix("louzhang.").rsplit(".", 1)[0]


# ---- event data -------------------------------------------------------------


class _Data(BaseModel):
    model_config = ConfigDict(extra="ignore")


class StaffRef(BaseModel):
    id: str
    name: str


class Reporter(Strict):
    name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    enterprise: str | None = Field(default=None, max_length=200)


class Submitter(BaseModel):
    kind: Literal["admin", "staff", "system"]
    subject: str


class IssueSubmitted(_Data):
    id: str
    building_id: str
    service_code: str
    title: str
    description: str
    reporter: Reporter | None = None
    enterprise_id: str | None = None
    source: str | None = None
    media_urls: list[str] = []
    external_id: str | None = None
    callback_url: str | None = None
    created_at: datetime
    submitted_by: Submitter
    # The directory version the submission was checked against.
    directory_version: int | None = None
    # A recent issue at the same building and service with a near-identical description.
    possible_duplicate_of: str | None = None


class WorkOrderChanged(_Data):
    """A snapshot of a work order after one step, shared by every `issue.*` event routing emits.

    `seq` grows with every step of one work order, so that a reader can keep the
    latest snapshot whatever order the events arrive in. `recipients` are the staff
    to notify about this step (by id only).
    """

    issue_id: str
    seq: int = Field(ge=1)
    status: Literal["assigned", "acknowledged", "in_progress", "resolved", "closed", "rejected"]
    title: str
    building_id: str
    service_code: str
    grid_node: str
    assignees: list[StaffRef]
    escalation_level: int = 0
    # Who is responsible now: the members of the escalation chain's current level (the assignees
    # until the order climbs). Empty in events from before it was added: read `assignees` then.
    responsible: list[StaffRef] = []
    acknowledge_due: datetime | None = None
    acknowledge_overdue: bool = False
    resolve_due: datetime | None = None
    overdue: bool = False
    reopened: int = 0
    # Years without official holiday data that the working-time deadlines were counted through
    # (Monday to Friday stood in for the official arrangement); empty on natural time.
    calendar_fallback: list[int] = []
    recipients: list[str] = []
    # For the messages (notify): what a person needs to decide, and the level named by the grid.
    description: str | None = None
    urgent: bool = False
    reporter: Reporter | None = None
    level_name: str | None = None
    # On a transfer: who held the order before (told, inbox only, that it moved on).
    previous_assignees: list[str] = []
    # Photos of the result (ids; `{LOUZHANG_PUBLIC_URL}/photos/<id>` shows one).
    photos: list[str] = []
    # On 督办: how late the order is, in its SLA calendar's hours (working hours on the working one).
    overdue_hours: int | None = None
    # Where the submitting system wants status changes, and who it is (its signing secret).
    callback_url: str | None = None
    submitted_by: Submitter | None = None
    actor: str = "system"
    note: str | None = None
    time: datetime


Satisfaction = Literal["satisfied", "basically_satisfied", "dissatisfied"]


class IssueFeedback(_Data):
    """回访: the submitter's (or a staff member's) verdict on a resolved issue."""

    issue_id: str
    satisfaction: Satisfaction
    comment: str | None = None
    actor: str
    time: datetime


class NotificationOutcome(_Data):
    """A delivery that was sent, or that failed for good."""

    delivery_id: str
    event_id: str
    event: str
    issue_id: str
    recipient: str | None
    channel: str
    status: Literal["sent", "failed"]
    attempts: int
    last_error: str | None = None


class EnterpriseUpdated(_Data):
    """An enterprise created or changed; `version` grows with each change of one enterprise."""

    version: int = Field(ge=1)
    enterprise: Enterprise


VisitKind = Literal["visit", "meeting", "call", "activity"]


class VisitRecorded(_Data):
    """联络走访: a visit, and the issues submitted from it."""

    id: str
    building_id: str
    enterprise_id: str | None = None
    visited_at: datetime
    kind: VisitKind
    notes: str | None = None
    participants: list[str] = []
    issue_ids: list[str] = []
    recorded_by: Submitter
    created_at: datetime


class DirectoryUpdated(_Data):
    """The directory without contact channels, for every service."""

    version: int = Field(ge=1)
    directory: Directory


class DirectoryContactsUpdated(_Data):
    """Staff with their channels and secrets: for notify alone."""

    version: int = Field(ge=1)
    staff: list[Staff]


TokenKind = Literal["staff", "system"]


class TokenSeen(_Data):
    """A signed token a service verified, for routing's list of tokens (issued before tokens were
    recorded, it is recorded on first sight)."""

    jti: str = Field(min_length=1, max_length=64)
    kind: TokenKind
    subject: str
    issued_at: datetime | None = None
    expires_at: datetime | None = None


class RevokedToken(BaseModel):
    jti: str
    expires_at: datetime | None = None


class TokenRevoked(_Data):
    """One token revoked, with every revoked token not yet expired: the snapshot each service keeps
    (`version` grows with each revocation; an older snapshot changes nothing)."""

    version: int = Field(ge=1)
    jti: str
    kind: TokenKind
    subject: str
    revoked: list[RevokedToken]


class SigninLink(_Data):
    """A staff member asked for a sign-in link to the workbench: notify mails it to their own address.
    Published straight to the bus, never through an outbox: the link is kept nowhere."""

    staff_id: str
    name: str
    email: str
    url: str
    expires_at: datetime


WORK_ORDER_EVENTS = (
    "issue.assigned",
    "issue.escalated",
    "issue.acknowledged",
    "issue.progressed",
    "issue.resolved",
    "issue.transferred",
    "issue.rejected",
    "issue.overdue",
    "issue.closed",
    "issue.reopened",
)

SCHEMAS: dict[str, type[BaseModel]] = {
    "issue.submitted": IssueSubmitted,
    **{name: WorkOrderChanged for name in WORK_ORDER_EVENTS},
    "issue.feedback": IssueFeedback,
    "enterprise.updated": EnterpriseUpdated,
    "visit.recorded": VisitRecorded,
    "notification.sent": NotificationOutcome,
    "notification.failed": NotificationOutcome,
    "directory.updated": DirectoryUpdated,
    "directory.contacts.updated": DirectoryContactsUpdated,
    "token.seen": TokenSeen,
    "token.revoked": TokenRevoked,
    "signin.link": SigninLink,
}


def type_of(name: str, version: int = 1) -> str:
    return f"louzhang.{name}.v{version}"


def new_event(name: str, *, source: str, subject: str, data: BaseModel) -> Event:
    """Build the envelope of a new event, checking that its data fits its schema."""
    schema = SCHEMAS[name]
    if not isinstance(data, schema):
        raise TypeError(f"{name} carries {schema.__name__}, not {type(data).__name__}")
    return Event(
        id=str(uuid.uuid4()),
        source=source,
        type=type_of(name),
        time=datetime.now(UTC),
        subject=subject,
        data=data.model_dump(mode="json"),
    )


class UnknownEvent(ValueError):
    pass


def parse_data(event: Event) -> BaseModel:
    """The event's data as its schema's model; raises on an unknown type or a bad payload."""
    schema = SCHEMAS.get(event.name)
    if schema is None or event.type != type_of(event.name):
        raise UnknownEvent(f"unknown event type {event.type!r}")
    return schema.model_validate(event.data, context=READ)
