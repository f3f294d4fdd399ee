"""What the run proves, read from MongoDB directly, from the webhook receiver, from reporting's
API and from the broker: every accepted issue stored, dispatched and its assignees notified,
once; outside sends repeated only with the same delivery id; reports equal to what was accepted."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

from chaos.directory import assignees
from chaos.load import Submission
from chaos.receiver import Receiver
from chaos.stack import Stack

ASSIGNED = "issue.assigned"


@dataclass
class Findings:
    figures: dict[str, int | str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    settled: bool = False  # nothing left in flight: outboxes sent, queues empty, no delivery pending

    def problem(self, what: str, examples: list[Any]) -> None:
        if examples:
            shown = ", ".join(map(str, examples[:5]))
            self.problems.append(f"{what}: {len(examples)} (e.g. {shown})")


def queue_depths(stack: Stack) -> dict[str, int]:
    out = stack.broker.ctl("list_queues", "-p", stack.vhost, "--no-table-headers", "name", "messages", timeout=60)
    depths = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            depths[parts[0]] = int(parts[1])
    return depths


def report_total(stack: Stack) -> int | str:
    try:
        r = httpx.get(
            f"{stack.url('reporting')}/v1/reports/summary",
            headers={"Authorization": f"Bearer {stack.admin_token}"},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        return f"error: {exc!r}"
    return int(r.json()["total"]) if r.status_code == 200 else f"error: {r.status_code}"


def examine(stack: Stack, db: Any, receiver: Receiver, accepted: list[Submission]) -> Findings:
    f = Findings()
    ids = {str(s.issue_id): s for s in accepted}
    by_description = {s.body["description"]: s for s in accepted}
    expected = {i: assignees(s.body["building_id"], s.body["service_code"]) for i, s in ids.items()}
    pairs = {(i, staff) for i, members in expected.items() for staff in members}
    f.figures["accepted issues"] = len(accepted)

    # intake: each accepted issue stored once, under the id its 201 gave, its key pointing at it.
    stored = list(db.intake_issues.find({}, {"description": 1}))
    copies = Counter(d["description"] for d in stored)
    f.figures["issues stored"] = len(stored)
    f.problem("accepted issues not stored", [d for d in by_description if copies[d] == 0])
    f.problem("issues stored twice or more", [d for d, n in copies.items() if n > 1])
    f.problem("issues stored that were never accepted", [d for d in copies if d not in by_description])
    f.problem(
        "stored under another id than the 201 gave",
        [
            d["_id"]
            for d in stored
            if d["description"] in by_description and by_description[d["description"]].issue_id != str(d["_id"])
        ],
    )
    keys = {d["_id"].rsplit(":", 1)[-1]: d for d in db.intake_idempotency.find({}, {"state": 1, "issue_id": 1})}
    f.problem(
        "Idempotency-Keys not pointing at their issue",
        [
            s.key
            for s in accepted
            if (k := keys.get(s.key)) is None or k.get("state") != "done" or k.get("issue_id") != s.issue_id
        ],
    )

    # routing: one work order each, naming the expected assignees.
    orders = {d["_id"]: d for d in db.routing_workorders.find({}, {"assignees": 1})}
    f.figures["work orders"] = len(orders)
    f.problem("accepted issues without a work order", [i for i in ids if i not in orders])
    f.problem("work orders for no accepted issue", [i for i in orders if i not in ids])
    f.problem(
        "work orders with other assignees",
        [i for i in ids if i in orders and set(orders[i]["assignees"]) != expected[i]],
    )
    published = Counter(d["event"]["subject"] for d in db.routing_outbox.find({"name": ASSIGNED}, {"event.subject": 1}))
    f.problem("issue.assigned stored twice in routing's outbox", [i for i, n in published.items() if n > 1])

    # notify: one inbox item per (issue, assignee) for issue.assigned, all from one event.
    items = list(db.notify_inbox.find({}, {"issue_id": 1, "staff_id": 1, "event": 1, "event_id": 1}))
    assigned_items = [d for d in items if d["event"] == ASSIGNED]
    per_pair = Counter((d["issue_id"], d["staff_id"]) for d in assigned_items)
    events_per_issue: dict[str, set[str]] = defaultdict(set)
    for d in assigned_items:
        events_per_issue[d["issue_id"]].add(d["event_id"])
    f.figures["inbox items"] = len(items)
    f.figures["inbox items expected"] = len(pairs)
    f.problem("assignees without their issue.assigned inbox item", sorted(pairs - set(per_pair))[:50])
    f.problem("inbox items twice or more", [p for p, n in per_pair.items() if n > 1])
    f.problem("inbox items for someone not assigned", [p for p in per_pair if p not in pairs])
    f.problem(
        "inbox items of other events (nothing should escalate)", [d["event"] for d in items if d["event"] != ASSIGNED]
    )
    f.problem("issue.assigned under several event ids", [i for i, e in events_per_issue.items() if len(e) > 1])

    # notify's delivery ledger: one record per (issue, recipient, channel, event).
    records = list(
        db.notify_deliveries.find({}, {"issue_id": 1, "recipient": 1, "channel": 1, "event": 1, "status": 1})
    )
    per_record = Counter((d["issue_id"], d["recipient"], d["channel"], d["event"]) for d in records)
    status = Counter((d["channel"], d["status"]) for d in records)
    webhook_ids = {
        (d["issue_id"], d["recipient"]): str(d["_id"])
        for d in records
        if d["channel"] == "webhook" and d["event"] == ASSIGNED
    }
    f.figures["delivery records"] = len(records)
    for (channel, state), n in sorted(status.items()):
        f.figures[f"deliveries {channel} {state}"] = n
    f.problem("delivery records twice or more", [k for k, n in per_record.items() if n > 1])
    f.problem("webhook deliveries without a record", sorted(pairs - set(webhook_ids))[:50])
    f.problem(
        "deliveries failed", [(d["issue_id"], d["recipient"], d["channel"]) for d in records if d["status"] == "failed"]
    )

    # the outside world: every webhook arrived, repeats only under the same delivery id.
    calls = [c for c in receiver.snapshot() if c.event == ASSIGNED]
    delivered: dict[tuple[str, str], set[str]] = defaultdict(set)
    for c in calls:
        delivered[(c.issue_id, c.recipient)].add(c.delivery)
    f.figures["webhook calls"] = len(receiver.snapshot())
    f.figures["webhook calls repeated (same delivery id)"] = len(calls) - len(delivered)
    f.problem("webhooks never received", sorted(pairs - set(delivered))[:50])
    f.problem("webhooks repeated under another delivery id", [k for k, v in delivered.items() if len(v) > 1])
    f.problem("webhooks for someone not assigned", [k for k in delivered if k not in pairs])
    f.problem(
        "webhook delivery ids that are not the record's id",
        [k for k, v in delivered.items() if k in webhook_ids and v != {webhook_ids[k]}],
    )

    # reporting: the read model and the report count exactly the accepted issues.
    f.figures["reporting_issues"] = db.reporting_issues.count_documents({})
    f.figures["report total"] = report_total(stack)
    for what in ("reporting_issues", "report total"):
        if f.figures[what] != len(accepted):
            f.problems.append(f"{what} is {f.figures[what]}, not the {len(accepted)} accepted")

    # the broker: nothing dead-lettered, nothing left in a queue.
    depths = queue_depths(stack)
    dead = sum(n for q, n in depths.items() if q.endswith(".dead"))
    queued = sum(n for q, n in depths.items() if not q.endswith(".dead"))
    f.figures["dead-lettered"] = dead
    f.problem("dead-lettered messages", [f"{q}: {n}" for q, n in depths.items() if q.endswith(".dead") and n])

    unsent = sum(
        db[f"{s}_outbox"].count_documents({"sent": False}) for s in ("intake", "routing", "notify", "reporting")
    )
    pending = sum(n for (_, state), n in status.items() if state == "pending")
    f.settled = unsent == 0 and queued == 0 and pending == 0
    f.figures["left in flight (outbox, queues, pending sends)"] = unsent + queued + pending
    return f


def settle(stack: Stack, receiver: Receiver, accepted: list[Submission], timeout_s: float) -> Findings:
    """Examine every few seconds until nothing is in flight and the figures stop changing,
    or `timeout_s` passes."""
    db = stack.database()
    deadline = time.monotonic() + timeout_s
    previous: dict[str, int | str] = {}
    while True:
        findings = examine(stack, db, receiver, accepted)
        if (findings.settled and findings.figures == previous) or time.monotonic() > deadline:
            return findings
        previous = findings.figures
        time.sleep(5)
