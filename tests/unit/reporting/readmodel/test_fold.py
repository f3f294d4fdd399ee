"""The per-issue fold and its contribution to the counters: order-tolerant and idempotent."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from kernel.events import IssueFeedback, IssueSubmitted, StaffRef, Submitter, WorkOrderChanged
from reporting.readmodel.cells import Cell, day_of
from reporting.readmodel.counters import HISTOGRAMS, SCALARS, contribution, contribution_expressions, delta
from reporting.readmodel.fold import fold_feedback, fold_submitted, fold_work_order

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def submitted() -> IssueSubmitted:
    return IssueSubmitted(
        id="I1",
        building_id="B1",
        service_code="talent",
        title="t",
        description="d",
        created_at=T0,
        submitted_by=Submitter(kind="system", subject="c"),
    )


def change(seq: int, status: str, minutes: int, **kw: Any) -> WorkOrderChanged:
    return WorkOrderChanged(
        issue_id="I1",
        seq=seq,
        status=status,  # type: ignore[arg-type]
        title="t",
        building_id=kw.pop("building_id", "B1"),
        service_code="talent",
        grid_node="park",
        assignees=[StaffRef(id="S06", name="x")],
        acknowledge_due=T0 + timedelta(minutes=30),
        resolve_due=T0 + timedelta(days=1),
        time=T0 + timedelta(minutes=minutes),
        **kw,
    )


def apply(doc: dict[str, Any], event: tuple[str, Any]) -> dict[str, Any]:
    name, data = event
    if name == "issue.submitted":
        return fold_submitted(doc, data)
    if name == "issue.feedback":
        return fold_feedback(doc, data)
    return fold_work_order(doc, name, data)


EVENTS = [
    ("issue.submitted", submitted()),
    ("issue.assigned", change(1, "assigned", 0)),
    ("issue.acknowledged", change(2, "acknowledged", 10)),
    ("issue.resolved", change(3, "resolved", 60)),
    (
        "issue.feedback",
        IssueFeedback(issue_id="I1", satisfaction="dissatisfied", actor="c", time=T0 + timedelta(hours=2)),
    ),
    ("issue.reopened", change(4, "in_progress", 121, reopened=1)),
    ("issue.resolved", change(5, "resolved", 180, reopened=1)),
    ("issue.feedback", IssueFeedback(issue_id="I1", satisfaction="satisfied", actor="c", time=T0 + timedelta(hours=4))),
    ("issue.closed", change(6, "closed", 241, reopened=1)),
]


def folded(events: list[tuple[str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = {"_id": "I1"}
    for event in events:
        doc = apply(doc, event)
    return doc


def test_the_whole_life_of_an_issue_counts_as_expected() -> None:
    part = contribution(folded(EVENTS))
    assert part is not None
    cell, counters = part
    assert cell == Cell(day_of(T0), "B1", "talent")
    plain = {k: v for k, v in counters.items() if "." not in k}
    assert plain == {
        "total": 1,
        "acknowledged": 1,
        "acknowledged_on_time": 1,
        "resolved": 1,
        "closed": 1,
        "reopened": 1,
        "feedback": 1,
        "satisfied": 1,
    }


def test_any_order_gives_the_same_document() -> None:
    expected = folded(EVENTS)
    for order in itertools.islice(itertools.permutations(EVENTS), 0, 5000, 97):
        assert folded(list(order)) == expected


def test_applying_an_event_again_changes_nothing() -> None:
    doc = folded(EVENTS[:5])
    for event in EVENTS[:5]:
        assert apply(doc, event) == doc


def test_rejected_issues_leave_the_population() -> None:
    doc = folded(EVENTS[:2])
    rejected = fold_work_order(doc, "issue.rejected", change(2, "rejected", 5))
    assert contribution(rejected) is None
    changes = delta(doc, rejected)
    assert changes == {Cell(day_of(T0), "B1", "talent"): {"total": -1}}


def test_a_transfer_moves_the_issue_between_cells() -> None:
    doc = folded(EVENTS[:2])
    moved = fold_work_order(doc, "issue.transferred", change(2, "assigned", 5, building_id="B2"))
    changes = delta(doc, moved)
    assert changes[Cell(day_of(T0), "B1", "talent")] == {"total": -1}
    assert changes[Cell(day_of(T0), "B2", "talent")] == {"total": 1}


def test_a_late_acknowledgement_is_not_on_time_and_events_before_submission_count_nothing() -> None:
    late = folded([EVENTS[0], EVENTS[1], ("issue.acknowledged", change(2, "acknowledged", 45))])
    part = contribution(late)
    assert part is not None and part[1]["acknowledged"] == 1 and "acknowledged_on_time" not in part[1]
    assert contribution(folded([EVENTS[1]])) is None


def test_overdue_counts_only_while_unresolved() -> None:
    doc = folded(EVENTS[:3])
    overdue = fold_work_order(doc, "issue.overdue", change(3, "acknowledged", 1500, overdue=True))
    assert contribution(overdue)[1]["overdue_open"] == 1  # type: ignore[index]
    resolved = fold_work_order(overdue, "issue.resolved", change(4, "resolved", 1600, overdue=True))
    assert "overdue_open" not in contribution(resolved)[1]  # type: ignore[index]


def test_the_day_is_shanghais() -> None:
    late_evening_utc = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)  # 01:00 on the 21st in Shanghai
    assert day_of(late_evening_utc).day == 21


def test_the_mongodb_contribution_has_every_counter_and_both_histograms() -> None:
    # Compared with `contribution` value by value on the real server: tests/integration/test_reporting_edges.py.
    assert set(contribution_expressions()) == {*SCALARS, *HISTOGRAMS}


def test_calendar_fallback_follows_the_latest_snapshot() -> None:
    doc = apply({}, ("issue.submitted", submitted()))
    doc = apply(doc, ("issue.assigned", change(1, "assigned", 0, calendar_fallback=[2027])))
    assert doc["calendar_fallback"] == [2027]
    stale = apply(doc, ("issue.assigned", change(1, "assigned", 0)))  # a redelivery changes nothing
    assert stale == doc
    later = apply(doc, ("issue.transferred", change(2, "assigned", 5)))  # re-routed without a fallback
    assert "calendar_fallback" not in later
    assert contribution(later) == contribution(doc)  # not a counter
