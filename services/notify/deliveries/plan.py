"""Who hears of an event over which channels, and how sends are retried: pure functions."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from kernel.events import WorkOrderChanged
from notify.channels.base import Message

# The status changes an issue's callback_url hears of (escalation and 督办 are for staff).
CALLBACK_EVENTS = frozenset(
    {
        "issue.assigned",
        "issue.acknowledged",
        "issue.progressed",
        "issue.resolved",
        "issue.transferred",
        "issue.rejected",
        "issue.closed",
        "issue.reopened",
    }
)
OUTSIDE_CHANNELS = ("webhook", "wecom", "dingtalk", "email")


@dataclass(frozen=True)
class Planned:
    recipient: str | None
    channel: str


def plan(event: str, change: WorkOrderChanged, staff: dict[str, dict[str, Any]], email_enabled: bool) -> list[Planned]:
    """One delivery per (recipient, channel): the inbox always, then each outside channel the
    staff member has (email only when SMTP is configured and they have an address), and the
    issue's callback on a status change. A transfer's former assignees get an inbox item."""
    planned: list[Planned] = []
    for staff_id in dict.fromkeys(change.recipients):
        planned.append(Planned(staff_id, "inbox"))
        member = staff.get(staff_id, {})
        kinds = {c["type"] for c in member.get("channels", [])}
        for kind in OUTSIDE_CHANNELS:
            if kind in kinds and (kind != "email" or (email_enabled and member.get("email"))):
                planned.append(Planned(staff_id, kind))
    if event == "issue.transferred":  # those it was taken from hear of it, in the inbox alone
        for staff_id in dict.fromkeys(change.previous_assignees):
            if staff_id not in change.recipients:
                planned.append(Planned(staff_id, "inbox"))
    if change.callback_url and event in CALLBACK_EVENTS:
        planned.append(Planned(None, "callback"))
    return planned


def issue_view(change: WorkOrderChanged, follow_url: str | None = None) -> dict[str, Any]:
    """The issue as webhooks and callbacks see it. `follow_url` (the reporter's page) is given for
    callbacks alone: staff, who are judged by the 回访, never get the link to rate themselves."""
    view = change.model_dump(
        mode="json",
        exclude={
            "issue_id",
            "seq",
            "recipients",
            "callback_url",
            "submitted_by",
            "time",
            "actor",
            "previous_assignees",
        },
    )
    out = {"id": change.issue_id, **view, "updated_at": change.model_dump(mode="json")["time"], "actor": change.actor}
    if follow_url is not None:
        out["follow_url"] = follow_url
    return out


def retry_delay(attempts: int, backoff_s: float, rng: random.Random | None = None) -> float:
    """Seconds before the next attempt after `attempts` failed ones: the first retry waits
    `backoff_s`, each later one twice as long, with ±20% jitter so that many failed sends
    do not all come back at once."""
    jitter = (rng or random).uniform(0.8, 1.2)
    return float(backoff_s * 2 ** (attempts - 1) * jitter)


def bundle(messages: list[Message]) -> Message:
    """Messages held back by a robot's rate limit, sent as one."""
    if len(messages) == 1:
        return messages[0]
    body = "\n——\n".join(f"{m.title}\n{m.body}" for m in messages)
    return Message(title=f"【汇总】{len(messages)}条工单通知", body=body)
