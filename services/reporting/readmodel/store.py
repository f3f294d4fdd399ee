"""Reporting's read models, fed only by events:

- `reporting_issues`: one folded document per issue (see `fold`, and `counters` for what it counts);
- `reporting_cells`: counters per (day or month, building, service or "*"), kept in step
  with the issue documents in the same transaction, so that a report over any window
  sums a few thousand cells instead of scanning every issue;
- `reporting_enterprises`, `reporting_visits`: for visit coverage;
- `reporting_events`: every event as it came, for `louzhang reporting rebuild`.

Only this package writes these collections (here, and `rebuild`); the reports (`reporting.reports`)
read them through a `ReadModel`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReplaceOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from chassis.store import Store
from kernel.events import (
    EnterpriseUpdated,
    Event,
    IssueFeedback,
    IssueSubmitted,
    VisitRecorded,
    WorkOrderChanged,
    parse_data,
)
from kernel.times import utcnow
from reporting.readmodel.cells import Cell, targets
from reporting.readmodel.counters import delta
from reporting.readmodel.fold import fold_issue, issue_of

Doc = dict[str, Any]
# The event data the read models are folded from.
FOLDED = (IssueSubmitted, WorkOrderChanged, IssueFeedback, EnterpriseUpdated, VisitRecorded)
NAMES = ("issues", "cells", "enterprises", "visits")


def _keep(event: Event) -> UpdateOne:
    doc = {"name": event.name, "time": event.time, "stored_at": utcnow(), "event": event.model_dump(mode="json")}
    return UpdateOne({"_id": event.id}, {"$setOnInsert": doc}, upsert=True)


class ReadModel:
    def __init__(self, store: Store, suffix: str = "") -> None:
        self.store = store
        self.suffix = suffix
        self.issues = store.col("issues" + suffix)
        self.cells = store.col("cells" + suffix)
        self.enterprises = store.col("enterprises" + suffix)
        self.visits = store.col("visits" + suffix)
        self.events = store.col("events")

    async def ensure_indexes(self) -> None:
        await self.issues.create_index([("submitted_at", ASCENDING)])
        # The drill-down's pages, newest first (ties by id), and the 督办 list's, longest overdue first.
        await self.issues.create_index([("submitted_at", ASCENDING), ("_id", ASCENDING)])
        await self.issues.create_index(
            [("resolve_due", ASCENDING), ("_id", ASCENDING)], partialFilterExpression={"overdue": True}
        )
        # The drill-down's pages, newest first (ties by id).
        await self.issues.create_index([("submitted_at", ASCENDING), ("_id", ASCENDING)])
        await self.issues.create_index(
            [("resolve_due", ASCENDING), ("_id", ASCENDING)], partialFilterExpression={"overdue": True}
        )
        await self.issues.create_index([("building_id", ASCENDING), ("submitted_at", ASCENDING)])
        await self.issues.create_index(
            [("calendar_fallback", ASCENDING)], partialFilterExpression={"calendar_fallback": {"$exists": True}}
        )
        await self.cells.create_index(
            [("grain", ASCENDING), ("service_code", ASCENDING), ("period", ASCENDING), ("building_id", ASCENDING)]
        )
        await self.enterprises.create_index([("building_id", ASCENDING)])
        await self.visits.create_index([("visited_at", ASCENDING)])
        await self.visits.create_index([("building_id", ASCENDING), ("visited_at", ASCENDING)])
        await self.events.create_index([("time", ASCENDING)])

    # ---- applying events --------------------------------------------------

    async def keep(self, event: Event, session: AsyncClientSession | None = None) -> None:
        """Store the event as it came (once), for rebuilds."""
        await self.events.bulk_write([_keep(event)], session=session)

    async def apply(self, event: Event, data: Any, *, keep: bool = True) -> None:
        """Fold one event into the read models, in one transaction with its storage."""

        async def work(session: AsyncClientSession) -> None:
            if keep:
                await self.keep(event, session)
            await self.fold_event(event.name, data, session)

        await self.store.transaction(work)

    async def fold_event(self, name: str, data: Any, session: AsyncClientSession | None) -> None:
        if isinstance(data, EnterpriseUpdated):
            e = data.enterprise
            held = await self.enterprises.find_one({"_id": e.id}, {"version": 1}, session=session)
            if held is None or held.get("version", 0) < data.version:
                doc = {"version": data.version, "building_id": e.building_id, "name": e.name}
                await self.enterprises.replace_one({"_id": e.id}, doc, upsert=True, session=session)
            return
        if isinstance(data, VisitRecorded):
            await self.visits.update_one(
                {"_id": data.id},
                {
                    "$setOnInsert": {
                        "building_id": data.building_id,
                        "enterprise_id": data.enterprise_id,
                        "visited_at": data.visited_at,
                        "kind": data.kind,
                        "participants": data.participants,
                    }
                },
                upsert=True,
                session=session,
            )
            return
        issue_id = issue_of(data)
        if issue_id is None:
            return
        old = await self.issues.find_one({"_id": issue_id}, session=session)
        new = fold_issue(old or {"_id": issue_id}, name, data)
        if new == old:
            return
        await self.issues.replace_one({"_id": issue_id}, new, upsert=True, session=session)
        await self.add(delta(old, new), session)

    async def apply_batch(self, items: list[tuple[Event, Any]]) -> None:
        """Fold many events in one transaction: each issue document read and written once,
        the counter changes merged per cell. The folds are state-based, so the change from an
        issue's first to its last state is the sum of the steps in between."""

        async def work(session: AsyncClientSession) -> None:
            await self.events.bulk_write([_keep(event) for event, _ in items], ordered=False, session=session)
            ids = {i for _, data in items if (i := issue_of(data)) is not None}
            found = {d["_id"]: d async for d in self.issues.find({"_id": {"$in": sorted(ids)}}, session=session)}
            current: dict[str, Doc] = dict(found)
            for event, data in items:
                issue_id = issue_of(data)
                if issue_id is None:
                    await self.fold_event(event.name, data, session)
                else:
                    current[issue_id] = fold_issue(current.get(issue_id) or {"_id": issue_id}, event.name, data)
            changed = {i: doc for i, doc in current.items() if doc != found.get(i)}
            if changed:
                writes = [ReplaceOne({"_id": i}, doc, upsert=True) for i, doc in changed.items()]
                await self.issues.bulk_write(writes, ordered=False, session=session)
            totals: dict[Cell, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            for i, doc in changed.items():
                for cell, counters in delta(found.get(i), doc).items():
                    for name, value in counters.items():
                        totals[cell][name] += value
            await self.add(totals, session)

        await self.store.transaction(work)

    async def add(self, changes: Mapping[Cell, Mapping[str, int]], session: AsyncClientSession | None) -> None:
        """Add counter changes to every cell the issue counts in (see `targets`)."""
        writes = []
        for cell, counters in changes.items():
            increments = {k: v for k, v in counters.items() if v}
            if not increments:
                continue
            for key, fields in targets(cell):
                writes.append(UpdateOne({"_id": key}, {"$inc": increments, "$setOnInsert": fields}, upsert=True))
        if writes:
            await self.cells.bulk_write(writes, ordered=False, session=session)

    # ---- rebuilding -------------------------------------------------------

    async def replay(
        self,
        since: datetime | None = None,
        progress: Callable[[int], None] | None = None,
        *,
        ids: Collection[str] | None = None,
    ) -> int:
        """Fold the stored events (all, those from `since`, or those named by `ids`) into these
        collections, oldest first; returns how many were folded. `progress` hears of every stored
        event read, folded or not (notification outcomes are kept but not folded)."""
        query: Doc = {} if since is None else {"time": {"$gte": since}}
        if ids is not None:
            query["_id"] = {"$in": list(ids)}
        count = 0
        # By time alone, so that the index on it serves the sort (folds do not depend on the order).
        async for stored in self.events.find(query).sort("time", ASCENDING):
            try:
                event = Event.model_validate(stored["event"])
                data = parse_data(event)
            except (KeyError, ValueError):
                data = None
            if isinstance(data, FOLDED):
                await self.apply(event, data, keep=False)
                count += 1
            if progress is not None:
                progress(1)
        return count


async def swap_in(db: AsyncDatabase[Doc], store: Store, suffix: str) -> None:
    """Put rebuilt collections in place of the live ones, each in one rename that drops the live
    one. A kind of document the rebuild found none of replaces its live collection all the same
    (with an empty one, indexed like the live ones)."""
    await ReadModel(store, suffix).ensure_indexes()
    present = set(await db.list_collection_names())
    for name in NAMES:
        source = store.col(name + suffix).name
        target = store.col(name).name
        if source not in present:
            raise RuntimeError(f"no collection {source} to put in place of {target}")
        await db.client.admin.command(
            "renameCollection", f"{db.name}.{source}", to=f"{db.name}.{target}", dropTarget=True
        )
