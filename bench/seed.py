"""The reporting summary over a million issues (issue 7), and the plain aggregation over the raw
events it is measured against.

Issues are seeded DIRECTLY into reporting's read models, as the service would have left them after
folding their events: the per-issue documents (`reporting_issues`), the counter cells made from
them with `reporting.readmodel.counters.contribution` and summed per cell in Python (`reporting_cells`), and the
events themselves as the service stores them (`reporting_events`, for the baseline). Each issue
has a plausible life: submitted, assigned, mostly acknowledged, mostly resolved, some with
feedback (closed or reopened), a few rejected, open ones past their deadline overdue. The first
few hundred issues are folded again from their stored events through the service's own code
(`Event`, `parse_data`, `reporting.readmodel.fold`) and must give the same documents.
"""

from __future__ import annotations

import gc
import math
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from bson import ObjectId
from pymongo import IndexModel
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.write_concern import WriteConcern

from bench.load import percentile
from bench.stack import ACKNOWLEDGE, RESOLVE, ROLES, SERVICES_CATALOGUE, TOWNS, building_ids, say
from kernel.events import WORK_ORDER_EVENTS, Event, IssueFeedback, IssueSubmitted, WorkOrderChanged, parse_data
from kernel.times import utcnow
from reporting.readmodel import fold
from reporting.readmodel.cells import Cell, targets
from reporting.readmodel.counters import DONE, SCALARS, contribution

Doc = dict[str, Any]
SATISFACTION = ("satisfied", "basically_satisfied", "dissatisfied")
SUBMITTER = {"kind": "system", "subject": "hotline-12345"}
BATCH = 2000
CHECKED = 300  # issues folded again through the service's code, as a check of the seeding


def iso(t: datetime) -> str:
    """A UTC instant as pydantic writes it in events (`…Z`, microseconds only when there are some)."""
    return t.isoformat().replace("+00:00", "Z")


def ms(t: datetime) -> datetime:
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


@dataclass
class Story:
    """One seeded issue: its stored events and its folded document."""

    events: list[Doc]
    doc: Doc


