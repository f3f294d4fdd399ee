"""回访: what the submitter's (or a staff member's) verdict does to a resolved issue.

One rule for both services: intake answers `POST /v1/issues/{id}/feedback` with it at once, and
routing applies the same decision to the work order when `issue.feedback` reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kernel.events import Satisfaction

SATISFACTION: dict[Satisfaction, str] = {
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "dissatisfied": "不满意",
}


@dataclass(frozen=True)
class Outcome:
    status: Literal["closed", "in_progress"]
    reopens: bool  # the order is in progress again, its `reopened` count one higher


def outcome(status: str, satisfaction: Satisfaction) -> Outcome | None:
    """Satisfied or basically satisfied closes a resolved issue; dissatisfied reopens it.
    None when the issue is not resolved: feedback is taken on resolved issues only."""
    if status != "resolved":
        return None
    if satisfaction == "dissatisfied":
        return Outcome(status="in_progress", reopens=True)
    return Outcome(status="closed", reopens=False)


def note(satisfaction: Satisfaction, comment: str | None) -> str:
    """The verdict as the issue's timeline shows it: 不满意：<comment>."""
    return SATISFACTION[satisfaction] + (f"：{comment}" if comment else "")
