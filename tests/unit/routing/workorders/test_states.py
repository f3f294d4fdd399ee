"""The work-order state machine of the contract's table."""

from __future__ import annotations

import itertools

import pytest

from routing.workorders.states import ACTIONS, EVENTS, NotAllowed, next_status

TABLE = {
    ("acknowledge", "assigned"): "acknowledged",
    ("progress", "acknowledged"): "in_progress",
    ("progress", "in_progress"): "in_progress",
    ("resolve", "acknowledged"): "resolved",
    ("resolve", "in_progress"): "resolved",
    ("transfer", "assigned"): "assigned",
    ("transfer", "acknowledged"): "assigned",
    ("transfer", "in_progress"): "assigned",
    ("reject", "assigned"): "rejected",
    ("reject", "acknowledged"): "rejected",
    ("reject", "in_progress"): "rejected",
}
STATUSES = ("assigned", "acknowledged", "in_progress", "resolved", "closed", "rejected")


@pytest.mark.parametrize(("action", "status"), list(itertools.product(ACTIONS, STATUSES)))
def test_every_action_in_every_status(action: str, status: str) -> None:
    expected = TABLE.get((action, status))
    if expected is None:
        with pytest.raises(NotAllowed, match=f"cannot {action} a work order that is {status}"):
            next_status(status, action)  # type: ignore[arg-type]
    else:
        assert next_status(status, action) == expected  # type: ignore[arg-type]


def test_closed_and_rejected_are_final() -> None:
    for status, action in itertools.product(("closed", "rejected"), ACTIONS):
        with pytest.raises(NotAllowed):
            next_status(status, action)  # type: ignore[arg-type]


def test_each_action_publishes_its_event() -> None:
    assert EVENTS == {
        "acknowledge": "issue.acknowledged",
        "progress": "issue.progressed",
        "resolve": "issue.resolved",
        "transfer": "issue.transferred",
        "reject": "issue.rejected",
    }
