"""kernel.events: envelope names, building and typing events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kernel.events import (
    Event,
    IssueSubmitted,
    UnknownEvent,
    WorkOrderChanged,
    new_event,
    parse_data,
    type_of,
)

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("type_", "name"),
    [
        ("louzhang.issue.submitted.v1", "issue.submitted"),
        ("louzhang.directory.contacts.updated.v1", "directory.contacts.updated"),
        ("louzhang.issue.assigned.v2", "issue.assigned"),
    ],
)
def test_event_name_strips_prefix_and_version(type_: str, name: str) -> None:
    event = Event(id="e", source="t", type=type_, time=NOW, subject="I1", data={})
    assert event.name == name


def test_type_of_carries_the_version() -> None:
    assert type_of("issue.submitted") == "louzhang.issue.submitted.v1"


def test_new_event_builds_a_cloudevents_envelope(issue_submitted: IssueSubmitted) -> None:
    event = new_event("issue.submitted", source="intake", subject="I1", data=issue_submitted)
    assert (event.specversion, event.type, event.name, event.subject) == (
        "1.0",
        "louzhang.issue.submitted.v1",
        "issue.submitted",
        "I1",
    )
    assert event.time.tzinfo is not None
    assert event.data["title"] == "消防通道堆物"


def test_new_event_refuses_data_of_another_schema(work_order: WorkOrderChanged) -> None:
    with pytest.raises(TypeError):
        new_event("issue.submitted", source="intake", subject="I1", data=work_order)


def test_parse_data_refuses_an_unknown_or_reversioned_type(work_order: WorkOrderChanged) -> None:
    good = new_event("issue.assigned", source="routing", subject="I1", data=work_order)
    assert parse_data(good) == work_order
    for bad in ("louzhang.issue.exploded.v1", "louzhang.issue.assigned.v2", "issue.assigned.v1"):
        with pytest.raises(UnknownEvent):
            parse_data(good.model_copy(update={"type": bad}))