class Issues:
    """Makes seeded issues, deterministically from a seed."""

    def __init__(self, now: datetime, days: int, seed: int = 20261101) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.span_s = days * 86400.0
        self.buildings = [(b, town) for town, _ in TOWNS for b in building_ids(town)]
        self.services = [(code, role) for code, _, role in SERVICES_CATALOGUE]
        self.role_letter = {role: role[0].upper() for role, _ in ROLES}
        self.made = 0

    def _id(self) -> str:
        """A 32-hex id like the events' UUIDs, but rising (a counter first): the _id index takes
        them at its end instead of at random places, which keeps a million-issue seed short."""
        self.made += 1
        return f"{self.made:012x}{self.rng.getrandbits(80):020x}"

    def _envelope(self, name: str, source: str, subject: str, at: datetime, data: Doc) -> Doc:
        event_id = self._id()
        return {
            "_id": event_id,
            "name": name,
            "time": at,
            "stored_at": at,
            "event": {
                "specversion": "1.0",
                "id": event_id,
                "source": source,
                "type": f"louzhang.{name}.v1",
                "time": iso(at),
                "subject": subject,
                "datacontenttype": "application/json",
                "data": data,
            },
        }

    def story(self, n: int) -> Story:
        rng = self.rng
        now = self.now
        issue_id = str(ObjectId())
        submitted = ms(now - timedelta(seconds=60 + rng.random() * (self.span_s - 60)))
        building, town = self.buildings[rng.randrange(len(self.buildings))]
        service, role = self.services[rng.randrange(len(self.services))]
        assignee = f"{building}{self.role_letter[role]}"
        title = f"问题 {n}"
        events = [
            self._envelope(
                "issue.submitted",
                "intake",
                issue_id,
                submitted,
                {
                    "id": issue_id,
                    "building_id": building,
                    "service_code": service,
                    "title": title,
                    "description": f"种子问题 {n}",
                    "reporter": None,
                    "enterprise_id": None,
                    "source": "hotline",
                    "media_urls": [],
                    "external_id": None,
                    "callback_url": None,
                    "created_at": iso(submitted),
                    "submitted_by": SUBMITTER,
                    "directory_version": 1,
                    "possible_duplicate_of": None,
                },
            )
        ]
        assigned = ms(submitted + timedelta(seconds=0.05 + rng.random() * 1.5))
        ack_due, resolve_due = assigned + ACKNOWLEDGE, submitted + RESOLVE
        # (event name, time, status after it, reopened count after it, overdue after it)
        steps: list[tuple[str, datetime, str, int, bool]] = [("issue.assigned", assigned, "assigned", 0, False)]
        acknowledged_at = resolved_at = feedback_at = None
        feedback: str | None = None
        status, reopened = "assigned", 0
        if rng.random() < 0.01:
            rejected = ms(assigned + timedelta(seconds=60 + rng.random() * 7200))
            if rejected < now:
                steps.append(("issue.rejected", rejected, "rejected", 0, False))
                status = "rejected"
        else:
            t = ms(assigned + timedelta(seconds=min(rng.lognormvariate(math.log(3600), 1.2), 30 * 86400)))
            if t < now and rng.random() < 0.93:
                acknowledged_at, status = t, "acknowledged"
                steps.append(("issue.acknowledged", t, status, 0, False))
                t = ms(t + timedelta(seconds=min(rng.lognormvariate(math.log(2 * 86400), 1.0), 60 * 86400)))
                if t < now and rng.random() < 0.88:
                    resolved_at, status = t, "resolved"
                    steps.append(("issue.resolved", t, status, 0, False))
                    t = ms(t + timedelta(seconds=rng.lognormvariate(math.log(86400), 0.8)))
                    if t < now and rng.random() < 0.6:
                        u = rng.random()
                        feedback = SATISFACTION[0 if u < 0.7 else 1 if u < 0.9 else 2]
                        feedback_at = t
                        events.append(
                            self._envelope(
                                "issue.feedback",
                                "intake",
                                issue_id,
                                t,
                                {
                                    "issue_id": issue_id,
                                    "satisfaction": feedback,
                                    "comment": None,
                                    "actor": SUBMITTER["subject"],
                                    "time": iso(t),
                                },
                            )
                        )
                        t = ms(t + timedelta(seconds=0.2))
                        if feedback == "dissatisfied":
                            status, reopened = "in_progress", 1
                            steps.append(("issue.reopened", t, status, 1, False))
                        else:
                            status = "closed"
                            steps.append(("issue.closed", t, status, 0, False))
        if status not in (*DONE, "rejected"):
            overdue_at = ms(max(resolve_due, steps[-1][1] + timedelta(seconds=1)))
            if overdue_at < now:
                steps.append(("issue.overdue", overdue_at, status, reopened, True))
        staff = [{"id": assignee, "name": f"{assignee}员"}]
        grid = {"grid_node": town, "assignees": staff, "responsible": staff}
        dues = {"acknowledge_due": iso(ack_due), "acknowledge_overdue": False, "resolve_due": iso(resolve_due)}
        for seq, (name, at, after, reopened_after, overdue) in enumerate(steps, start=1):
            events.append(
                self._envelope(
                    name,
                    "routing",
                    issue_id,
                    at,
                    {
                        "issue_id": issue_id,
                        "seq": seq,
                        "status": after,
                        "title": title,
                        "building_id": building,
                        "service_code": service,
                        **grid,
                        "escalation_level": 0,
                        **dues,
                        "overdue": overdue,
                        "reopened": reopened_after,
                        "recipients": [assignee] if seq == 1 else [],
                        "callback_url": None,
                        "submitted_by": SUBMITTER,
                        "actor": "system" if name in ("issue.assigned", "issue.overdue") else assignee,
                        "note": None,
                        "time": iso(at),
                    },
                )
            )
        last = steps[-1]
        doc: Doc = {
            "_id": issue_id,
            "submitted_at": submitted,
            "source": "hotline",
            "title": title,
            "building_id": building,
            "service_code": service,
            "status": last[2],
            "seq": len(steps),
            "grid_node": town,
            "assignees": [assignee],
            "responsible": [assignee],
            "resolve_due": resolve_due,
            "overdue": last[4],
            "first_ack_due": ack_due,
            "reopened": reopened,
        }
        if acknowledged_at is not None:
            doc["acknowledged_at"] = acknowledged_at
        if resolved_at is not None:
            doc["resolved_at"] = resolved_at
        if feedback is not None:
            doc.update(feedback=feedback, feedback_at=feedback_at)
        return Story(events, doc)


def refold(events: Sequence[Doc]) -> Doc | None:
    """The issue document the service's own code folds from these stored events."""
    doc: Doc | None = None
    for stored in events:
        event = Event.model_validate(stored["event"])
        data = parse_data(event)
        issue_id = data.id if isinstance(data, IssueSubmitted) else getattr(data, "issue_id", None)
        base = doc or {"_id": issue_id}
        if isinstance(data, IssueSubmitted):
            doc = fold.fold_submitted(base, data)
        elif isinstance(data, IssueFeedback):
            doc = fold.fold_feedback(base, data)
        elif isinstance(data, WorkOrderChanged):
            doc = fold.fold_work_order(base, event.name, data)
    return doc


