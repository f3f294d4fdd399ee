"""The work-order lifecycle without servers: dispatch, every action's timers and events, every
escalation step, 督办, auto-close and 回访 (`routing.workorders.lifecycle`).

The unit directory (tests/unit/conftest.py): B1 at leaf (root → mid → leaf) has heads S4, S5 and
the safety officer S6. fire-safety (role safety) is urgent; talent's role has nobody in B1, so its
heads are assigned. Both run on natural time: PT30M to acknowledge, PT24H to resolve.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from kernel.directory import Directory, DirectoryIndex
from kernel.events import IssueFeedback, IssueSubmitted, Satisfaction
from kernel.sla.calendar import WorkingCalendar
from routing.workorders import lifecycle, states
from routing.workorders.lifecycle import Arm, Step
from routing.workorders.order import Entry, WorkOrder
from tests.unit.conftest import DOC

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
CALENDAR = WorkingCalendar.from_config("09:00-17:00")
AUTOCLOSE = timedelta(days=7)
MIN = timedelta(minutes=1)
INDEX = DirectoryIndex(Directory.model_validate(DOC))


def submitted(issue: IssueSubmitted, service: str = "talent", at: datetime = NOW) -> WorkOrder:
    issue = issue.model_copy(update={"service_code": service})
    return lifecycle.submitted(issue, INDEX, CALENDAR, at).order


def act(order: WorkOrder, action: states.Action, at: datetime, actor: str = "S4", **body: str) -> Step:
    return lifecycle.act(order, action, body, actor, INDEX, CALENDAR, at, autoclose=AUTOCLOSE)


def due(order: WorkOrder, kind: str, at: datetime, **context: object) -> Step | None:
    return lifecycle.timer_due(order, kind, context, INDEX, CALENDAR, at)


def verdict(satisfaction: Satisfaction, comment: str | None = None) -> IssueFeedback:
    return IssueFeedback(issue_id="I1", satisfaction=satisfaction, comment=comment, actor="hotline", time=NOW)


def resolved(issue: IssueSubmitted, at: datetime) -> WorkOrder:
    order = act(submitted(issue), "acknowledge", at).order
    return act(order, "resolve", at, note="已清理").order


# ---- dispatch -----------------------------------------------------------------


def test_submitted_assigns_level_0_with_both_clocks_running(issue_submitted: IssueSubmitted) -> None:
    step = lifecycle.submitted(issue_submitted.model_copy(update={"service_code": "talent"}), INDEX, CALENDAR, NOW)
    order = step.order
    assert (order.status, order.level, order.seq) == ("assigned", 0, 1)
    assert order.assignees == ("S4", "S5") and order.chain == (("S4", "S5"), ("S3",), ("S2",), ("S1",))
    assert order.notified == ("S4", "S5") and step.recipients == ("S4", "S5")
    assert order.acknowledge_due == NOW + timedelta(minutes=30)
    assert order.resolve_due == NOW + timedelta(hours=24)
    assert (step.event, step.actor) == ("issue.assigned", "system")
    assert order.timeline == (Entry("assigned", NOW, "system", None),)
    assert step.arm == (
        Arm("acknowledge", NOW + timedelta(minutes=30), {"level": 0}),
        Arm("resolve", order.resolve_due),
    )
    assert step.clear == () and step.fallback_years == ()


def test_an_urgent_service_starts_at_level_1_telling_levels_0_and_1(issue_submitted: IssueSubmitted) -> None:
    step = lifecycle.submitted(issue_submitted, INDEX, CALENDAR, NOW)
    assert (step.order.level, step.order.urgent) == (1, True)
    assert step.recipients == ("S6", "S4", "S5") and step.order.assignees == ("S6",)
    assert step.arm[0] == Arm("acknowledge", NOW + timedelta(minutes=30), {"level": 1})


def test_resolve_is_counted_from_submission_and_acknowledge_from_dispatch(issue_submitted: IssueSubmitted) -> None:
    later = NOW + timedelta(hours=1)  # the issue reached routing an hour after it was submitted
    order = submitted(issue_submitted, at=later)
    assert order.resolve_due == NOW + timedelta(hours=24)
    assert order.acknowledge_due == later + timedelta(minutes=30)


# ---- escalation (rule 4) -----------------------------------------------------------


def test_each_escalation_step_climbs_one_level_with_a_new_clock_up_to_the_top(issue_submitted: IssueSubmitted) -> None:
    order = submitted(issue_submitted)
    at = NOW
    for level, newcomers in [(1, ("S3",)), (2, ("S2",)), (3, ("S1",))]:
        at = order.acknowledge_due
        step = due(order, "acknowledge", at, level=order.level)
        assert step is not None
        order = step.order
        assert (order.level, order.level_since, order.acknowledge_due) == (level, at, at + timedelta(minutes=30))
        assert (step.event, step.actor, step.note) == ("issue.escalated", "system", f"超过签收时限，升级至第{level}级")
        assert step.recipients == newcomers and order.notified[-1] == newcomers[-1]
        assert step.arm == (Arm("acknowledge", order.acknowledge_due, {"level": level}),) and step.clear == ()
        assert order.resolve_due == NOW + timedelta(hours=24)  # escalation does not restart it
    assert order.notified == ("S4", "S5", "S3", "S2", "S1")

    # At the top: marked overdue to acknowledge once, nobody told, nothing armed.
    top = due(order, "acknowledge", order.acknowledge_due, level=3)
    assert top is not None
    assert top.order.acknowledge_overdue and top.order.level == 3
    assert (top.event, top.note, top.recipients, top.arm) == ("issue.escalated", "已到最高级别，签收逾期", (), ())
    assert due(top.order, "acknowledge", order.acknowledge_due + MIN, level=3) is None


def test_escalation_tells_only_members_not_told_before(issue_submitted: IssueSubmitted) -> None:
    order = submitted(issue_submitted, service="fire-safety")  # level 1: S6, S4, S5 told at once
    step = due(order, "acknowledge", order.acknowledge_due, level=1)
    assert step is not None and step.recipients == ("S3",) and step.order.level == 2


def test_an_acknowledge_timer_does_nothing_once_acknowledged_or_for_another_level(
    issue_submitted: IssueSubmitted,
) -> None:
    order = submitted(issue_submitted)
    assert due(order, "acknowledge", order.acknowledge_due, level=1) is None  # armed for a level since left
    acknowledged = act(order, "acknowledge", NOW + MIN).order
    assert due(acknowledged, "acknowledge", order.acknowledge_due, level=0) is None


def test_an_unknown_timer_kind_does_nothing(issue_submitted: IssueSubmitted) -> None:
    assert due(submitted(issue_submitted), "reminder", NOW + timedelta(days=9)) is None


# ---- overdue (督办, rule 5) ------------------------------------------------------------


def test_overdue_marks_an_open_order_and_tells_the_grid_node_heads_once(issue_submitted: IssueSubmitted) -> None:
    order = act(submitted(issue_submitted), "acknowledge", NOW + MIN).order
    at = order.resolve_due + timedelta(minutes=90)
    step = due(order, "resolve", at)
    assert step is not None
    assert step.order.overdue and step.order.status == "acknowledged"
    assert (step.event, step.note, step.recipients) == ("issue.overdue", "超过办结时限，督办", ("S3",))
    assert step.overdue_hours == 2  # 1.5 hours late, rounded up
    assert step.arm == () and step.clear == ()
    assert due(step.order, "resolve", at + MIN) is None


def test_overdue_does_nothing_to_a_resolved_order(issue_submitted: IssueSubmitted) -> None:
    order = resolved(issue_submitted, NOW + MIN)
    assert due(order, "resolve", order.resolve_due) is None


# ---- auto-close ------------------------------------------------------------------


def test_autoclose_closes_an_order_still_resolved_since_the_timer_was_armed(issue_submitted: IssueSubmitted) -> None:
    order = resolved(issue_submitted, NOW + MIN)
    at = NOW + MIN + AUTOCLOSE
    step = due(order, "autoclose", at, resolved_at=order.resolved_at)
    assert step is not None
    assert (step.order.status, step.order.closed_at) == ("closed", at)
    assert (step.event, step.actor, step.note) == ("issue.closed", "system", "办结后未回访，自动关闭")
    # Resolved again after a reopen: the first timer finds another resolved_at.
    assert due(order, "autoclose", at, resolved_at=NOW) is None
    reopened = lifecycle.feedback(order, verdict("dissatisfied"), NOW + 2 * MIN)
    assert reopened is not None and due(reopened.order, "autoclose", at, resolved_at=order.resolved_at) is None


# ---- staff actions ----------------------------------------------------------------


def test_acknowledge_clears_the_escalation_timer_and_keeps_the_first_time(issue_submitted: IssueSubmitted) -> None:
    step = act(submitted(issue_submitted), "acknowledge", NOW + MIN)
    assert (step.order.status, step.order.acknowledged_at) == ("acknowledged", NOW + MIN)
    assert (step.event, step.actor, step.clear, step.arm) == ("issue.acknowledged", "S4", ("acknowledge",), ())
    assert step.order.timeline[-1] == Entry("acknowledged", NOW + MIN, "S4", None)
    moved = act(step.order, "transfer", NOW + 2 * MIN, staff_id="S6", reason="转安全员").order
    again = act(moved, "acknowledge", NOW + 3 * MIN, actor="S6").order
    assert again.acknowledged_at == NOW + MIN


def test_progress_changes_no_timer(issue_submitted: IssueSubmitted) -> None:
    order = act(submitted(issue_submitted), "acknowledge", NOW + MIN).order
    step = act(order, "progress", NOW + 2 * MIN, note="已联系物业")
    assert (step.order.status, step.event, step.note, step.arm, step.clear) == (
        "in_progress",
        "issue.progressed",
        "已联系物业",
        (),
        (),
    )
    assert step.order.seq == order.seq + 1


def test_resolve_arms_autoclose_and_keeps_the_resolve_timer(issue_submitted: IssueSubmitted) -> None:
    order = act(submitted(issue_submitted), "acknowledge", NOW + MIN).order
    at = NOW + 2 * MIN
    step = act(order, "resolve", at, note="已清理")
    assert (step.order.status, step.order.resolved_at, step.event) == ("resolved", at, "issue.resolved")
    assert step.clear == ("acknowledge",)
    assert step.arm == (Arm("autoclose", at + AUTOCLOSE, {"resolved_at": at}),)


def test_transfer_routes_afresh_from_level_0_with_a_new_acknowledge_clock(issue_submitted: IssueSubmitted) -> None:
    order = act(submitted(issue_submitted), "acknowledge", NOW + MIN).order
    at = NOW + timedelta(hours=2)
    step = act(order, "transfer", at, building_id="B4", reason="不在本楼")
    moved = step.order
    assert (moved.status, moved.building_id, moved.grid_node, moved.level) == ("assigned", "B4", "mid", 0)
    assert moved.assignees == ("S4",) and moved.chain == (("S4",), ("S2",), ("S1",))
    assert (moved.level_since, moved.acknowledge_due) == (at, at + timedelta(minutes=30))
    assert moved.resolve_due == order.resolve_due  # counted from submission still
    assert moved.notified == ("S4", "S5")  # only grows; S4 was told already
    assert (step.event, step.note, step.recipients, step.previous) == (
        "issue.transferred",
        "不在本楼",
        ("S4",),
        ("S4", "S5"),
    )
    assert step.arm == (Arm("acknowledge", at + timedelta(minutes=30), {"level": 0}),) and step.clear == ()


def test_transfer_to_an_urgent_service_starts_at_level_1(issue_submitted: IssueSubmitted) -> None:
    step = act(submitted(issue_submitted), "transfer", NOW + MIN, service_code="fire-safety", reason="消防")
    assert (step.order.level, step.order.urgent, step.order.service_code) == (1, True, "fire-safety")
    assert step.recipients == ("S6", "S4", "S5") and step.arm[0].context == {"level": 1}


def test_reject_clears_every_timer(issue_submitted: IssueSubmitted) -> None:
    step = act(submitted(issue_submitted), "reject", NOW + MIN, reason="重复", duplicate_of="I0")
    assert (step.order.status, step.order.reject_reason, step.order.duplicate_of) == ("rejected", "重复", "I0")
    assert (step.event, step.clear, step.arm) == ("issue.rejected", ("acknowledge", "resolve", "autoclose"), ())


@pytest.mark.parametrize(
    ("action", "status"),
    [("acknowledge", "acknowledged"), ("progress", "assigned"), ("resolve", "assigned"), ("transfer", "resolved")],
)
def test_an_action_the_status_does_not_allow_is_refused(
    issue_submitted: IssueSubmitted, action: states.Action, status: states.Status
) -> None:
    order = replace(submitted(issue_submitted), status=status)
    with pytest.raises(states.NotAllowed):
        act(order, action, NOW, reason="x", staff_id="S6")


# ---- 回访 ----------------------------------------------------------------------------


@pytest.mark.parametrize("satisfaction", ["satisfied", "basically_satisfied"])
def test_a_satisfied_verdict_closes_the_order(issue_submitted: IssueSubmitted, satisfaction: Satisfaction) -> None:
    order = resolved(issue_submitted, NOW + MIN)
    step = lifecycle.feedback(order, verdict(satisfaction, "很好"), NOW + timedelta(hours=1))
    assert step is not None
    assert (step.order.status, step.order.closed_at, step.order.reopened) == ("closed", NOW + timedelta(hours=1), 0)
    assert (step.event, step.actor, step.note) == ("issue.closed", "hotline", "很好")
    assert (step.clear, step.arm, step.recipients) == (("autoclose",), (), ())


def test_a_dissatisfied_verdict_reopens_it_keeping_the_resolve_deadline(issue_submitted: IssueSubmitted) -> None:
    order = resolved(issue_submitted, NOW + MIN)
    step = lifecycle.feedback(order, verdict("dissatisfied", "没修好"), NOW + timedelta(hours=1))
    assert step is not None
    assert (step.order.status, step.order.reopened, step.order.resolve_due) == ("in_progress", 1, order.resolve_due)
    assert (step.event, step.note, step.recipients) == ("issue.reopened", "没修好", ("S4", "S5"))
    assert step.clear == ("autoclose",) and step.arm == (Arm("resolve", order.resolve_due),)


def test_reopening_an_overdue_order_does_not_arm_its_resolve_timer_again(issue_submitted: IssueSubmitted) -> None:
    order = replace(resolved(issue_submitted, NOW + MIN), overdue=True)
    step = lifecycle.feedback(order, verdict("dissatisfied"), NOW + timedelta(days=2))
    assert step is not None and step.arm == () and step.order.reopened == 1


@pytest.mark.parametrize("status", ["assigned", "acknowledged", "in_progress", "closed", "rejected"])
def test_feedback_on_an_order_that_is_not_resolved_changes_nothing(
    issue_submitted: IssueSubmitted, status: states.Status
) -> None:
    order = replace(resolved(issue_submitted, NOW + MIN), status=status)
    assert lifecycle.feedback(order, verdict("dissatisfied"), NOW) is None


# ---- the stored document and the event -------------------------------------------------


def test_every_stored_shape_round_trips_exactly(issue_submitted: IssueSubmitted) -> None:
    order = submitted(issue_submitted)
    fresh = order.to_doc()
    assert list(fresh) == [
        *("_id", "seq", "title", "description", "reporter", "submitted_at", "submitted_by", "callback_url"),
        *("overdue", "reopened", "possible_duplicate_of", "timeline", "building_id", "service_code", "grid_node"),
        *("status", "assignees", "chain", "level", "notified", "sla", "urgent", "level_since", "acknowledge_due"),
        *("acknowledge_overdue", "resolve_due"),
    ]
    assert fresh["sla"] == {"acknowledge": "PT30M", "resolve": "PT24H", "calendar": "natural"}
    assert fresh["timeline"] == [{"type": "assigned", "time": NOW, "actor": "system", "note": None}]
    acknowledged = act(order, "acknowledge", NOW + MIN).order
    done = resolved(issue_submitted, NOW + MIN)
    closed = lifecycle.feedback(done, verdict("satisfied"), NOW + 2 * MIN)
    rejected = act(order, "reject", NOW + MIN, reason="重复").order
    assert closed is not None
    for stage in (order, acknowledged, done, closed.order, rejected):
        assert WorkOrder.from_doc(stage.to_doc()) == stage
        assert WorkOrder.from_doc(stage.to_doc()).to_doc() == stage.to_doc()
    assert "acknowledged_at" not in fresh and acknowledged.to_doc()["acknowledged_at"] == NOW + MIN
    assert {"resolved_at", "closed_at"} <= set(closed.order.to_doc())
    assert rejected.to_doc()["duplicate_of"] is None and rejected.to_doc()["reject_reason"] == "重复"
    photo = {"id": "p1", "content_type": "image/png", "size": 3, "by": "S4", "at": NOW}
    with_photo = {**acknowledged.to_doc(), "photos": [photo]}
    assert WorkOrder.from_doc(with_photo).to_doc() == with_photo


def test_the_event_snapshot_names_the_level_and_the_staff(issue_submitted: IssueSubmitted) -> None:
    step = lifecycle.submitted(issue_submitted, INDEX, CALENDAR, NOW)
    data = lifecycle.changed(step, INDEX, NOW)
    assert (data.issue_id, data.seq, data.status, data.escalation_level) == ("I1", 1, "assigned", 1)
    assert [a.model_dump() for a in data.assignees] == [{"id": "S6", "name": "员工6"}]
    assert data.level_name == "点楼长（电科大厦）" and data.recipients == ["S6", "S4", "S5"]
    assert data.submitted_by is not None and data.submitted_by.subject == "hotline"
    assert (data.actor, data.time, data.urgent) == ("system", NOW, True)
