"""The work-order lifecycle as pure functions (contract: Dispatch, escalation and SLA; Work orders).

Each step takes a work order (or the submitted issue) and returns a `Step`: the new order (its
`seq` one higher, its timeline one entry longer) and what follows from it: the event to publish,
whom it notifies, the timers to arm and to clear. Nothing here reads a clock or a database; the
service loads the order, calls one of these, and saves what it returns in one transaction.

- `submitted`: dispatch (who is assigned: `dispatch.py`; the deadlines: `kernel.sla.deadlines`).
- `act`: a staff action (acknowledge, progress, resolve, transfer, reject; `states.py`).
- `timer_due`: an `acknowledge` (escalation), `resolve` (督办) or `autoclose` timer fired.
- `feedback`: 回访 on a resolved order (the outcome: `kernel.feedback`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from kernel import feedback as feedback_rule
from kernel.directory import Building, DirectoryIndex, Service
from kernel.events import IssueFeedback, IssueSubmitted, Reporter, StaffRef, Submitter, WorkOrderChanged
from kernel.sla import deadlines
from kernel.sla.calendar import WorkingCalendar
from kernel.sla.deadlines import Deadline, Terms
from kernel.strict import READ
from routing.workorders import states
from routing.workorders.dispatch import dispatch, escalate, level_name, supervisors
from routing.workorders.order import Entry, WorkOrder

TimerKind = Literal["acknowledge", "resolve", "autoclose"]


@dataclass(frozen=True)
class Arm:
    """A timer to arm (or re-arm: one per order and kind), with what it must still find when it fires."""

    kind: TimerKind
    due: datetime
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One step of a work order and what follows from it."""

    order: WorkOrder
    event: str  # e.g. issue.assigned; the timeline entry's type is the name without `issue.`
    actor: str
    note: str | None = None
    recipients: tuple[str, ...] = ()
    previous: tuple[str, ...] = ()  # a transfer's former assignees
    overdue_hours: int | None = None
    arm: tuple[Arm, ...] = ()
    clear: tuple[TimerKind, ...] = ()
    # Years a deadline of this step was counted through without official calendar data.
    fallback_years: tuple[int, ...] = ()


def _step(order: WorkOrder, event: str, actor: str, now: datetime, note: str | None = None, **rest: Any) -> Step:
    """The step publishing `event`: the order's next `seq` and its timeline entry."""
    entry = Entry(event.removeprefix("issue."), now, actor, note)
    advanced = replace(order, seq=order.seq + 1, timeline=(*order.timeline, entry))
    return Step(order=advanced, event=event, actor=actor, note=note, **rest)


def _with_fallback(order: WorkOrder, *found: Deadline) -> WorkOrder:
    years = {y for d in found for y in d.fallback_years}
    if not years:
        return order
    return replace(order, calendar_fallback=tuple(sorted({*order.calendar_fallback, *years})))


def _years(*found: Deadline) -> tuple[int, ...]:
    return tuple(y for d in found for y in d.fallback_years)


def _acknowledge_timer(order: WorkOrder) -> Arm:
    return Arm("acknowledge", order.acknowledge_due, {"level": order.level})


def _route(
    order: WorkOrder,
    index: DirectoryIndex,
    building: Building,
    service: Service,
    staff_id: str | None,
    calendar: WorkingCalendar,
    now: datetime,
) -> tuple[WorkOrder, list[str], Deadline]:
    """Point the order at (building, service) from its first level, with a new acknowledge clock;
    returns it, whom to notify and that deadline."""
    plan = dispatch(index, building, service, staff_id)
    terms = Terms.from_doc(service.sla.model_dump())
    due = deadlines.acknowledge_due(calendar, terms, now)
    routed = replace(
        order,
        building_id=building.id,
        service_code=service.code,
        grid_node=building.grid_node,
        status="assigned",
        assignees=tuple(plan.assignees),
        chain=tuple(tuple(level) for level in plan.chain),
        level=plan.level,
        notified=(*order.notified, *(s for s in plan.notify if s not in order.notified)),
        sla=terms,
        urgent=service.urgent,
        level_since=now,
        acknowledge_due=due.due,
        acknowledge_overdue=False,
    )
    return _with_fallback(routed, due), plan.notify, due


