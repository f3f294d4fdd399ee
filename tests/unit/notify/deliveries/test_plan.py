"""notify.deliveries.plan: who hears of an event over which channels, and how sends are retried."""

from __future__ import annotations

import itertools
import json
import random
import statistics
from typing import Any

import pytest

from kernel.directory import Staff
from kernel.events import WORK_ORDER_EVENTS, Submitter, WorkOrderChanged
from notify.channels.base import Message
from notify.deliveries.plan import CALLBACK_EVENTS, Planned, bundle, issue_view, plan, retry_delay

CALLBACK = "https://client.example.org/callback"

WEBHOOK = {"type": "webhook", "url": "http://hook.example.org/x", "secret": "hook-secret"}
WECOM = {"type": "wecom", "key": "wecom-key"}
DINGTALK = {"type": "dingtalk", "access_token": "ding-token", "secret": "SECding"}
EMAIL = {"type": "email"}


def _member(staff_id: str, channels: list[dict[str, Any]], email: str | None = None) -> dict[str, Any]:
    """A staff member as notify holds it: the directory's Staff, dumped to JSON."""
    staff = Staff.model_validate({"id": staff_id, "name": f"员工{staff_id}", "email": email, "channels": channels})
    return staff.model_dump(mode="json")


STAFF: dict[str, dict[str, Any]] = {
    "S1": _member("S1", [EMAIL, DINGTALK, WECOM, WEBHOOK], email="s1@example.org"),  # every kind, listed out of order
    "S2": _member("S2", [WECOM]),
    "S3": _member("S3", [EMAIL]),  # an email channel but no address
    "S4": _member("S4", [], email="s4@example.org"),  # an address but no email channel
    "S5": _member("S5", []),
}


def _change(work_order: WorkOrderChanged, **update: Any) -> WorkOrderChanged:
    return work_order.model_copy(update=update)


def _pairs(planned: list[Planned]) -> list[tuple[str | None, str]]:
    return [(p.recipient, p.channel) for p in planned]


# ---- plan ----------------------------------------------------------------------


def test_inbox_first_then_outside_channels_in_a_fixed_order(work_order: WorkOrderChanged) -> None:
    planned = plan("issue.escalated", _change(work_order, recipients=["S1"]), STAFF, email_enabled=True)
    assert _pairs(planned) == [("S1", "inbox"), ("S1", "webhook"), ("S1", "wecom"), ("S1", "dingtalk"), ("S1", "email")]


def test_inbox_for_each_recipient_deduplicated_in_order(work_order: WorkOrderChanged) -> None:
    change = _change(work_order, recipients=["S5", "S2", "S5", "S4", "S2"])
    planned = plan("issue.escalated", change, STAFF, email_enabled=True)
    assert [p.recipient for p in planned if p.channel == "inbox"] == ["S5", "S2", "S4"]
    assert _pairs(planned) == [("S5", "inbox"), ("S2", "inbox"), ("S2", "wecom"), ("S4", "inbox")]
    assert len(set(_pairs(planned))) == len(planned)


def test_a_recipient_unknown_to_notify_still_gets_the_inbox(work_order: WorkOrderChanged) -> None:
    planned = plan("issue.assigned", _change(work_order, recipients=["S99"]), STAFF, email_enabled=True)
    assert _pairs(planned) == [("S99", "inbox")]


def test_only_the_channels_the_member_has(work_order: WorkOrderChanged) -> None:
    planned = plan("issue.escalated", _change(work_order, recipients=["S2", "S5"]), STAFF, email_enabled=True)
    assert _pairs(planned) == [("S2", "inbox"), ("S2", "wecom"), ("S5", "inbox")]


def test_two_channels_of_one_kind_make_one_delivery(work_order: WorkOrderChanged) -> None:
    staff = {"S1": _member("S1", [WECOM, {"type": "wecom", "key": "second"}])}
    planned = plan("issue.escalated", _change(work_order, recipients=["S1"]), staff, email_enabled=True)
    assert _pairs(planned) == [("S1", "inbox"), ("S1", "wecom")]


