"""Who may act on a work order and what a body may name (`routing.workorders.access`), in the
order the contract checks them: 403 before 422."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chassis.auth import Principal
from kernel.directory import Directory, DirectoryIndex
from kernel.events import IssueSubmitted, Submitter
from kernel.sla.calendar import WorkingCalendar
from routing.workorders import lifecycle
from routing.workorders.access import Forbidden, Invalid, check_actor, check_body, visible
from routing.workorders.order import WorkOrder
from tests.unit.conftest import DOC

INDEX = DirectoryIndex(Directory.model_validate(DOC))
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
ISSUE = IssueSubmitted(
    id="I1",
    building_id="B1",
    service_code="talent",
    title="t",
    description="d",
    created_at=NOW,
    submitted_by=Submitter(kind="system", subject="hotline"),
)
# Assigned to B1's heads S4 and S5; S3 (leaf), S2 (mid) and S1 (root) are heads above it.
CALENDAR = WorkingCalendar.from_config("09:00-17:00")
ORDER: WorkOrder = lifecycle.submitted(ISSUE, INDEX, CALENDAR, NOW).order


def staff(subject: str) -> Principal:
    return Principal(kind="staff", subject=subject)


def test_heads_in_scope_and_the_notified_may_act_others_not() -> None:
    for who in (staff("S4"), staff("S3"), staff("S1"), Principal(kind="admin", subject="admin")):
        check_actor(who, ORDER, INDEX, "reject")
    with pytest.raises(Forbidden, match="neither notified"):
        check_actor(staff("S9"), ORDER, INDEX, "acknowledge")
    with pytest.raises(Forbidden, match="system tokens"):
        check_actor(Principal(kind="system", subject="hotline"), ORDER, INDEX, "acknowledge")


def test_only_heads_reject() -> None:
    body = {"staff_id": "S6", "reason": "r"}
    order = lifecycle.act(ORDER, "transfer", body, "S4", INDEX, CALENDAR, NOW, autoclose=timedelta(days=7)).order
    check_actor(staff("S6"), order, INDEX, "acknowledge")  # notified: may act
    with pytest.raises(Forbidden, match="only the heads"):
        check_actor(staff("S6"), order, INDEX, "reject")


def test_visible_to_the_notified_and_to_staff_in_scope() -> None:
    doc = ORDER.to_doc()
    assert visible(staff("S4"), doc, INDEX) and visible(staff("S2"), doc, INDEX)
    assert not visible(staff("S9"), doc, INDEX)
    assert not visible(Principal(kind="system", subject="hotline"), doc, INDEX)


@pytest.mark.parametrize(
    ("body", "loc", "kind"),
    [
        ({"building_id": "B9"}, "building_id", "unknown_building"),
        ({"service_code": "nope"}, "service_code", "unknown_service"),
        ({"staff_id": "S99"}, "staff_id", "unknown_staff"),
        ({"staff_id": "S4"}, "staff_id", "self_transfer"),
        ({"staff_id": "S9"}, "staff_id", "out_of_scope"),  # B1 is outside S9's scope
    ],
)
def test_a_transfer_naming_what_cannot_be_is_invalid(body: dict[str, Any], loc: str, kind: str) -> None:
    with pytest.raises(Invalid) as caught:
        check_body(ORDER, INDEX, "transfer", {**body, "reason": "r"}, staff("S4"))
    assert (caught.value.loc, caught.value.kind) == (loc, kind)


def test_a_transfer_out_of_the_callers_reach_is_forbidden() -> None:
    with pytest.raises(Forbidden, match="B3"):
        check_body(ORDER, INDEX, "transfer", {"building_id": "B3", "reason": "r"}, staff("S4"))
    check_body(ORDER, INDEX, "transfer", {"building_id": "B4", "reason": "r"}, staff("S4"))
    check_body(ORDER, INDEX, "transfer", {"building_id": "B3", "reason": "r"}, staff("S1"))


def test_an_issue_cannot_duplicate_itself() -> None:
    with pytest.raises(Invalid, match="itself"):
        check_body(ORDER, INDEX, "reject", {"reason": "r", "duplicate_of": "I1"}, staff("S4"))
    check_body(ORDER, INDEX, "reject", {"reason": "r", "duplicate_of": "I0"}, staff("S4"))
