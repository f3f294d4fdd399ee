"""Issue schemas of the public API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints

from kernel.directory import OutwardUrl
from kernel.events import Reporter, Satisfaction, StaffRef

Status = Literal["received", "assigned", "acknowledged", "in_progress", "resolved", "closed", "rejected"]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# The rules of an issue's own fields, shared with the issues of a visit (intake.visits.models).
Title = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
MediaUrls = Annotated[list[AnyHttpUrl], Field(max_length=20)]
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class IssueCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    building_id: ShortText
    service_code: ShortText
    title: Title
    description: Description
    reporter: Reporter | None = None
    enterprise_id: ShortText | None = None
    source: Annotated[str, StringConstraints(min_length=1, max_length=32)] = "api"
    media_urls: MediaUrls = []
    external_id: ExternalId | None = None
    callback_url: OutwardUrl | None = None


class FeedbackCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    satisfaction: Satisfaction
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = None


class Feedback(FeedbackCreate):
    time: datetime
    by: str


class TimelineEntry(BaseModel):
    type: str
    time: datetime
    actor: str
    note: str | None = None


class IssueRead(BaseModel):
    id: str
    status: Status
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
    assignees: list[StaffRef] = []
    escalation_level: int = 0
    acknowledge_due: datetime | None = None
    acknowledge_overdue: bool = False
    resolve_due: datetime | None = None
    overdue: bool = False
    reopened: int = 0
    possible_duplicate_of: str | None = None
    feedback: Feedback | None = None
    timeline: list[TimelineEntry] = []


class IssueCreated(IssueRead):
    """The answer to a submission: the issue, and the reporter's link (回访 page)."""

    follow_url: str = Field(
        description="The reporter's page: progress, the result, and 回访 once resolved. A capability: "
        "hand it to the reporter only."
    )


class IssuePage(BaseModel):
    items: list[IssueRead]
    next_cursor: str | None
