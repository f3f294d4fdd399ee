"""Visit (联络走访) schemas of the public API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from intake.issues.models import Description, ExternalId, MediaUrls, ShortText, Title
from kernel.events import Reporter, VisitKind, VisitRecorded
from kernel.times import in_range

# RFC 3339: a full date-time with seconds and an offset (`Z` or `+08:00`).
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def rfc3339(value: Any) -> datetime:
    """A date-time with an offset, as text; a number, a bare date or a time without offset is refused."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    if not isinstance(value, str) or not RFC3339.match(value):
        raise ValueError("an RFC 3339 date-time with an offset, e.g. 2026-11-20T10:00:00+08:00")
    text = value.upper().replace(" ", "T")
    # Python takes at most microseconds: cut longer fractions.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    return in_range(datetime.fromisoformat(text))


Instant = Annotated[datetime, BeforeValidator(rfc3339)]


class VisitIssue(BaseModel):
    """An issue found on the visit: submitted as by POST /v1/issues, with the visit's building and
    enterprise and `source: "visit"`."""

    model_config = ConfigDict(extra="forbid")

    service_code: ShortText
    title: Title
    description: Description
    reporter: Reporter | None = None
    media_urls: MediaUrls = []
    external_id: ExternalId | None = None


class VisitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    building_id: ShortText
    enterprise_id: ShortText | None = None
    visited_at: Instant = Field(description="RFC 3339 with an offset; at most 5 minutes in the future")
    kind: VisitKind
    notes: Annotated[str, StringConstraints(max_length=4000)] | None = None
    participants: Annotated[list[ShortText], Field(max_length=50, description="staff ids")] = []
    issues: Annotated[list[VisitIssue], Field(max_length=50)] = []


class VisitRead(VisitRecorded):
    """A visit as the API shows it: the same fields as its `visit.recorded` event."""


class VisitPage(BaseModel):
    items: list[VisitRead]
    next_cursor: str | None
