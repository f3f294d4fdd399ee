"""Work orders: load, decide (`lifecycle.py`), save.

Every change of a work order, the event it publishes and the timers it arms or
clears commit in one transaction.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession

from chassis.auth import Principal
from chassis.outage import Unavailable
from chassis.store import Store
from kernel.directory import DirectoryIndex
from kernel.events import Event, IssueFeedback, IssueSubmitted, new_event
from kernel.sla.calendar import WorkingCalendar
from kernel.times import utcnow
from routing.directory.service import DirectoryVersions
from routing.sla import fallback
from routing.workorders import access, lifecycle, states
from routing.workorders.access import Invalid
from routing.workorders.lifecycle import Step
from routing.workorders.order import WorkOrder
from routing.workorders.photos import Photos
from routing.workorders.timers import Timer, Timers

Order = dict[str, Any]


class NotFound(Exception):
    pass


class WorkOrders:
    def __init__(
        self,
        store: Store,
        directory: DirectoryVersions,
        calendar: WorkingCalendar,
        timers: Timers,
        photos: Photos,
        *,
        autoclose: timedelta,
    ) -> None:
        self.photos = photos
        self.store = store
        self.directory = directory
        self.calendar = calendar
        self.timers = timers
        self.autoclose = autoclose
        self.orders = store.col("workorders")

    async def ensure_indexes(self) -> None:
        await self.orders.create_index([("assignees", 1), ("_id", DESCENDING)])
        await self.orders.create_index([("building_id", 1), ("_id", DESCENDING)])
        await self.orders.create_index([("status", 1), ("_id", DESCENDING)])
        await self.orders.create_index(
            "calendar_fallback", partialFilterExpression={"calendar_fallback": {"$exists": True}}
        )
        await self.timers.ensure_indexes()
        await self.photos.ensure_indexes()

    async def calendar_fallback(self) -> list[int]:
        """The years without official calendar data that open work orders' deadlines were counted through."""
        query = {"calendar_fallback": {"$exists": True}, "status": {"$in": sorted(states.OPEN)}}
        return sorted(int(y) for y in await self.orders.distinct("calendar_fallback", query))

    async def index(self) -> DirectoryIndex:
        current = await self.directory.current()
        if current is None:
            raise Unavailable("no directory loaded")
        return current[1]

    def _event(self, step: Step, index: DirectoryIndex | None, now: datetime) -> Event:
        data = lifecycle.changed(step, index, now)
        return new_event(step.event, source="routing", subject=step.order.id, data=data)

    async def _save(self, session: AsyncClientSession, step: Step, index: DirectoryIndex | None, now: datetime) -> None:
        """Write the step's order (if nobody changed it meanwhile), its timers and its event."""
        order = step.order
        result = await self.orders.replace_one({"_id": order.id, "seq": order.seq - 1}, order.to_doc(), session=session)
        if result.matched_count != 1:
            raise Unavailable(f"work order {order.id} changed meanwhile")
        if step.clear:
            await self.timers.clear(session, order.id, *step.clear)
        await self.timers.arm(session, [(order.id, a) for a in step.arm])
        await self.store.add_to_outbox([self._event(step, index, now)], session)

    async def _load(self, session: AsyncClientSession, issue_id: str) -> WorkOrder | None:
        doc = await self.orders.find_one({"_id": issue_id}, session=session)
        return None if doc is None else WorkOrder.from_doc(doc)

    # ---- dispatch --------------------------------------------------------

    async def _directory_for(self, issue: IssueSubmitted, index: DirectoryIndex) -> DirectoryIndex:
        """The current directory (`index`), or the version the issue was submitted under if the
        current one no longer has its building or service."""
        if issue.building_id in index.buildings and issue.service_code in index.services:
            return index
        older = await self.directory.load(issue.directory_version) if issue.directory_version else None
        if older is None or issue.building_id not in older.buildings or issue.service_code not in older.services:
            raise LookupError(f"issue {issue.id}: building or service unknown to every directory version")
        return older

    async def dispatch_submitted(self, event: Event, issue: IssueSubmitted) -> None:
        await self.dispatch_many([(event, issue)])

    async def dispatch_many(self, items: Sequence[tuple[Event, IssueSubmitted]]) -> None:
        """Dispatch submitted issues in one transaction, with bulk writes; each issue once.

        The work order's `_id` is the issue id, so the order itself is the record that an
        issue was dispatched: a redelivered (or replayed, or repeated within the batch)
        `issue.submitted` finds its order and writes nothing, with no `processed` record.
        The existing orders are looked up rather than the duplicates inserted and ignored:
        in a transaction a duplicate key aborts the whole transaction.
        """
        if not items:
            return
        now = utcnow()
        current = await self.index()  # once for the batch: a database read
        planned: list[tuple[Step, DirectoryIndex]] = []
        for _, issue in items:
            index = await self._directory_for(issue, current)
            step = lifecycle.submitted(issue, index, self.calendar, now)
            fallback.counted(step.fallback_years)
            planned.append((step, index))

        async def work(session: AsyncClientSession) -> None:
            ids = list(dict.fromkeys(step.order.id for step, _ in planned))
            taken = {d["_id"] async for d in self.orders.find({"_id": {"$in": ids}}, {"_id": 1}, session=session)}
            steps: list[tuple[Step, DirectoryIndex]] = []
            for step, index in planned:
                if step.order.id not in taken:
                    taken.add(step.order.id)
                    steps.append((step, index))
            if steps:
                await self.orders.insert_many([step.order.to_doc() for step, _ in steps], session=session)
                await self.timers.arm(session, [(step.order.id, a) for step, _ in steps for a in step.arm])
                await self.store.add_to_outbox([self._event(step, index, now) for step, index in steps], session)

        await self.store.transaction(work)

    # ---- reading ---------------------------------------------------------

    async def get(self, issue_id: str) -> Order:
        order = await self.orders.find_one({"_id": issue_id})
        if order is None:
            raise NotFound(issue_id)
        return order

    async def add_photo(self, issue_id: str, who: Principal, data: bytes) -> dict[str, Any]:
        """Keep a photo of the result; raises NotFound, Forbidden, states.NotAllowed, NotAnImage, TooMany."""
        index = await self.index()
        order = WorkOrder.from_doc(await self.get(issue_id))
        access.check_actor(who, order, index, "resolve")
        if order.status not in states.OPEN:
            raise states.NotAllowed(f"photos are added while a work order is open; this one is {order.status}")
        photo = await self.photos.add(issue_id, data, who.subject, len(order.photos))
        await self.orders.update_one({"_id": issue_id}, {"$push": {"photos": photo}})
        return photo

    async def list(
        self, who: Principal, index: DirectoryIndex, filters: dict[str, Any], limit: int, after: str | None
    ) -> list[Order]:
        query: dict[str, Any] = dict(filters)
        if not who.is_admin:
            query["$or"] = [{"notified": who.subject}, {"building_id": {"$in": sorted(index.scope(who.subject))}}]
        if after is not None:
            query["_id"] = {"$lt": after}
        return await self.orders.find(query).sort("_id", DESCENDING).limit(limit + 1).to_list()

    async def unacknowledged(self, submitter: str, skip: Sequence[str]) -> builtins.list[Order]:
        """Orders still `assigned` among the issues of one submitter, but those in `skip`."""
        query = {"submitted_by.subject": submitter, "status": "assigned", "_id": {"$nin": sorted(skip)}}
        return await self.orders.find(query, {"assignees": 1}).to_list()

    # ---- staff actions ---------------------------------------------------

    async def authorize(self, issue_id: str, who: Principal, action: states.Action) -> None:
        """Raise NotFound or Forbidden as `act` would, without acting."""
        access.check_actor(who, WorkOrder.from_doc(await self.get(issue_id)), await self.index(), action)

    async def act(self, issue_id: str, who: Principal, action: states.Action, body: dict[str, Any]) -> Order:
        """Apply a staff action; raises NotFound, Forbidden, Invalid or states.NotAllowed (in that order)."""
        index = await self.index()
        result: Order = {}

        async def work(session: AsyncClientSession) -> None:
            order = await self._load(session, issue_id)
            if order is None:
                raise NotFound(issue_id)
            access.check_actor(who, order, index, action)
            access.check_body(order, index, action, body, who)
            other = body.get("duplicate_of") if action == "reject" else None
            if other is not None and await self.orders.find_one({"_id": other}, {"_id": 1}, session=session) is None:
                raise Invalid("duplicate_of", f"unknown issue {other!r}", "unknown_issue")
            now = utcnow()
            step = lifecycle.act(order, action, body, who.subject, index, self.calendar, now, autoclose=self.autoclose)
            fallback.counted(step.fallback_years)
            await self._save(session, step, index, now)
            result.update(step.order.to_doc())

        await self.store.transaction(work)
        return result

    # ---- feedback (回访) ----------------------------------------------------

    async def feedback(self, event: Event, verdict: IssueFeedback) -> None:
        """Apply 回访 to the work order (`lifecycle.feedback`), once per event."""

        async def effect(session: AsyncClientSession) -> list[Event]:
            order = await self._load(session, verdict.issue_id)
            now = utcnow()
            step = lifecycle.feedback(order, verdict, now) if order is not None else None
            if step is not None:  # feedback on a work order that has moved on meanwhile changes nothing
                await self._save(session, step, await self.index(), now)
            return []

        await self.store.once("routing.feedback", event, effect)

    # ---- timers ----------------------------------------------------------

    async def fire(self, timer: Timer) -> None:
        """Apply a due timer once: its effect, its event and its removal commit together."""

        async def work(session: AsyncClientSession) -> None:
            await self.timers.release(session, timer)
            order = await self._load(session, timer["issue_id"])
            if order is None:
                return
            now = utcnow()
            index = await self.index()
            step = lifecycle.timer_due(order, timer["kind"], timer, index, self.calendar, now)
            if step is not None:
                fallback.counted(step.fallback_years)
                await self._save(session, step, index, now)

        await self.store.transaction(work)
