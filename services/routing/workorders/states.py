"""The work-order state machine (contract: Work orders), as data and pure functions."""

from __future__ import annotations

from typing import Literal

Status = Literal["assigned", "acknowledged", "in_progress", "resolved", "closed", "rejected"]
Action = Literal["acknowledge", "progress", "resolve", "transfer", "reject"]

ACTIONS: dict[Action, tuple[frozenset[Status], Status]] = {
    "acknowledge": (frozenset({"assigned"}), "acknowledged"),
    "progress": (frozenset({"acknowledged", "in_progress"}), "in_progress"),
    "resolve": (frozenset({"acknowledged", "in_progress"}), "resolved"),
    "transfer": (frozenset({"assigned", "acknowledged", "in_progress"}), "assigned"),
    "reject": (frozenset({"assigned", "acknowledged", "in_progress"}), "rejected"),
}

# The event each action publishes.
EVENTS: dict[Action, str] = {
    "acknowledge": "issue.acknowledged",
    "progress": "issue.progressed",
    "resolve": "issue.resolved",
    "transfer": "issue.transferred",
    "reject": "issue.rejected",
}

OPEN: frozenset[Status] = frozenset({"assigned", "acknowledged", "in_progress"})
DONE: frozenset[Status] = frozenset({"resolved", "closed"})


class NotAllowed(Exception):
    """The action is not allowed in the work order's status (409)."""


def next_status(status: Status, action: Action) -> Status:
    allowed, target = ACTIONS[action]
    if status not in allowed:
        raise NotAllowed(f"cannot {action} a work order that is {status}; allowed from {', '.join(sorted(allowed))}")
    return target
