"""回访 decided once (`kernel.feedback`), for intake and routing alike."""

from __future__ import annotations

import pytest

from kernel import feedback
from kernel.feedback import Outcome


@pytest.mark.parametrize("satisfaction", ["satisfied", "basically_satisfied"])
def test_satisfied_or_basically_satisfied_closes_a_resolved_issue(satisfaction: feedback.Satisfaction) -> None:
    assert feedback.outcome("resolved", satisfaction) == Outcome(status="closed", reopens=False)


def test_dissatisfied_reopens_it() -> None:
    assert feedback.outcome("resolved", "dissatisfied") == Outcome(status="in_progress", reopens=True)


@pytest.mark.parametrize("status", ["received", "assigned", "acknowledged", "in_progress", "closed", "rejected"])
def test_feedback_is_taken_on_resolved_issues_only(status: str) -> None:
    assert feedback.outcome(status, "satisfied") is None
    assert feedback.outcome(status, "dissatisfied") is None


def test_the_timeline_note_names_the_verdict_and_the_comment() -> None:
    assert feedback.note("dissatisfied", "还在漏水") == "不满意：还在漏水"
    assert feedback.note("basically_satisfied", None) == "基本满意"
    assert feedback.note("satisfied", "") == "满意"