class Cells:
    """Counter cells summed in memory exactly as `ReadModel.add` would have $inc'ed them."""

    def __init__(self) -> None:
        self.cells: dict[str, Doc] = {}
        self.counts: dict[str, dict[str, int]] = defaultdict(dict)
        self.keys: dict[Cell, list[str]] = {}

    def _keys(self, cell: Cell) -> list[str]:
        """The cells an issue's counters go to, as `ReadModel.add` finds them."""
        keys = []
        for key, fields in targets(cell):
            keys.append(key)
            self.cells.setdefault(key, {"_id": key, **fields})
        return keys

    def add(self, doc: Doc) -> None:
        part = contribution(doc)
        if part is None:
            return
        cell, counters = part
        keys = self.keys.get(cell)
        if keys is None:
            keys = self.keys[cell] = self._keys(cell)
        for key in keys:
            into = self.counts[key]
            for name, value in counters.items():
                into[name] = into.get(name, 0) + value

    def docs(self) -> Iterator[Doc]:
        """Each cell as $inc with dotted names leaves it: `h_ack.12` as {"h_ack": {"12": n}}."""
        for key, meta in self.cells.items():
            doc = dict(meta)
            for name, value in self.counts[key].items():
                if "." in name:
                    kind, index = name.split(".", 1)
                    doc.setdefault(kind, {})[index] = value
                else:
                    doc[name] = value
            yield doc


@dataclass
class Seeded:
    issues: int
    events: int
    cells: int
    days: int
    seconds: float
    checked: int


class Inserter:
    """insert_many in big unordered batches, a few in flight at once (w:1, no journal wait)."""

    def __init__(self, db: Database[Doc], in_flight: int = 3) -> None:
        concern = WriteConcern(w=1, j=False)
        self.collections = {
            name: db.get_collection(f"reporting_{name}", write_concern=concern)
            for name in ("issues", "events", "cells")
        }
        self.pool = ThreadPoolExecutor(in_flight)
        self.in_flight = in_flight
        self.pending: list[Future[Any]] = []

    def put(self, name: str, docs: list[Doc]) -> None:
        while len(self.pending) >= self.in_flight:
            self.pending.pop(0).result()
        collection: Collection[Doc] = self.collections[name]
        self.pending.append(self.pool.submit(collection.insert_many, docs, ordered=False))

    def finish(self) -> None:
        for future in self.pending:
            future.result()
        self.pending.clear()
        self.pool.shutdown()


@contextmanager
def indexes_built_after(collections: Sequence[Collection[Doc]]) -> Iterator[None]:
    """The collections' secondary indexes (the service's own) dropped during a bulk load and built
    again, with the same keys and options, afterwards: one sorted build instead of millions of
    random index inserts."""
    kept: list[tuple[Collection[Doc], list[IndexModel]]] = []
    for collection in collections:
        models = []
        for name, spec in collection.index_information().items():
            if name == "_id_":
                continue
            options = {k: v for k, v in spec.items() if k not in ("key", "v", "ns")}
            models.append(IndexModel(spec["key"], name=name, **options))
            collection.drop_index(name)
        kept.append((collection, models))
    try:
        yield
    finally:
        for collection, models in kept:
            if models:
                collection.create_indexes(models)


def seed(db: Database[Doc], issues: int, days: int) -> Seeded:
    """Seed `issues` issues over the last `days` days into reporting's read models."""
    started = time.monotonic()
    maker = Issues(utcnow(), days)
    cells = Cells()
    inserter = Inserter(db)
    # Millions of small dicts and no cycles among them: the cyclic collector would only rescan them.
    gc.disable()
    try:
        with indexes_built_after(list(inserter.collections.values())):
            counted = _seed(maker, cells, inserter, issues, started)
            say("building the read models' indexes again")
    finally:
        gc.enable()
    events, n_cells, checked = counted
    db.client.admin.command("fsync")
    seconds = time.monotonic() - started
    say(f"seeded {issues:,} issues, {events:,} events, {n_cells:,} counter cells in {seconds:.0f}s")
    return Seeded(issues, events, n_cells, days, round(seconds, 1), checked)


