"""The per-issue read model, folded from events as plain data.

Every fold is state-based (the latest snapshot by `seq`, the first
acknowledgement, the latest resolution, the latest feedback), so an event that
arrives late or twice changes nothing it should not: applying an event again
leaves the document as it was. The issue's contribution to the counters follows
from the document alone (`counters.contribution`), so counter updates are the
difference between two contributions and are idempotent too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kernel.events import IssueFeedback, IssueSubmitted, WorkOrderChanged

Doc = dict[str, Any]


def issue_of(data: Any) -> str | None:
    """The issue an event is about; None for events about no issue."""
    if isinstance(data, IssueSubmitted):
        return data.id
    if isinstance(data, WorkOrderChanged | IssueFeedback):
        return data.issue_id
    return None


def fold_issue(doc: Doc, name: str, data: IssueSubmitted | WorkOrderChanged | IssueFeedback) -> Doc:
    if isinstance(data, IssueSubmitted):
        return fold_submitted(doc, data)
    if isinstance(data, IssueFeedback):
        return fold_feedback(doc, data)
    return fold_work_order(doc, name, data)


def fold_submitted(doc: Doc, issue: IssueSubmitted) -> Doc:
    new = dict(doc)
    new.update(submitted_at=issue.created_at, source=issue.source)
    if not new.get("seq"):  # no work-order snapshot yet: the submission's own view
        new.update(
            title=issue.title,
            building_id=issue.building_id,
            service_code=issue.service_code,
            status="received",
            seq=0,
        )
    return new


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min(x for x in (a, b) if x is not None) if (a or b) else None


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(x for x in (a, b) if x is not None) if (a or b) else None


def fold_work_order(doc: Doc, name: str, change: WorkOrderChanged) -> Doc:
    new = dict(doc)
    if change.seq > new.get("seq", 0):
        new.update(
            seq=change.seq,
            status=change.status,
            title=change.title,
            building_id=change.building_id,
            service_code=change.service_code,
            grid_node=change.grid_node,
            assignees=[a.id for a in change.assignees],
            responsible=[a.id for a in change.responsible or change.assignees],
            resolve_due=change.resolve_due,
            overdue=change.overdue,
        )
        if change.calendar_fallback:
            new["calendar_fallback"] = sorted(change.calendar_fallback)
        else:
            new.pop("calendar_fallback", None)
    if name == "issue.assigned":
        new["first_ack_due"] = _earliest(new.get("first_ack_due"), change.acknowledge_due)
    elif name == "issue.acknowledged":
        new["acknowledged_at"] = _earliest(new.get("acknowledged_at"), change.time)
    elif name == "issue.resolved":
        new["resolved_at"] = _latest(new.get("resolved_at"), change.time)
    new["reopened"] = max(new.get("reopened", 0), change.reopened)
    return new


def fold_feedback(doc: Doc, verdict: IssueFeedback) -> Doc:
    new = dict(doc)
    if new.get("feedback_at") is None or verdict.time >= new["feedback_at"]:
        new.update(feedback=verdict.satisfaction, feedback_at=verdict.time)
    return new