@pytest.mark.parametrize(
    ("member", "email_enabled", "gets_email"),
    [
        ("S1", True, True),  # channel and address
        ("S1", False, False),  # SMTP not configured
        ("S3", True, False),  # no address
        ("S4", True, False),  # no email channel
    ],
)
def test_email_needs_smtp_a_channel_and_an_address(
    work_order: WorkOrderChanged, member: str, email_enabled: bool, gets_email: bool
) -> None:
    planned = plan("issue.escalated", _change(work_order, recipients=[member]), STAFF, email_enabled=email_enabled)
    assert ((member, "email") in _pairs(planned)) is gets_email
    assert (member, "inbox") in _pairs(planned)


def test_email_disabled_leaves_the_other_channels(work_order: WorkOrderChanged) -> None:
    planned = plan("issue.escalated", _change(work_order, recipients=["S1"]), STAFF, email_enabled=False)
    assert _pairs(planned) == [("S1", "inbox"), ("S1", "webhook"), ("S1", "wecom"), ("S1", "dingtalk")]


def test_callback_events_are_the_status_changes() -> None:
    status_changes = set(WORK_ORDER_EVENTS) - {"issue.escalated", "issue.overdue"}
    assert status_changes == CALLBACK_EVENTS


@pytest.mark.parametrize("event", sorted(CALLBACK_EVENTS))
def test_a_status_change_goes_to_the_callback_last(work_order: WorkOrderChanged, event: str) -> None:
    change = _change(work_order, recipients=["S2"], callback_url=CALLBACK)
    planned = plan(event, change, STAFF, email_enabled=True)
    assert _pairs(planned) == [("S2", "inbox"), ("S2", "wecom"), (None, "callback")]


@pytest.mark.parametrize("event", ["issue.escalated", "issue.overdue", "issue.submitted", "issue.feedback"])
def test_escalation_and_overdue_are_not_for_the_callback(work_order: WorkOrderChanged, event: str) -> None:
    change = _change(work_order, recipients=["S2"], callback_url=CALLBACK)
    planned = plan(event, change, STAFF, email_enabled=True)
    assert "callback" not in [p.channel for p in planned]


@pytest.mark.parametrize("callback_url", [None, ""])
def test_no_callback_url_no_callback(work_order: WorkOrderChanged, callback_url: str | None) -> None:
    change = _change(work_order, recipients=["S2"], callback_url=callback_url)
    planned = plan("issue.resolved", change, STAFF, email_enabled=True)
    assert _pairs(planned) == [("S2", "inbox"), ("S2", "wecom")]


def test_no_recipients_and_a_callback_is_just_the_callback(work_order: WorkOrderChanged) -> None:
    change = _change(work_order, recipients=[], callback_url=CALLBACK)
    assert plan("issue.resolved", change, STAFF, email_enabled=True) == [Planned(None, "callback")]


def test_no_recipients_no_callback_is_nothing(work_order: WorkOrderChanged) -> None:
    assert plan("issue.resolved", _change(work_order, recipients=[]), STAFF, email_enabled=True) == []


def test_a_callback_is_planned_once_whatever_the_recipients(work_order: WorkOrderChanged) -> None:
    change = _change(work_order, recipients=["S1", "S2", "S5"], callback_url=CALLBACK)
    planned = plan("issue.closed", change, STAFF, email_enabled=True)
    assert [p for p in planned if p.channel == "callback"] == [Planned(None, "callback")]
    assert planned[-1] == Planned(None, "callback")


# ---- issue_view -------------------------------------------------------------------


def test_issue_view_has_the_id_and_no_internals(work_order: WorkOrderChanged) -> None:
    change = _change(
        work_order,
        recipients=["S1", "S2"],
        callback_url=CALLBACK,
        submitted_by=Submitter(kind="system", subject="hotline"),
        actor="S6",
        seq=3,
    )
    view = issue_view(change)
    assert view["id"] == "I1"
    for hidden in ("recipients", "callback_url", "submitted_by", "issue_id", "seq", "time"):
        assert hidden not in view
    assert view["status"] == "assigned"
    assert view["title"] == "消防通道堆物"
    assert view["assignees"] == [{"id": "S6", "name": "员工6"}]
    assert view["actor"] == "S6"
    assert view["updated_at"] == change.model_dump(mode="json")["time"]
    assert view["acknowledge_due"] == "2026-11-20T02:30:00Z"


