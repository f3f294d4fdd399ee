"""Recording visits (联络走访) with the issues found on them, all or nothing, and reading them back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from pymongo import DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession

from chassis.auth import Principal
from chassis.paging import decode_cursor_text, encode_cursor
from chassis.store import Store
from intake.enterprises import EnterpriseCopy
from intake.issues.models import IssueCreate
from intake.issues.service import Issues, Problem, place_problems, service_problems, under
from intake.visits.models import VisitCreate
from kernel.directory import DirectoryIndex
from kernel.events import Event, Submitter, VisitRecorded, new_event
from kernel.times import parse_instant, utcnow

Doc = dict[str, Any]

# A visit is recorded after it happened; this much clock skew is forgiven.
FUTURE_SLACK = timedelta(minutes=5)
SOURCE = "visit"


def to_ms(t: datetime) -> datetime:
    """In UTC, cut to the millisecond as MongoDB keeps it, so that the stored and published times agree."""
    t = t.astimezone(UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


# ---- checks (pure) ----------------------------------------------------------


def claimed_building(raw: bytes) -> str | None:
    """The `building_id` a request body names, read before the body is validated so that a
    building outside a staff member's scope is a 403 ahead of any 422; None when it names none."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    building = body.get("building_id") if isinstance(body, dict) else None
    return building if isinstance(building, str) else None


