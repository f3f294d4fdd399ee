"""Submitting issues, reading their public status view, and keeping it current from routing's events."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from fastapi.exceptions import RequestValidationError
from pymongo import DESCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession

from chassis.auth import Principal
from chassis.groupcommit import GroupCommit
from chassis.paging import decode_cursor, page
from chassis.store import Store
from intake.enterprises import EnterpriseCopy
from intake.issues.duplicates import normalized, possible_duplicate
from intake.issues.idempotency import IdempotencyKeys
from intake.issues.models import FeedbackCreate, IssueCreate
from kernel import feedback as feedback_rule
from kernel.directory import DirectoryIndex
from kernel.events import Event, IssueFeedback, IssueSubmitted, Submitter, WorkOrderChanged, new_event
from kernel.times import utcnow

Doc = dict[str, Any]


def _now_ms() -> datetime:
    """MongoDB keeps milliseconds: cut there so that the stored and published times agree."""
    now = utcnow()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


Problem = dict[str, Any]


def place_problems(
    building_id: str, enterprise_id: str | None, enterprise_building: str | None, index: DirectoryIndex
) -> list[Problem]:
    """The building must be in the directory; a named enterprise must be known (`enterprise_building`
    is its building, None when intake holds no such enterprise) and in that building.
    Locs are relative to the object that carries the fields."""
    problems: list[Problem] = []
    known_building = building_id in index.buildings
    if not known_building:
        problems.append(
            {"loc": ["building_id"], "msg": f"unknown building {building_id!r}", "type": "unknown_building"}
        )
    if enterprise_id is not None:
        if enterprise_building is None:
            problems.append(
                {"loc": ["enterprise_id"], "msg": f"unknown enterprise {enterprise_id!r}", "type": "unknown_enterprise"}
            )
        elif known_building and enterprise_building != building_id:
            problems.append(
                {
                    "loc": ["enterprise_id"],
                    "msg": f"enterprise {enterprise_id!r} is not in building {building_id!r}",
                    "type": "enterprise_not_in_building",
                }
            )
    return problems


def service_problems(service_code: str, index: DirectoryIndex) -> list[Problem]:
    if service_code in index.services:
        return []
    return [{"loc": ["service_code"], "msg": f"unknown service {service_code!r}", "type": "unknown_service"}]


def directory_problems(body: IssueCreate, index: DirectoryIndex, enterprise_building: str | None) -> list[Problem]:
    """Every field of the issue that points at something intake does not hold, locs relative to the issue."""
    return [
        *place_problems(body.building_id, body.enterprise_id, enterprise_building, index),
        *service_problems(body.service_code, index),
    ]


def under(prefix: Sequence[str | int], problems: list[Problem]) -> list[Problem]:
    """The problems with `prefix` put before their locs (e.g. `["body", "issues", 2]`)."""
    return [{**p, "loc": [*prefix, *p["loc"]]} for p in problems]


def check_against_directory(body: IssueCreate, index: DirectoryIndex, *, enterprise_building: str | None) -> None:
    """422 naming every field that points at something unknown: building, service, enterprise
    (unknown, or not in the building)."""
    problems = directory_problems(body, index, enterprise_building)
    if problems:
        raise RequestValidationError(under(["body"], problems))


def visible_filter(who: Principal, index: DirectoryIndex | None) -> Doc:
    """The issues a token may read (contract, Auth)."""
    if who.is_admin:
        return {}
    mine = {"submitted_by.kind": who.kind, "submitted_by.subject": who.subject}
    if who.kind == "system" or index is None:
        return mine
    return {"$or": [mine, {"building_id": {"$in": sorted(index.scope(who.subject))}}]}


# A building and a service.
Pair = tuple[str, str]

# How many recent issues at the same building and service a new one is compared with.
DUPLICATE_CANDIDATES = 50

# The fields of routing's work-order snapshot shown on the issue.
SNAPSHOT = {
    "status",
    "building_id",
    "service_code",
    "escalation_level",
    "acknowledge_due",
    "acknowledge_overdue",
    "resolve_due",
    "overdue",
    "reopened",
    "seq",
    "photos",
}


class Issues:
    def __init__(
        self, store: Store, enterprises: EnterpriseCopy, *, duplicate_window: timedelta, duplicate_similarity: float
    ) -> None:
        self.store = store
        self.enterprises = enterprises
        self.issues = store.col("issues")
        self.keys = IdempotencyKeys(store)
        # Submissions that arrive together share a transaction.
        self.submissions: GroupCommit[tuple[Doc, Event, str | None]] = GroupCommit(
            "issues", store.transaction, self._store_submissions, before=self._link_submissions
        )
        self.duplicate_window = duplicate_window
        self.duplicate_similarity = duplicate_similarity

    async def ensure_indexes(self) -> None:
        await self.issues.create_index([("submitted_by.subject", 1), ("_id", DESCENDING)])
        await self.issues.create_index([("building_id", 1), ("_id", DESCENDING)])
        await self.issues.create_index([("status", 1), ("_id", DESCENDING)])
        await self.issues.create_index([("building_id", 1), ("service_code", 1), ("_id", DESCENDING)])
        await self.keys.ensure_indexes()

    async def find(self, query: Doc, *, limit: int) -> list[Doc]:
        """Issues matching a MongoDB `query` (built by a caller such as Open311), newest first."""
        return await self.issues.find(query).sort("_id", DESCENDING).limit(limit).to_list()

    async def find_one(self, query: Doc) -> Doc | None:
        return await self.issues.find_one(query)

    async def ids_matching(self, ids: list[Any], query: Doc) -> set[Any]:
        """Which of `ids` also match `query`."""
        return {doc["_id"] async for doc in self.issues.find({"_id": {"$in": ids}, **query}, {"_id": 1})}

    async def _recent(self, docs: Sequence[Doc]) -> dict[Pair, list[Doc]]:
        """The newest issues (up to `DUPLICATE_CANDIDATES` each) at the buildings and services of
        `docs` within the window, newest first: one round trip, each part bounded by its index."""
        since = ObjectId.from_datetime(min(d["created_at"] for d in docs) - self.duplicate_window)
        parts: list[list[Doc]] = [
            [
                {
                    "$match": {
                        "building_id": building,
                        "service_code": service,
                        "_id": {"$gte": since},
                        "status": {"$ne": "rejected"},
                    }
                },
                {"$sort": {"_id": DESCENDING}},
                {"$limit": DUPLICATE_CANDIDATES},
                {"$project": {"building_id": 1, "service_code": 1, "description_key": 1, "description": 1}},
            ]
            for building, service in dict.fromkeys((d["building_id"], d["service_code"]) for d in docs)
        ]
        first, *others = parts
        union = [{"$unionWith": {"coll": self.issues.name, "pipeline": part}} for part in others]
        pipeline: list[Doc] = [*first, *union]
        recent: dict[Pair, list[Doc]] = {}
        async for d in await self.issues.aggregate(pipeline):
            recent.setdefault((d["building_id"], d["service_code"]), []).append(d)
        return recent

    async def _link_duplicates(self, drafts: Sequence[tuple[Doc, Event]], earlier: Sequence[Doc] = ()) -> None:
        """Set `possible_duplicate_of` on drafted issues (and their events): the newest near-identical
        issue at the same building and service within the window, among those stored, those of
        `earlier` (prepared before in the same request) and the drafts before it."""
        if not self.duplicate_window or not drafts:
            return
        recent = await self._recent([doc for doc, _ in drafts])
        before = list(earlier)
        for doc, event in drafts:
            pair = (doc["building_id"], doc["service_code"])
            since = ObjectId.from_datetime(doc["created_at"] - self.duplicate_window)
            candidates = [
                (str(d["_id"]), d["description_key"])
                for d in reversed(before)
                if (d["building_id"], d["service_code"]) == pair
            ]
            # (Issues stored before the key was kept are normalized here.)
            candidates += [
                (str(d["_id"]), d.get("description_key") or normalized(d["description"]))
                for d in recent.get(pair, [])
                if d["_id"] >= since
            ]
            duplicate_of = possible_duplicate(doc["description_key"], candidates, self.duplicate_similarity)
            doc["possible_duplicate_of"] = event.data["possible_duplicate_of"] = duplicate_of
            before.append(doc)

    async def prepare(
        self,
        who: Principal,
        body: IssueCreate,
        index: DirectoryIndex,
        version: int,
        *,
        extra: Doc | None = None,
        earlier: Sequence[Doc] = (),
        created_at: datetime | None = None,
    ) -> tuple[Doc, Event]:
        """The issue's document and its `issue.submitted` event, ready for the caller to store in its
        own transaction (`insert`); nothing is written. 422 for an issue the directory or the
        enterprises refuse. `earlier`: issue documents prepared before this one in the same request,
        also candidates for `possible_duplicate_of`. `created_at`: when it was raised, if not now
        (the demo's issues, raised on visits of the past four weeks)."""
        doc, event = await self._draft(who, body, index, version, extra, created_at)
        await self._link_duplicates([(doc, event)], earlier)
        return doc, event

    async def _draft(
        self,
        who: Principal,
        body: IssueCreate,
        index: DirectoryIndex,
        version: int,
        extra: Doc | None,
        created_at: datetime | None = None,
    ) -> tuple[Doc, Event]:
        """The issue's document and event, checked against the directory, duplicates not yet looked for."""
        check_against_directory(body, index, enterprise_building=await self.enterprises.building_of(body.enterprise_id))
        issue_id = str(ObjectId())
        created = (
            _now_ms() if created_at is None else created_at.replace(microsecond=created_at.microsecond // 1000 * 1000)
        )
        fields = body.model_dump(mode="json")
        submitted = IssueSubmitted(
            id=issue_id,
            **fields,
            created_at=created,
            submitted_by=Submitter(kind=who.recorded_kind, subject=who.subject),
            directory_version=version,
        )
        event = new_event("issue.submitted", source="intake", subject=issue_id, data=submitted)
        doc: Doc = {
            "_id": ObjectId(issue_id),
            **fields,
            "status": "received",
            "created_at": created,
            "submitted_by": {"kind": who.recorded_kind, "subject": who.subject},
            "assignees": [],
            "escalation_level": 0,
            "reopened": 0,
            "possible_duplicate_of": None,
            # Kept with the issue, so that later duplicate checks compare without normalizing again.
            "description_key": normalized(body.description),
            "seq": 0,
            "timeline": [
                {"type": "submitted", "time": created, "actor": who.subject, "note": None, "event_id": event.id}
            ],
            **(extra or {}),
        }
        return doc, event

    async def insert(self, docs: Sequence[Doc], session: AsyncClientSession) -> None:
        """Store prepared issue documents within the caller's transaction (their events go to the
        outbox in the same transaction: the caller's part)."""
        if docs:
            await self.issues.insert_many(list(docs), session=session)

    async def submit(
        self,
        who: Principal,
        body: IssueCreate,
        index: DirectoryIndex,
        version: int,
        *,
        idempotency_record: str | None = None,
        extra: Doc | None = None,
    ) -> Doc:
        """Store the issue and its `issue.submitted` event in one transaction (and complete
        the Idempotency-Key claim in it, when there is one). `extra` fields are kept with
        the issue (e.g. an Open311 request's lat/long) but are not part of the event."""
        doc, event = await self._draft(who, body, index, version, extra)
        await self.submissions.commit((doc, event, idempotency_record))
        return doc

    async def _link_submissions(self, submissions: Sequence[tuple[Doc, Event, str | None]]) -> None:
        """Submissions stored together are looked at for duplicates together (and among themselves),
        just before their transaction: MongoDB allows no `$unionWith` in one."""
        await self._link_duplicates([(doc, event) for doc, event, _ in submissions])

    async def _store_submissions(
        self, submissions: Sequence[tuple[Doc, Event, str | None]], session: AsyncClientSession
    ) -> None:
        await self.insert([doc for doc, _, _ in submissions], session)
        await self.store.add_to_outbox([event for _, event, _ in submissions], session)
        await self.keys.complete_many(
            [(record, str(doc["_id"])) for doc, _, record in submissions if record is not None], session
        )

    async def get(self, issue_id: str, who: Principal, index: DirectoryIndex | None) -> Doc | None:
        try:
            oid = ObjectId(issue_id)
        except InvalidId:
            return None
        return await self.issues.find_one({"_id": oid, **visible_filter(who, index)})

    async def list(
        self, who: Principal, index: DirectoryIndex | None, filters: Doc, limit: int, cursor: str | None
    ) -> tuple[list[Doc], str | None]:
        query: Doc = {"$and": [visible_filter(who, index), filters]}
        if cursor:
            query["$and"].append({"_id": {"$lt": decode_cursor(cursor)}})
        return page(await self.issues.find(query).sort("_id", DESCENDING).limit(limit + 1).to_list(), limit)

    async def apply_work_order(self, event: Event, change: WorkOrderChanged) -> None:
        await self.apply_work_orders([(event, change)])

    async def apply_work_orders(self, items: Sequence[tuple[Event, WorkOrderChanged]]) -> None:
        """Reflect routing's steps, in one bulk write. Idempotent and order-tolerant: each
        timeline entry is added once per event id, and the snapshot only moves forward in `seq`."""
        writes: builtins.list[UpdateOne] = []
        for event, change in items:
            oid = ObjectId(change.issue_id)
            entry = {
                "type": event.name.removeprefix("issue."),
                "time": change.time,
                "actor": change.actor,
                "note": change.note,
                "event_id": event.id,
            }
            snapshot = change.model_dump(include=SNAPSHOT)
            snapshot["assignees"] = [a.model_dump() for a in change.assignees]
            writes.append(
                UpdateOne({"_id": oid, "timeline.event_id": {"$ne": event.id}}, {"$push": {"timeline": entry}})
            )
            writes.append(UpdateOne({"_id": oid, "seq": {"$lt": change.seq}}, {"$set": snapshot}))
        if writes:
            # In order: a later step of one issue in the same batch must find the earlier applied.
            await self.issues.bulk_write(writes, ordered=True)

    async def feedback(self, doc: Doc, who: Principal, verdict: FeedbackCreate, *, actor: str | None = None) -> Doc:
        """Record 回访 on a resolved issue with its `issue.feedback` event; the status moves at
        once (closed, or in progress again) and routing's events confirm it. `actor`: who it is
        recorded as (the caller's subject by default; `reporter` from the reporter's page)."""
        by = actor or who.subject
        outcome = feedback_rule.outcome(doc["status"], verdict.satisfaction)
        if outcome is None:
            raise NotResolved(f"feedback is taken on resolved issues; this one is {doc['status']}")
        now = _now_ms()
        event = new_event(
            "issue.feedback",
            source="intake",
            subject=str(doc["_id"]),
            data=IssueFeedback(
                issue_id=str(doc["_id"]),
                satisfaction=verdict.satisfaction,
                comment=verdict.comment,
                actor=by,
                time=now,
            ),
        )
        note = feedback_rule.note(verdict.satisfaction, verdict.comment)
        entry = {"type": "feedback", "time": now, "actor": by, "note": note, "event_id": event.id}
        change: Doc = {
            "$set": {"status": outcome.status, "feedback": {**verdict.model_dump(), "time": now, "by": by}},
            "$push": {"timeline": entry},
        }
        if outcome.reopens:
            change["$inc"] = {"reopened": 1}

        async def work(session: AsyncClientSession) -> Doc | None:
            updated = await self.issues.find_one_and_update(
                {"_id": doc["_id"], "status": "resolved"}, change, return_document=ReturnDocument.AFTER, session=session
            )
            if updated is not None:
                await self.store.add_to_outbox([event], session)
            return updated

        updated = await self.store.transaction(work)
        if updated is None:
            raise NotResolved("the issue changed meanwhile and is no longer resolved")
        return updated


class NotResolved(Exception):
    pass


def may_give_feedback(who: Principal, doc: Doc, index: DirectoryIndex | None) -> bool:
    """The submitting system, staff in scope, admin (contract: Issues)."""
    if who.is_admin:
        return True
    if who.kind == "system":
        return bool(doc["submitted_by"] == {"kind": "system", "subject": who.subject})
    return who.kind == "staff" and index is not None and doc["building_id"] in index.scope(who.subject)


def to_read(doc: Doc) -> Doc:
    out = {k: v for k, v in doc.items() if k not in ("_id", "submitted_by", "seq", "description_key")}
    out["id"] = str(doc["_id"])
    out["timeline"] = sorted(doc.get("timeline", []), key=lambda e: e["time"])
    return out