def submitted(issue: IssueSubmitted, index: DirectoryIndex, calendar: WorkingCalendar, now: datetime) -> Step:
    """The work order dispatching `issue` (rules 1-3, 5): assigned, both deadlines running.
    `index` must hold the issue's building and service."""
    building, service = index.buildings[issue.building_id], index.services[issue.service_code]
    blank = WorkOrder(
        id=issue.id,
        seq=0,
        title=issue.title,
        description=issue.description,
        reporter=issue.reporter.model_dump() if issue.reporter else None,
        submitted_at=issue.created_at,
        submitted_by=issue.submitted_by.model_dump(),
        callback_url=issue.callback_url,
        possible_duplicate_of=issue.possible_duplicate_of,
        timeline=(),
        building_id="",
        service_code="",
        grid_node="",
        status="assigned",
        assignees=(),
        chain=(),
        level=0,
        notified=(),
        sla=Terms.from_doc(service.sla.model_dump()),
        urgent=False,
        level_since=now,
        acknowledge_due=now,
        acknowledge_overdue=False,
        resolve_due=now,
        overdue=False,
        reopened=0,
    )
    order, notify, acknowledge = _route(blank, index, building, service, None, calendar, now)
    resolve = deadlines.resolve_due(calendar, order.sla, issue.created_at)
    order = _with_fallback(replace(order, resolve_due=resolve.due), resolve)
    return _step(
        order,
        "issue.assigned",
        "system",
        now,
        recipients=tuple(notify),
        arm=(_acknowledge_timer(order), Arm("resolve", order.resolve_due)),
        fallback_years=_years(acknowledge, resolve),
    )


def act(
    order: WorkOrder,
    action: states.Action,
    body: Mapping[str, Any],
    actor: str,
    index: DirectoryIndex,
    calendar: WorkingCalendar,
    now: datetime,
    *,
    autoclose: timedelta,
) -> Step:
    """A staff action by `actor`, its body already checked (`access.check_body`); raises
    states.NotAllowed when the order's status does not allow it."""
    status = states.next_status(order.status, action)
    moved = replace(order, status=status)
    event = states.EVENTS[action]
    note = body.get("note") if action in ("progress", "resolve") else body.get("reason")
    if action == "acknowledge":
        moved = replace(moved, acknowledged_at=order.acknowledged_at or now)
        return _step(moved, event, actor, now, note, clear=("acknowledge",))
    if action == "resolve":
        moved = replace(moved, resolved_at=now)
        autoclosing = Arm("autoclose", now + autoclose, {"resolved_at": now})
        return _step(moved, event, actor, now, note, clear=("acknowledge",), arm=(autoclosing,))
    if action == "transfer":
        building = index.buildings[body.get("building_id") or order.building_id]
        service = index.services[body.get("service_code") or order.service_code]
        moved, notify, due = _route(moved, index, building, service, body.get("staff_id"), calendar, now)
        return _step(
            moved,
            event,
            actor,
            now,
            note,
            recipients=tuple(notify),
            previous=order.assignees,
            arm=(_acknowledge_timer(moved),),
            fallback_years=due.fallback_years,
        )
    if action == "reject":
        moved = replace(moved, reject_reason=body.get("reason"), duplicate_of=body.get("duplicate_of"))
        return _step(moved, event, actor, now, note, clear=("acknowledge", "resolve", "autoclose"))
    return _step(moved, event, actor, now, note)  # progress


def timer_due(
    order: WorkOrder,
    kind: str,
    context: Mapping[str, Any],
    index: DirectoryIndex,
    calendar: WorkingCalendar,
    now: datetime,
) -> Step | None:
    """What a due timer does to the order; None when the order has moved on since it was armed."""
    if kind == "acknowledge":
        return _escalation(order, context, calendar, now)
    if kind == "resolve":
        return _overdue(order, index, calendar, now)
    if kind == "autoclose":
        if order.status != "resolved" or order.resolved_at != context.get("resolved_at"):
            return None  # reopened (and perhaps resolved again, with a timer of its own) meanwhile
        closed = replace(order, status="closed", closed_at=now)
        return _step(closed, "issue.closed", "system", now, "办结后未回访，自动关闭")
    return None