def test_issue_view_is_json_ready(work_order: WorkOrderChanged) -> None:
    view = issue_view(_change(work_order, callback_url=CALLBACK, recipients=["S1"]))
    assert json.loads(json.dumps(view, ensure_ascii=False)) == view
    assert CALLBACK not in json.dumps(view)


def test_issue_view_carries_the_reporters_link_only_when_given(work_order: WorkOrderChanged) -> None:
    change = _change(work_order, callback_url=CALLBACK)
    assert "follow_url" not in issue_view(change)
    assert issue_view(change, "http://x/r/abc")["follow_url"] == "http://x/r/abc"


# ---- retry_delay --------------------------------------------------------------------


@pytest.mark.parametrize("attempts", [1, 2, 3, 4, 6])
@pytest.mark.parametrize("backoff_s", [0.2, 1.0, 30.0])
def test_retry_delay_is_within_20_percent_of_the_backoff(attempts: int, backoff_s: float) -> None:
    rng = random.Random(attempts * 1000 + int(backoff_s * 10))
    nominal = backoff_s * 2 ** (attempts - 1)
    delays = [retry_delay(attempts, backoff_s, rng) for _ in range(500)]
    assert all(isinstance(d, float) for d in delays)
    assert all(0.8 * nominal <= d <= 1.2 * nominal for d in delays)
    assert min(delays) < 0.85 * nominal and max(delays) > 1.15 * nominal  # there is jitter, both ways


def test_the_first_retry_waits_about_the_backoff() -> None:
    rng = random.Random(1)
    assert 8.0 <= retry_delay(1, 10.0, rng) <= 12.0


def test_retry_delay_doubles_on_average() -> None:
    rng = random.Random(20261120)
    means = [statistics.fmean(retry_delay(n, 1.0, rng) for _ in range(4000)) for n in range(1, 6)]
    for n, mean in enumerate(means, start=1):
        assert mean == pytest.approx(2 ** (n - 1), rel=0.02)
    for earlier, later in itertools.pairwise(means):
        assert later / earlier == pytest.approx(2.0, rel=0.04)


def test_retry_delay_is_reproducible_with_a_seed() -> None:
    first = [retry_delay(n, 0.5, random.Random(7)) for n in range(1, 5)]
    again = [retry_delay(n, 0.5, random.Random(7)) for n in range(1, 5)]
    assert first == again


def test_retry_delay_without_a_generator_is_still_bounded() -> None:
    for _ in range(100):
        assert 1.6 <= retry_delay(2, 1.0) <= 2.4


# ---- bundle --------------------------------------------------------------------------


def test_one_message_is_sent_unchanged() -> None:
    message = Message(title="【新工单】消防通道堆物", body="事项：消防安全隐患")
    assert bundle([message]) is message


def test_several_messages_are_summed_up_in_one() -> None:
    messages = [
        Message(title="【新工单】消防通道堆物", body="事项：消防安全隐患\n级别：第1级"),
        Message(title="【工单升级】电梯故障", body="事项：设施维修\n级别：第2级"),
        Message(title="【工单逾期督办】人才公寓申请", body="事项：人才服务"),
    ]
    summed = bundle(messages)
    assert summed.title == "【汇总】3条工单通知"
    for message in messages:
        assert message.title in summed.body
        assert message.body in summed.body
    # In the order they were held back.
    positions = [summed.body.index(m.title) for m in messages]
    assert positions == sorted(positions)


def test_two_messages_say_two() -> None:
    summed = bundle([Message("甲", "一"), Message("乙", "二")])
    assert summed.title == "【汇总】2条工单通知"
    assert "甲" in summed.body and "一" in summed.body and "乙" in summed.body and "二" in summed.body
