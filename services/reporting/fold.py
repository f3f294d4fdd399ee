"""The per-issue read model, folded from events as plain data.

Every fold is state-based (the latest snapshot by `seq`, the first
acknowledgement, the latest resolution, the latest feedback), so an event that
arrives late or twice changes nothing it should not: applying an event again
leaves the document as it was. The issue's contribution to the counters follows
from the document alone (`contribution`), so counter updates are the difference
between two contributions and are idempotent too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from louzhang.events import IssueFeedback, IssueSubmitted, WorkOrderChanged
from reporting import histogram

SHANGHAI = ZoneInfo("Asia/Shanghai")
DONE = ("resolved", "closed")
SATISFACTION = ("satisfied", "basically_satisfied", "dissatisfied")

Doc = dict[str, Any]


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


@dataclass(frozen=True)
class Cell:
    """Where an issue counts: its submission day (Asia/Shanghai), building and service."""

    day: datetime
    building_id: str
    service_code: str


def day_of(instant: datetime) -> datetime:
    """00:00 Asia/Shanghai of the instant's day."""
    local = instant.astimezone(SHANGHAI)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def contribution(doc: Doc | None) -> tuple[Cell, dict[str, int]] | None:
    """The counters an issue adds to its cell; None when it is outside every population
    (not submitted yet as far as reporting knows, or rejected)."""
    if not doc or doc.get("submitted_at") is None or doc.get("status") == "rejected":
        return None
    status = doc.get("status")
    acknowledged_at, due = doc.get("acknowledged_at"), doc.get("first_ack_due")
    done = status in DONE
    counters = {
        "total": 1,
        "acknowledged": int(acknowledged_at is not None),
        "acknowledged_on_time": int(acknowledged_at is not None and due is not None and acknowledged_at < due),
        "resolved": int(done),
        "closed": int(status == "closed"),
        "reopened": int(doc.get("reopened", 0) > 0),
        "overdue_open": int(bool(doc.get("overdue")) and not done),
        "feedback": int(doc.get("feedback") in SATISFACTION),
        **{kind: int(doc.get("feedback") == kind) for kind in SATISFACTION},
    }
    submitted = doc["submitted_at"]
    if acknowledged_at is not None:
        counters[f"h_ack.{histogram.bin_of((acknowledged_at - submitted).total_seconds())}"] = 1
    if done and doc.get("resolved_at") is not None:
        counters[f"h_res.{histogram.bin_of((doc['resolved_at'] - submitted).total_seconds())}"] = 1
    cell = Cell(day_of(submitted), doc.get("building_id", ""), doc.get("service_code", ""))
    return cell, {k: v for k, v in counters.items() if v}


def _present(field: str) -> Doc:
    """Python's `doc.get(field) is not None`: missing and null alike are absent."""
    return {"$ne": [{"$ifNull": [f"${field}", None]}, None]}


def _seconds_since_submitted(field: str) -> Doc:
    # Dates subtract to milliseconds; stored dates have no finer part, so this is
    # `timedelta.total_seconds()` to the last bit.
    return {"$divide": [{"$subtract": [f"${field}", "$submitted_at"]}, 1000]}


def contribution_expressions() -> Doc:
    """`contribution` as MongoDB expressions over a stored issue, for `$project`: each counter as
    0 or 1, and `h_ack` / `h_res` as the histogram bin, null when that duration does not count.
    Meant for issues already matched as submitted and not rejected (`contribution` is None for
    the others). Kept next to `contribution`, and compared with it on the real server
    (tests/integration/test_reporting_edges.py): the two must never differ."""
    status = {"$ifNull": ["$status", None]}
    feedback = {"$ifNull": ["$feedback", None]}
    acknowledged = _present("acknowledged_at")
    done = {"$in": [status, list(DONE)]}
    flags: Doc = {
        "total": True,
        "acknowledged": acknowledged,
        "acknowledged_on_time": {
            "$and": [acknowledged, _present("first_ack_due"), {"$lt": ["$acknowledged_at", "$first_ack_due"]}]
        },
        "resolved": done,
        "closed": {"$eq": [status, "closed"]},
        "reopened": {"$gt": [{"$ifNull": ["$reopened", 0]}, 0]},
        "overdue_open": {"$and": [{"$ifNull": ["$overdue", False]}, {"$not": [done]}]},
        "feedback": {"$in": [feedback, list(SATISFACTION)]},
        **{kind: {"$eq": [feedback, kind]} for kind in SATISFACTION},
    }
    out: Doc = {name: {"$cond": [flag, 1, 0]} for name, flag in flags.items()}
    out["h_ack"] = {
        "$cond": [acknowledged, histogram.bin_expression(_seconds_since_submitted("acknowledged_at")), None]
    }
    out["h_res"] = {
        "$cond": [
            {"$and": [done, _present("resolved_at")]},
            histogram.bin_expression(_seconds_since_submitted("resolved_at")),
            None,
        ]
    }
    return out


def delta(old: Doc | None, new: Doc | None) -> dict[Cell, dict[str, int]]:
    """Counter changes per cell between two versions of an issue's document."""
    changes: dict[Cell, dict[str, int]] = {}
    for sign, doc in ((-1, old), (1, new)):
        part = contribution(doc)
        if part is None:
            continue
        cell, counters = part
        into = changes.setdefault(cell, {})
        for name, value in counters.items():
            into[name] = into.get(name, 0) + sign * value
    return {cell: {k: v for k, v in c.items() if v} for cell, c in changes.items() if any(c.values())}