def _seed(maker: Issues, cells: Cells, inserter: Inserter, issues: int, started: float) -> tuple[int, int, int]:
    issue_batch: list[Doc] = []
    event_batch: list[Doc] = []
    events = checked = 0
    step = max(1, issues // 10)
    for n in range(issues):
        story = maker.story(n)
        if n < CHECKED:
            again = refold(story.events)
            if again != story.doc:
                raise AssertionError(f"seeded issue {n} differs from its events folded:\n{story.doc}\n{again}")
            checked += 1
        cells.add(story.doc)
        issue_batch.append(story.doc)
        event_batch.extend(story.events)
        events += len(story.events)
        if len(issue_batch) >= BATCH:
            inserter.put("issues", issue_batch)
            issue_batch = []
        if len(event_batch) >= BATCH:
            inserter.put("events", event_batch)
            event_batch = []
        if (n + 1) % step == 0:
            elapsed = time.monotonic() - started
            say(
                f"seeding: {n + 1:,} / {issues:,} issues, {events:,} events "
                f"({elapsed:.0f}s, {(n + 1) / elapsed:,.0f} issues/s)"
            )
    for name, rest in (("issues", issue_batch), ("events", event_batch)):
        if rest:
            inserter.put(name, rest)
    cell_docs = list(cells.docs())
    for i in range(0, len(cell_docs), BATCH):
        inserter.put("cells", cell_docs[i : i + BATCH])
    inserter.finish()
    return events, len(cell_docs), checked


# ---- the summary, and the plain aggregation it is measured against -------------------------------------

# The issue counts the summary and the plain aggregation are compared on.
COUNTS = SCALARS


@dataclass
class Timing:
    label: str
    params: dict[str, str]
    calls: int
    median_ms: float
    p99_ms: float
    counts: dict[str, int] = field(default_factory=dict)


def time_summary(base_url: str, token: str, params: dict[str, str], calls: int, label: str) -> Timing:
    """`calls` sequential GET /v1/reports/summary on one keep-alive connection (after 3 warm-up calls)."""
    seconds: list[float] = []
    body: Doc = {}
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        for i in range(calls + 3):
            began = time.perf_counter()
            r = client.get("/v1/reports/summary", params=params)
            elapsed = time.perf_counter() - began
            if r.status_code != 200:
                raise RuntimeError(f"summary answered {r.status_code}: {r.text[:300]}")
            if i >= 3:
                seconds.append(elapsed)
            body = r.json()
    return Timing(
        label=label,
        params=params,
        calls=calls,
        median_ms=round(statistics.median(seconds) * 1000, 2),
        p99_ms=round((percentile(seconds, 99) or 0) * 1000, 2),
        counts={k: int(body.get(k) or 0) for k in COUNTS},
    )


def mongod_breakdown(db: Database[Doc], base_url: str, token: str, params: dict[str, str], calls: int = 5) -> list[Doc]:
    """Where MongoDB's time goes in one summary call: the database profiler on for `calls` calls,
    its entries grouped by collection and operation (ms, documents and keys examined per call)."""
    db.command("profile", 0)
    db["system.profile"].drop()
    db.command("profile", 2)
    try:
        time_summary(base_url, token, params, calls, "profiled")
    finally:
        db.command("profile", 0)
    groups: dict[tuple[str, str], Doc] = {}
    # reporting's own collections, but for its outbox (whose relay polls meanwhile)
    for entry in db["system.profile"].find({"ns": {"$regex": r"\.reporting_", "$not": {"$regex": "_outbox$"}}}):
        command = entry.get("command") or {}
        kind = next(iter(command), entry.get("op", "?")) if isinstance(command, dict) else entry.get("op", "?")
        key = (entry["ns"].split(".", 1)[1], kind)
        g = groups.setdefault(key, {"collection": key[0], "operation": key[1], "ms": 0.0, "docs": 0, "keys": 0, "n": 0})
        g["ms"] += entry.get("millis", 0)
        g["docs"] += entry.get("docsExamined", 0)
        g["keys"] += entry.get("keysExamined", 0)
        g["n"] += 1
    total = calls + 3  # time_summary's warm-up calls are profiled too
    rows = [
        {
            **g,
            "ms": round(g["ms"] / total, 1),
            "docs": g["docs"] // total,
            "keys": g["keys"] // total,
            "n": g["n"] / total,
        }
        for g in groups.values()
    ]
    return sorted(rows, key=lambda r: -r["ms"])


def _is(name: str) -> Doc:
    return {"$eq": ["$name", name]}


def raw_pipeline(
    since: datetime | None, start: datetime | None, end: datetime | None, buildings: list[str] | None
) -> list[Doc]:
    """The summary's counts straight from the stored events: every event of every issue grouped by
    issue (its latest snapshot by seq, first acknowledgement, latest feedback…), then counted. What
    one would write without read models."""
    match: Doc = {"name": {"$in": ["issue.submitted", "issue.feedback", *WORK_ORDER_EVENTS]}}
    if since is not None:
        match["time"] = {"$gte": since}
    d = "$event.data"
    per_issue: Doc = {"submitted": {"$ne": None}, "status": {"$ne": "rejected"}}
    if start is not None or end is not None:
        per_issue["submitted"] = {k: v for k, v in (("$gte", start), ("$lt", end)) if v is not None}
    if buildings is not None:
        per_issue["building"] = {"$in": buildings}
    done = {"$in": ["$status", list(DONE)]}

    def count(condition: Doc) -> Doc:
        return {"$sum": {"$cond": [condition, 1, 0]}}

    return [
        {"$match": match},
        {
            "$project": {
                "_id": 0,
                "name": 1,
                "issue": {"$ifNull": [f"{d}.issue_id", f"{d}.id"]},
                "seq": {"$ifNull": [f"{d}.seq", 0]},
                "status": f"{d}.status",
                "overdue": f"{d}.overdue",
                "reopened": f"{d}.reopened",
                "building": f"{d}.building_id",
                "created": {"$cond": [_is("issue.submitted"), {"$toDate": f"{d}.created_at"}, None]},
                "acked": {"$cond": [_is("issue.acknowledged"), {"$toDate": f"{d}.time"}, None]},
                "ack_due": {"$cond": [_is("issue.assigned"), {"$toDate": f"{d}.acknowledge_due"}, None]},
                "feedback_at": {"$cond": [_is("issue.feedback"), {"$toDate": f"{d}.time"}, None]},
                "satisfaction": f"{d}.satisfaction",
            }
        },
        {
            "$group": {
                "_id": "$issue",
                "submitted": {"$max": "$created"},
                "first_building": {"$max": {"$cond": [_is("issue.submitted"), "$building", None]}},
                "last": {"$top": {"sortBy": {"seq": -1}, "output": ["$status", "$overdue", "$building"]}},
                "acked": {"$min": "$acked"},
                "ack_due": {"$min": "$ack_due"},
                "reopened": {"$max": "$reopened"},
                "feedback": {"$top": {"sortBy": {"feedback_at": -1}, "output": "$satisfaction"}},
            }
        },
        {
            "$project": {
                "submitted": 1,
                "acked": 1,
                "ack_due": 1,
                "reopened": 1,
                "feedback": 1,
                "status": {"$ifNull": [{"$arrayElemAt": ["$last", 0]}, "received"]},
                "overdue": {"$arrayElemAt": ["$last", 1]},
                "building": {"$ifNull": [{"$arrayElemAt": ["$last", 2]}, "$first_building"]},
            }
        },
        {"$match": per_issue},
        {
            "$group": {
                "_id": None,
                "total": {"$sum": 1},
                "acknowledged": count({"$ne": ["$acked", None]}),
                "acknowledged_on_time": count(
                    {"$and": [{"$ne": ["$acked", None]}, {"$ne": ["$ack_due", None]}, {"$lt": ["$acked", "$ack_due"]}]}
                ),
                "resolved": count(done),
                "closed": count({"$eq": ["$status", "closed"]}),
                "reopened": count({"$gt": ["$reopened", 0]}),
                "overdue_open": count({"$and": [{"$eq": ["$overdue", True]}, {"$not": [done]}]}),
                "feedback": count({"$in": ["$feedback", list(SATISFACTION)]}),
                **{kind: count({"$eq": ["$feedback", kind]}) for kind in SATISFACTION},
            }
        },
    ]


@dataclass
class RawTiming:
    label: str
    runs: int
    median_ms: float
    counts: dict[str, int]


def time_raw(
    db: Database[Doc],
    label: str,
    *,
    since: datetime | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    buildings: list[str] | None = None,
    budget_s: float = 30.0,
    max_runs: int = 3,
) -> RawTiming:
    """Run the plain aggregation at least once, and again while within `budget_s` (up to `max_runs`)."""
    pipeline = raw_pipeline(since, start, end, buildings)
    seconds: list[float] = []
    result: Doc = {}
    began = time.monotonic()
    while not seconds or (len(seconds) < max_runs and time.monotonic() - began + seconds[-1] < budget_s):
        t = time.perf_counter()
        rows = list(db["reporting_events"].aggregate(pipeline, allowDiskUse=True))
        seconds.append(time.perf_counter() - t)
        result = rows[0] if rows else {}
    return RawTiming(
        label=label,
        runs=len(seconds),
        median_ms=round(statistics.median(seconds) * 1000, 1),
        counts={k: int(result.get(k) or 0) for k in COUNTS},
    )