def _escalation(order: WorkOrder, context: Mapping[str, Any], calendar: WorkingCalendar, now: datetime) -> Step | None:
    """Rule 4: still unacknowledged at the timer's level: one level up, a new clock; at the top,
    marked acknowledge_overdue once, notifying nobody."""
    if order.status != "assigned" or order.level != context.get("level") or order.acknowledge_overdue:
        return None
    up = escalate([list(level) for level in order.chain], order.level, list(order.notified))
    if up is None:
        return _step(
            replace(order, acknowledge_overdue=True), "issue.escalated", "system", now, "已到最高级别，签收逾期"
        )
    level, recipients = up
    due = deadlines.acknowledge_due(calendar, order.sla, now)
    raised = replace(
        order,
        level=level,
        level_since=now,
        notified=(*order.notified, *recipients),
        acknowledge_due=due.due,
    )
    raised = _with_fallback(raised, due)
    return _step(
        raised,
        "issue.escalated",
        "system",
        now,
        f"超过签收时限，升级至第{level}级",
        recipients=tuple(recipients),
        arm=(_acknowledge_timer(raised),),
        fallback_years=due.fallback_years,
    )


def _overdue(order: WorkOrder, index: DirectoryIndex, calendar: WorkingCalendar, now: datetime) -> Step | None:
    """Rule 5 (督办): an open order past its resolve deadline is marked overdue, its supervisors told, once."""
    if order.status not in states.OPEN or order.overdue:
        return None
    building = index.buildings.get(order.building_id)
    recipients = supervisors(index, building) if building else list(order.chain[-1])
    return _step(
        replace(order, overdue=True),
        "issue.overdue",
        "system",
        now,
        "超过办结时限，督办",
        recipients=tuple(recipients),
        overdue_hours=deadlines.overdue_hours(calendar, order.sla, order.resolve_due, now),
    )


def feedback(order: WorkOrder, verdict: IssueFeedback, now: datetime) -> Step | None:
    """回访 (`kernel.feedback.outcome`): closed, or reopened (in progress again, told to its
    assignees, its resolve deadline kept). None when the order is no longer resolved."""
    outcome = feedback_rule.outcome(order.status, verdict.satisfaction)
    if outcome is None:
        return None
    if outcome.reopens:
        reopened = replace(order, status=outcome.status, reopened=order.reopened + 1)
        due = deadlines.resolve_rearmed_on_reopen(order.resolve_due, order.overdue)
        return _step(
            reopened,
            "issue.reopened",
            verdict.actor,
            now,
            verdict.comment,
            recipients=order.assignees,
            clear=("autoclose",),
            arm=(Arm("resolve", due),) if due is not None else (),
        )
    closed = replace(order, status=outcome.status, closed_at=now)
    return _step(closed, "issue.closed", verdict.actor, now, verdict.comment, clear=("autoclose",))


def changed(step: Step, index: DirectoryIndex | None, now: datetime) -> WorkOrderChanged:
    """The snapshot every `issue.*` event of routing carries, after `step`."""
    order = step.order
    names = index.staff_name if index else (lambda s: s)
    building = index.buildings.get(order.building_id) if index else None
    chain = [list(level) for level in order.chain]
    return WorkOrderChanged(
        issue_id=order.id,
        seq=order.seq,
        status=order.status,
        title=order.title,
        building_id=order.building_id,
        service_code=order.service_code,
        grid_node=order.grid_node,
        assignees=[StaffRef(id=s, name=names(s)) for s in order.assignees],
        escalation_level=order.level,
        responsible=[StaffRef(id=s, name=names(s)) for s in order.responsible],
        acknowledge_due=order.acknowledge_due,
        acknowledge_overdue=order.acknowledge_overdue,
        resolve_due=order.resolve_due,
        overdue=order.overdue,
        reopened=order.reopened,
        calendar_fallback=list(order.calendar_fallback),
        recipients=list(step.recipients),
        description=order.description,
        urgent=order.urgent,
        reporter=Reporter.model_validate(order.reporter, context=READ) if order.reporter else None,
        level_name=level_name(index, building, chain, order.level) if index and building else None,
        previous_assignees=list(step.previous),
        photos=[p["id"] for p in order.photos],
        overdue_hours=step.overdue_hours,
        callback_url=order.callback_url,
        submitted_by=Submitter.model_validate(order.submitted_by),
        actor=step.actor,
        note=step.note,
        time=now,
    )