def issue_bodies(visit: VisitCreate) -> tuple[list[IssueCreate], list[Problem]]:
    """Each issue of the visit as POST /v1/issues takes it (the visit's building and enterprise,
    `source: "visit"`), with what its rules refuse, locs under `["issues", i]`."""
    bodies: list[IssueCreate] = []
    problems: list[Problem] = []
    for i, issue in enumerate(visit.issues):
        try:
            bodies.append(
                IssueCreate.model_validate(
                    {
                        **issue.model_dump(mode="json", exclude_none=True),
                        "building_id": visit.building_id,
                        "enterprise_id": visit.enterprise_id,
                        "source": SOURCE,
                    }
                )
            )
        except ValidationError as exc:
            problems += [{"loc": ["issues", i, *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    return bodies, problems


def visit_problems(
    visit: VisitCreate, index: DirectoryIndex, enterprise_building: str | None, now: datetime
) -> list[Problem]:
    """Everything wrong with a well-formed visit, at once, locs relative to the body: when it was,
    where (building; enterprise known and in it), who (participants in the directory), and each
    issue's service. `enterprise_building` is the named enterprise's building, None if unknown."""
    problems: list[Problem] = []
    if visit.visited_at > now + FUTURE_SLACK:
        problems.append(
            {
                "loc": ["visited_at"],
                "msg": f"the visit is more than {int(FUTURE_SLACK.total_seconds() // 60)} minutes in the future",
                "type": "in_future",
            }
        )
    problems += place_problems(visit.building_id, visit.enterprise_id, enterprise_building, index)
    problems += [
        {"loc": ["participants", i], "msg": f"unknown staff {staff_id!r}", "type": "unknown_staff"}
        for i, staff_id in enumerate(visit.participants)
        if staff_id not in index.staff
    ]
    for i, issue in enumerate(visit.issues):
        problems += under(["issues", i], service_problems(issue.service_code, index))
    return problems


def period(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    """`from` and `to` of a query: RFC 3339 with an offset, or a bare date (00:00 Asia/Shanghai)."""
    bounds: list[datetime | None] = []
    for name, value in (("from", start), ("to", end)):
        try:
            bounds.append(parse_instant(value) if value is not None else None)
        except ValueError as exc:
            raise RequestValidationError(
                [{"loc": ["query", name], "msg": str(exc), "type": "datetime_parsing"}]
            ) from exc
    low, high = bounds
    if low is not None and high is not None and low >= high:
        raise RequestValidationError(
            [{"loc": ["query", "from"], "msg": "from must be before to", "type": "value_error"}]
        )
    return low, high


def visible_filter(who: Principal, index: DirectoryIndex | None) -> Doc:
    """Admin: every visit. Staff: visits in buildings of their scope, and those they took part
    in or recorded. (System tokens never get here.)"""
    if who.is_admin:
        return {}
    mine: list[Doc] = [
        {"participants": who.subject},
        {"recorded_by.kind": who.kind, "recorded_by.subject": who.subject},
    ]
    if index is not None:
        mine.append({"building_id": {"$in": sorted(index.scope(who.subject))}})
    return {"$or": mine}


def list_filter(
    *,
    building_id: str | None = None,
    enterprise_id: str | None = None,
    staff_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Doc:
    """`staff_id` matches the visits the staff member took part in or recorded; [start, end) is on `visited_at`."""
    query: Doc = {k: v for k, v in (("building_id", building_id), ("enterprise_id", enterprise_id)) if v is not None}
    if staff_id is not None:
        query["$or"] = [
            {"participants": staff_id},
            {"recorded_by.kind": "staff", "recorded_by.subject": staff_id},
        ]
    when: Doc = {}
    if start is not None:
        when["$gte"] = start
    if end is not None:
        when["$lt"] = end
    if when:
        query["visited_at"] = when
    return query


# Newest first by `visited_at`; `_id` breaks ties so that pages neither skip nor repeat.
SORT = [("visited_at", DESCENDING), ("_id", DESCENDING)]


def encode_visit_cursor(doc: Doc) -> str:
    millis = int(doc["visited_at"].timestamp() * 1000)
    return encode_cursor(f"{millis}.{doc['_id']}")


def decode_visit_cursor(cursor: str) -> Doc:
    """The condition for what follows the cursor's visit in SORT order; 422 for a foreign cursor."""
    text = decode_cursor_text(cursor)
    try:
        millis, last_id = text.split(".")
        at = datetime.fromtimestamp(int(millis) / 1000, UTC)
        oid = ObjectId(last_id)
    except (ValueError, InvalidId, OverflowError, OSError) as exc:
        raise RequestValidationError(
            [{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "value_error"}]
        ) from exc
    return {"$or": [{"visited_at": {"$lt": at}}, {"visited_at": at, "_id": {"$lt": oid}}]}


def to_read(doc: Doc) -> Doc:
    out = {k: v for k, v in doc.items() if k not in ("_id", "event_id")}
    out["id"] = str(doc["_id"])
    return out


# ---- the service ------------------------------------------------------------


class Visits:
    def __init__(self, store: Store, issues: Issues, enterprises: EnterpriseCopy) -> None:
        self.store = store
        self.issues = issues
        self.enterprises = enterprises
        self.visits = store.col("visits")

    async def any(self) -> bool:
        """Whether any visit is recorded."""
        return bool(await self.visits.count_documents({}, limit=1))

    async def ensure_indexes(self) -> None:
        newest = [("visited_at", DESCENDING), ("_id", DESCENDING)]
        await self.visits.create_index(newest)
        for field in ("building_id", "enterprise_id", "participants", "recorded_by.subject"):
            await self.visits.create_index([(field, 1), *newest])

    async def record(
        self, who: Principal, body: VisitCreate, index: DirectoryIndex, version: int, *, raised_then: bool = False
    ) -> Doc:
        """Check the visit and every issue on it first, reporting every problem at once (422,
        nothing stored); then store the visit, its issues, their `issue.submitted` events and
        the `visit.recorded` event in one transaction. `raised_then`: the issues were raised at
        the visit, not now (the demo's past visits)."""
        now = utcnow()
        enterprise_building = await self.enterprises.building_of(body.enterprise_id)
        bodies, issue_problems = issue_bodies(body)
        problems = [*visit_problems(body, index, enterprise_building, now), *issue_problems]
        if problems:
            raise RequestValidationError(under(["body"], problems))

        visit_id = ObjectId()
        issue_docs: list[Doc] = []
        events: list[Event] = []
        for issue in bodies:
            doc, event = await self.issues.prepare(
                who,
                issue,
                index,
                version,
                extra={"visit_id": str(visit_id)},
                earlier=issue_docs,
                created_at=body.visited_at if raised_then else None,
            )
            issue_docs.append(doc)
            events.append(event)
        recorded_by = Submitter(kind=who.recorded_kind, subject=who.subject)
        created = to_ms(utcnow())
        visit: Doc = {
            "_id": visit_id,
            "building_id": body.building_id,
            "enterprise_id": body.enterprise_id,
            "visited_at": to_ms(body.visited_at),
            "kind": body.kind,
            "notes": body.notes,
            "participants": list(dict.fromkeys(body.participants)),  # named twice, takes part once
            "issue_ids": [str(d["_id"]) for d in issue_docs],
            "recorded_by": recorded_by.model_dump(),
            "created_at": created,
        }
        recorded = new_event(
            "visit.recorded",
            source="intake",
            subject=str(visit_id),
            data=VisitRecorded(id=str(visit_id), **{k: v for k, v in visit.items() if k != "_id"}),
        )
        visit["event_id"] = recorded.id

        async def work(session: AsyncClientSession) -> None:
            await self.visits.insert_one(visit, session=session)
            await self.issues.insert(issue_docs, session)
            await self.store.add_to_outbox([*events, recorded], session)

        await self.store.transaction(work)
        return visit

    async def get(self, visit_id: str, who: Principal, index: DirectoryIndex | None) -> Doc | None:
        try:
            oid = ObjectId(visit_id)
        except InvalidId:
            return None
        return await self.visits.find_one({"_id": oid, **visible_filter(who, index)})

    async def list(
        self, who: Principal, index: DirectoryIndex | None, filters: Doc, limit: int, cursor: str | None
    ) -> tuple[list[Doc], str | None]:
        conditions = [visible_filter(who, index), filters]
        if cursor:
            conditions.append(decode_visit_cursor(cursor))
        docs = await self.visits.find({"$and": conditions}).sort(SORT).limit(limit + 1).to_list()
        if len(docs) > limit:
            return docs[:limit], encode_visit_cursor(docs[limit - 1])
        return docs, None
