"""chassis.bus.decode: good events come back typed; poison raises ValueError."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from chassis.bus import acknowledge, decode
from kernel.events import IssueSubmitted, WorkOrderChanged, new_event


def _body(name: str, data: BaseModel, drop: str | None = None, **changes: Any) -> bytes:
    envelope = json.loads(new_event(name, source="test", subject="I1", data=data).model_dump_json())
    envelope.update(changes)
    if drop:
        del envelope["data"][drop]
    return json.dumps(envelope, ensure_ascii=False).encode()


def test_an_issue_submitted_round_trips(issue_submitted: IssueSubmitted) -> None:
    event = new_event("issue.submitted", source="intake", subject="I1", data=issue_submitted)
    decoded, data = decode(event.model_dump_json().encode())
    assert decoded == event
    assert type(data) is IssueSubmitted
    assert data == issue_submitted


def test_a_work_order_event_round_trips(work_order: WorkOrderChanged) -> None:
    event = new_event("issue.escalated", source="routing", subject="I1", data=work_order)
    decoded, data = decode(event.model_dump_json().encode())
    assert decoded.name == "issue.escalated"
    assert type(data) is WorkOrderChanged
    assert data == work_order


Poison = Callable[[IssueSubmitted, WorkOrderChanged], bytes]
POISON: dict[str, Poison] = {
    "not JSON": lambda s, w: b"not json {",
    "not UTF-8": lambda s, w: b"\xff\xfe\x00",
    "JSON but no envelope": lambda s, w: b'{"hello": "world"}',
    "envelope with an empty id": lambda s, w: _body("issue.submitted", s, id=""),
    "data missing a field": lambda s, w: _body("issue.submitted", s, drop="title"),
    "data of another event": lambda s, w: _body("issue.assigned", w, type="louzhang.issue.submitted.v1"),
    "unknown type": lambda s, w: _body("issue.submitted", s, type="louzhang.issue.exploded.v1"),
    "wrong version suffix": lambda s, w: _body("issue.submitted", s, type="louzhang.issue.submitted.v2"),
    "missing prefix": lambda s, w: _body("issue.submitted", s, type="issue.submitted.v1"),
}


@pytest.mark.parametrize("case", POISON, ids=list(POISON))
def test_poison_raises_value_error(case: str, issue_submitted: IssueSubmitted, work_order: WorkOrderChanged) -> None:
    with pytest.raises(ValueError):
        decode(POISON[case](issue_submitted, work_order))


class Channel:
    def __init__(self, closed: bool) -> None:
        self.is_closed = closed


class Message:
    """Only what `acknowledge` touches: an ack that fails as aiormq's does on a dead channel."""

    delivery_tag = 7

    def __init__(self, closed: bool) -> None:
        self.channel = Channel(closed)
        self.acked: list[bool] = []

    async def ack(self, multiple: bool = False) -> None:
        self.acked.append(multiple)
        raise RuntimeError("channel invalid state")


async def test_an_ack_on_a_channel_lost_meanwhile_is_not_raised() -> None:
    message = Message(closed=True)
    assert await acknowledge("q", message, multiple=True) is False  # type: ignore[arg-type]
    assert message.acked == [True]


async def test_an_ack_failing_on_an_open_channel_is_raised() -> None:
    with pytest.raises(RuntimeError):
        await acknowledge("q", Message(closed=False))  # type: ignore[arg-type]
