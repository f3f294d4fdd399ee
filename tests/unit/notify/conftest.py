"""Builders for the notify unit tests: one outgoing delivery, as the sender hands it to a channel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from notify.channels.base import Message, Outgoing

PAYLOAD: dict[str, Any] = {
    "event": "issue.assigned",
    "issue": {"id": "I1", "title": "消防通道堆物", "status": "assigned"},
    "recipient": "S1",
    "level": 1,
}

MakeOutgoing = Callable[..., Outgoing]


@pytest.fixture
def make_outgoing() -> MakeOutgoing:
    def make(target: dict[str, Any], **changes: Any) -> Outgoing:
        fields: dict[str, Any] = {
            "delivery_id": "665f1c2e9a1b2c3d4e5f6a7b",
            "event": "issue.assigned",
            "message": Message(title="【新工单】消防通道堆物", body="事项：消防安全隐患\n地点：电科大厦（天地软件园）"),
            "payload": PAYLOAD,
            "target": target,
            "mentions": ["13800000001", "13800000006"],
        }
        fields.update(changes)
        return Outgoing(**fields)

    return make
