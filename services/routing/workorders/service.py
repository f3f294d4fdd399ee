"""Work orders: dispatch, staff actions, escalation, overdue and auto-close.

Every change of a work order, the event it publishes and the timers it arms or
clears commit in one transaction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pymongo import DESCENDING, ReplaceOne
from pymongo.asynchronous.client_session import AsyncClientSession

from louzhang.auth import Principal
from louzhang.directory import Building, DirectoryIndex, Service
from louzhang.events import Event, IssueFeedback, IssueSubmitted, StaffRef, WorkOrderChanged, new_event
from louzhang.outage import Unavailable
from louzhang.store import Store, utcnow
from routing.directory.service import DirectoryVersions
from routing.sla import fallback
from routing.sla.calendar import WorkingCalendar
from routing.workorders import states
from routing.workorders.dispatch import dispatch, escalate, level_name, responsible_heads, supervisors
from routing.workorders.photos import Photos
from routing.workorders.timers import Timer, Timers

Order = dict[str, Any]


class NotFound(Exception):
    pass


class Forbidden(Exception):
    pass


class Invalid(Exception):
    """A body that names something unknown (422); `loc` names the field."""

    def __init__(self, loc: str, message: str, kind: str = "value_error") -> None:
        super().__init__(message)
        self.loc, self.kind = loc, kind


def transfer_problem(index: DirectoryIndex, who: Principal, source: str, target: str, staff_id: str | None) -> None:
    """Raise Forbidden or Invalid when `who` may not move an order from building `source` to `target`
    (for `staff_id`). Moving it to another building needs the target within the caller's scope: for a
    head, a grid subtree holding both ends; for an officer, their own buildings. A named person must
    have the target in their scope, and nobody transfers to themselves."""
    if not who.is_admin and target != source and target not in index.scope(who.subject):
        raise Forbidden(f"building {target!r} is outside what you may reach: ask a head whose grid holds both")
    if staff_id is None:
        return
    if staff_id == who.subject:
        raise Invalid("staff_id", "you cannot transfer a work order to yourself", "self_transfer")
    if target not in index.scope(staff_id):
        raise Invalid("staff_id", f"building {target!r} is outside the scope of staff {staff_id!r}", "out_of_scope")


@dataclass
class Step:
    """One change of a work order: what to publish, and which timers to arm or clear."""

    event: str
    actor: str
    note: str | None = None
    recipients: list[str] = field(default_factory=list)
    arm: list[tuple[str, datetime, dict[str, Any]]] = field(default_factory=list)
    clear: list[str] = field(default_factory=list)
    previous: list[str] = field(default_factory=list)  # a transfer's former assignees
    overdue_hours: int | None = None


def snapshot(order: Order, index: DirectoryIndex | None, step: Step, now: datetime) -> WorkOrderChanged:
    names = index.staff_name if index else (lambda s: s)
    building = index.buildings.get(order["building_id"]) if index else None
    level = level_name(index, building, order["chain"], order["level"]) if index and building else None
    return WorkOrderChanged(
        issue_id=order["_id"],
        seq=order["seq"],
        status=order["status"],
        title=order["title"],
        building_id=order["building_id"],
        service_code=order["service_code"],
        grid_node=order["grid_node"],
        assignees=[StaffRef(id=s, name=names(s)) for s in order["assignees"]],
        escalation_level=order["level"],
        responsible=[StaffRef(id=s, name=names(s)) for s in now_responsible(order)],
        acknowledge_due=order.get("acknowledge_due"),
        acknowledge_overdue=order.get("acknowledge_overdue", False),
        resolve_due=order.get("resolve_due"),
        overdue=order.get("overdue", False),
        reopened=order.get("reopened", 0),
        calendar_fallback=order.get("calendar_fallback", []),
        recipients=step.recipients,
        description=order.get("description"),
        urgent=order.get("urgent", False),
        reporter=order.get("reporter"),
        level_name=level,
        previous_assignees=step.previous,
        photos=[p["id"] for p in order.get("photos", [])],
        overdue_hours=step.overdue_hours,
        callback_url=order.get("callback_url"),
        submitted_by=order.get("submitted_by"),
        actor=step.actor,
        note=step.note,
        time=now,
    )


def now_responsible(order: Order) -> list[str]:
    """The chain's current level (who the order has climbed to), else its assignees."""
    chain, level = order.get("chain") or [], order.get("level", 0)
    return list(chain[level]) if 0 <= level < len(chain) and chain[level] else list(order["assignees"])


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

    def _deadline(self, order: Order, start: datetime, duration: str, sla: dict[str, Any]) -> datetime:
        """A deadline of `order`; years it was counted through without official calendar data are
        added to the order's `calendar_fallback` (and counted on /metrics)."""
        due, years = self.calendar.reach(start, duration, sla.get("calendar", "natural"))
        if years:
            order["calendar_fallback"] = sorted({*order.get("calendar_fallback", []), *years})
            fallback.counted(years)
        return due

    async def _save(
        self, session: AsyncClientSession, order: Order, step: Step, index: DirectoryIndex | None, now: datetime
    ) -> Event:
        """Write the order (the next `seq`), its timeline entry, its event and its timers."""
        previous = order["seq"]
        order["seq"] = previous + 1
        order["timeline"].append(
            {"type": step.event.removeprefix("issue."), "time": now, "actor": step.actor, "note": step.note}
        )
        if previous == 0:
            await self.orders.insert_one(order, session=session)
        else:
            result = await self.orders.replace_one({"_id": order["_id"], "seq": previous}, order, session=session)
            if result.matched_count != 1:
                raise Unavailable(f"work order {order['_id']} changed meanwhile")
        if step.clear:
            await self.timers.clear(session, order["_id"], *step.clear)  # type: ignore[arg-type]
        for kind, due, context in step.arm:
            await self.timers.set(session, order["_id"], kind, due, **context)  # type: ignore[arg-type]
        event = new_event(step.event, source="routing", subject=order["_id"], data=snapshot(order, index, step, now))
        await self.store.add_to_outbox([event], session)
        return event

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

    def _route(
        self,
        order: Order,
        index: DirectoryIndex,
        building: Building,
        service: Service,
        staff_id: str | None,
        now: datetime,
    ) -> list[str]:
        """Point the order at (building, service), from level 0 with a fresh clock; returns whom to notify."""
        plan = dispatch(index, building, service, staff_id)
        sla = service.sla.model_dump()
        order.update(
            building_id=building.id,
            service_code=service.code,
            grid_node=building.grid_node,
            status="assigned",
            assignees=plan.assignees,
            chain=plan.chain,
            level=plan.level,
            # Only grows: whoever was told of the order keeps the read access that gave them.
            notified=[*order.get("notified", []), *(s for s in plan.notify if s not in order.get("notified", []))],
            sla=sla,
            urgent=service.urgent,
            level_since=now,
            acknowledge_due=self._deadline(order, now, service.sla.acknowledge, sla),
            acknowledge_overdue=False,
        )
        return plan.notify

    def _arm_acknowledge(self, order: Order) -> tuple[str, datetime, dict[str, Any]]:
        return ("acknowledge", order["acknowledge_due"], {"level": order["level"]})

    async def _new_order(
        self, issue: IssueSubmitted, current: DirectoryIndex, now: datetime
    ) -> tuple[Order, Step, DirectoryIndex]:
        """The work order dispatching `issue` (rules 1-3, 5) and its first step, not yet stored."""
        index = await self._directory_for(issue, current)
        building, service = index.buildings[issue.building_id], index.services[issue.service_code]
        order: Order = {
            "_id": issue.id,
            "seq": 0,
            "title": issue.title,
            "description": issue.description,
            "reporter": issue.reporter.model_dump() if issue.reporter else None,
            "submitted_at": issue.created_at,
            "submitted_by": issue.submitted_by.model_dump(),
            "callback_url": issue.callback_url,
            "overdue": False,
            "reopened": 0,
            "possible_duplicate_of": issue.possible_duplicate_of,
            "timeline": [],
        }
        recipients = self._route(order, index, building, service, None, now)
        order["resolve_due"] = self._deadline(order, issue.created_at, service.sla.resolve, order["sla"])
        step = Step(
            "issue.assigned",
            actor="system",
            recipients=recipients,
            arm=[self._arm_acknowledge(order), ("resolve", order["resolve_due"], {})],
        )
        return order, step, index

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
        planned = [(event, *(await self._new_order(issue, current, now))) for event, issue in items]

        async def work(session: AsyncClientSession) -> None:
            ids = list(dict.fromkeys(order["_id"] for _, order, _, _ in planned))
            taken = {d["_id"] async for d in self.orders.find({"_id": {"$in": ids}}, {"_id": 1}, session=session)}
            orders: list[Order] = []
            timers: list[ReplaceOne[dict[str, Any]]] = []
            events: list[Event] = []
            for _, planned_order, step, index in planned:
                if planned_order["_id"] in taken:
                    continue
                taken.add(planned_order["_id"])
                # A copy: a retried transaction must start again from the planned order.
                entry = {"type": "assigned", "time": now, "actor": "system", "note": None}
                order = {**planned_order, "seq": 1, "timeline": [*planned_order["timeline"], entry]}
                orders.append(order)
                timers.extend(self.timers.arming(order["_id"], kind, due, **ctx) for kind, due, ctx in step.arm)  # type: ignore[arg-type]
                data = snapshot(order, index, step, now)
                events.append(new_event(step.event, source="routing", subject=order["_id"], data=data))
            if orders:
                await self.orders.insert_many(orders, session=session)
                await self.timers.timers.bulk_write(timers, ordered=False, session=session)
                await self.store.add_to_outbox(events, session)

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
        order = await self.get(issue_id)
        self._check_actor(who, order, index, "resolve")
        if order["status"] not in states.OPEN:
            raise states.NotAllowed(f"photos are added while a work order is open; this one is {order['status']}")
        photo = await self.photos.add(issue_id, data, who.subject, len(order.get("photos", [])))
        await self.orders.update_one({"_id": issue_id}, {"$push": {"photos": photo}})
        return photo

    @staticmethod
    def visible(who: Principal, order: Order, index: DirectoryIndex) -> bool:
        if who.is_admin:
            return True
        if who.kind != "staff":
            return False
        return who.subject in order["notified"] or order["building_id"] in index.scope(who.subject)

    async def list(
        self, who: Principal, index: DirectoryIndex, filters: dict[str, Any], limit: int, after: str | None
    ) -> list[Order]:
        query: dict[str, Any] = dict(filters)
        if not who.is_admin:
            query["$or"] = [{"notified": who.subject}, {"building_id": {"$in": sorted(index.scope(who.subject))}}]
        if after is not None:
            query["_id"] = {"$lt": after}
        return await self.orders.find(query).sort("_id", DESCENDING).limit(limit + 1).to_list()

    # ---- staff actions ---------------------------------------------------

    def _check_actor(self, who: Principal, order: Order, index: DirectoryIndex, action: states.Action) -> None:
        if who.is_admin:
            return
        if who.kind != "staff":
            raise Forbidden(f"{who.kind} tokens cannot act on work orders")
        building = index.buildings.get(order["building_id"])
        heads = (
            responsible_heads(index, building)
            if building
            else set(member for lvl in order["chain"][1:] for member in lvl)
        )
        if who.subject in heads:
            return
        if action == "reject":
            raise Forbidden("only the heads of the building or its grid may reject a work order")
        if who.subject not in order["notified"]:
            raise Forbidden("you are neither notified on this work order nor a head in its scope")

    async def authorize(self, issue_id: str, who: Principal, action: states.Action) -> None:
        """Raise NotFound or Forbidden as `act` would, without acting."""
        self._check_actor(who, await self.get(issue_id), await self.index(), action)

    async def act(self, issue_id: str, who: Principal, action: states.Action, body: dict[str, Any]) -> Order:
        """Apply a staff action; raises NotFound, Forbidden, Invalid or states.NotAllowed (in that order)."""
        index = await self.index()
        result: Order = {}

        async def work(session: AsyncClientSession) -> None:
            order = await self.orders.find_one({"_id": issue_id}, session=session)
            if order is None:
                raise NotFound(issue_id)
            self._check_actor(who, order, index, action)
            step = await self._validate(order, index, action, body, who, session)
            order["status"] = states.next_status(order["status"], action)
            now = utcnow()
            self._apply(order, index, action, body, step, now)
            await self._save(session, order, step, index, now)
            result.update(order)

        await self.store.transaction(work)
        return result

    async def _validate(
        self,
        order: Order,
        index: DirectoryIndex,
        action: states.Action,
        body: dict[str, Any],
        who: Principal,
        session: AsyncClientSession,
    ) -> Step:
        note = body.get("note") if action in ("progress", "resolve") else body.get("reason")
        step = Step(states.EVENTS[action], actor=who.subject, note=note)
        if action == "transfer":
            if body.get("building_id") is not None and body["building_id"] not in index.buildings:
                raise Invalid("building_id", f"unknown building {body['building_id']!r}", "unknown_building")
            if body.get("service_code") is not None and body["service_code"] not in index.services:
                raise Invalid("service_code", f"unknown service {body['service_code']!r}", "unknown_service")
            if body.get("staff_id") is not None and body["staff_id"] not in index.staff:
                raise Invalid("staff_id", f"unknown staff id {body['staff_id']!r}", "unknown_staff")
            building_id = body.get("building_id") or order["building_id"]
            service_code = body.get("service_code") or order["service_code"]
            if building_id not in index.buildings or service_code not in index.services:
                raise Invalid("building_id", "the work order's building or service is no longer in the directory")
            transfer_problem(index, who, order["building_id"], building_id, body.get("staff_id"))
        if action == "reject" and body.get("duplicate_of") is not None:
            other = body["duplicate_of"]
            if other == order["_id"]:
                raise Invalid("duplicate_of", "an issue cannot duplicate itself")
            if await self.orders.find_one({"_id": other}, {"_id": 1}, session=session) is None:
                raise Invalid("duplicate_of", f"unknown issue {other!r}", "unknown_issue")
        return step

    def _apply(
        self,
        order: Order,
        index: DirectoryIndex,
        action: states.Action,
        body: dict[str, Any],
        step: Step,
        now: datetime,
    ) -> None:
        if action == "acknowledge":
            order.setdefault("acknowledged_at", now)
            step.clear.append("acknowledge")
        elif action == "resolve":
            order["resolved_at"] = now
            step.clear.append("acknowledge")
            step.arm.append(("autoclose", now + self.autoclose, {"resolved_at": now}))
        elif action == "transfer":
            building = index.buildings[body.get("building_id") or order["building_id"]]
            service = index.services[body.get("service_code") or order["service_code"]]
            step.previous = list(order["assignees"])
            step.recipients = self._route(order, index, building, service, body.get("staff_id"), now)
            step.arm.append(self._arm_acknowledge(order))
        elif action == "reject":
            order["reject_reason"] = body.get("reason")
            order["duplicate_of"] = body.get("duplicate_of")
            step.clear.extend(["acknowledge", "resolve", "autoclose"])

    # ---- feedback (回访) ----------------------------------------------------

    async def feedback(self, event: Event, verdict: IssueFeedback) -> None:
        """Satisfied or basically satisfied closes a resolved work order; dissatisfied
        reopens it (in progress again, its resolve deadline still running)."""

        async def effect(session: AsyncClientSession) -> list[Event]:
            order = await self.orders.find_one({"_id": verdict.issue_id}, session=session)
            if order is None or order["status"] != "resolved":
                return []  # feedback on a work order that has moved on meanwhile changes nothing
            now = utcnow()
            note = verdict.comment
            if verdict.satisfaction == "dissatisfied":
                order.update(status="in_progress", reopened=order.get("reopened", 0) + 1)
                step = Step("issue.reopened", actor=verdict.actor, note=note, recipients=list(order["assignees"]))
                step.clear.append("autoclose")
                if not order.get("overdue"):
                    step.arm.append(("resolve", order["resolve_due"], {}))
            else:
                order.update(status="closed", closed_at=now)
                step = Step("issue.closed", actor=verdict.actor, note=note, clear=["autoclose"])
            await self._save(session, order, step, await self.index(), now)
            return []

        await self.store.once("routing.feedback", event, effect)

    # ---- timers ----------------------------------------------------------

    async def fire(self, timer: Timer) -> None:
        """Apply a due timer once: its effect, its event and its removal commit together."""

        async def work(session: AsyncClientSession) -> None:
            await self.timers.release(session, timer)
            order = await self.orders.find_one({"_id": timer["issue_id"]}, session=session)
            if order is None:
                return
            now = utcnow()
            index = await self.index()
            step = self._timer_step(order, index, timer, now)
            if step is not None:
                await self._save(session, order, step, index, now)

        await self.store.transaction(work)

    def _timer_step(self, order: Order, index: DirectoryIndex, timer: Timer, now: datetime) -> Step | None:
        kind = timer["kind"]
        if kind == "acknowledge":
            if order["status"] != "assigned" or order["level"] != timer.get("level") or order["acknowledge_overdue"]:
                return None
            up = escalate(order["chain"], order["level"], order["notified"])
            if up is None:
                order["acknowledge_overdue"] = True
                return Step("issue.escalated", actor="system", note="已到最高级别，签收逾期")
            level, recipients = up
            order.update(level=level, level_since=now, notified=[*order["notified"], *recipients])
            order["acknowledge_due"] = self._deadline(order, now, order["sla"]["acknowledge"], order["sla"])
            note = f"超过签收时限，升级至第{level}级"
            return Step(
                "issue.escalated", actor="system", note=note, recipients=recipients, arm=[self._arm_acknowledge(order)]
            )
        if kind == "resolve":
            if order["status"] not in states.OPEN or order["overdue"]:
                return None
            order["overdue"] = True
            building = index.buildings.get(order["building_id"])
            recipients = supervisors(index, building) if building else order["chain"][-1]
            late = self.calendar.late_by(order["resolve_due"], now, order["sla"].get("calendar", "natural"))
            return Step(
                "issue.overdue",
                actor="system",
                note="超过办结时限，督办",
                recipients=recipients,
                overdue_hours=math.ceil(late.total_seconds() / 3600),
            )
        if kind == "autoclose":
            if order["status"] != "resolved" or order.get("resolved_at") != timer.get("resolved_at"):
                return None
            order["status"] = "closed"
            order["closed_at"] = now
            return Step("issue.closed", actor="system", note="办结后未回访，自动关闭")
        return None
