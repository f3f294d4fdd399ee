"""`louzhang reporting rebuild`: the read models rebuilt from the stored events while the service runs.

1. The stored events (`reporting_events`) are folded into fresh collections (`..._rebuild`, dropped
   first if an earlier run left them), oldest first.
2. The fresh collections replace the live ones (`swap_in`: one rename each).
3. The events stored meanwhile, which the running service folded into the old live collections,
   are folded again into the new ones. A change stream opened before step 1 names them exactly
   (an event's `time` is when it was made, not when it was stored: a late delivery would escape a
   filter on it); it is read until it shows the marker written after the swap. Folds are
   idempotent, so events the new collections already hold change nothing.
4. The four renames are not one atomic step: a transaction of the running service that commits
   between two of them leaves its issue document in one generation and its counter cells in the
   other. The counter cells of every day those late events touch are therefore recounted from the
   issue documents, in one transaction per day, and corrected where they differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.change_stream import AsyncChangeStream
from pymongo.asynchronous.client_session import AsyncClientSession

from chassis.store import Store
from kernel.events import Event, parse_data
from kernel.times import utcnow
from reporting.readmodel.cells import ALL, Cell, day_of, next_day
from reporting.readmodel.counters import contribution, dotted
from reporting.readmodel.fold import issue_of
from reporting.readmodel.store import NAMES, ReadModel, swap_in

log = logging.getLogger(__name__)

SUFFIX = "_rebuild"
# How long to wait for the change stream to show the marker written after the swap.
CATCH_UP_S = 60.0
# Without the change stream's list, the events whose time is this close to the start are folded again.
FALLBACK_MARGIN = timedelta(minutes=10)

# (events read so far, events to read): called as the rebuild goes.
Progress = Callable[[int, int], None]
Doc = dict[str, Any]


@dataclass
class Rebuilt:
    events: int  # stored events when the rebuild began
    folded: int  # of those read, the ones folded (notification outcomes are kept, not folded)
    caught_up: int  # events stored during the rebuild, folded again into the live collections
    days_repaired: int  # days whose counter cells were recounted and found out of step
    counts: dict[str, int] = field(default_factory=dict)  # documents per live collection afterwards
    seconds: float = 0.0


class Arrivals:
    """The ids of the events stored from `open` until the marker `(collection, id)` is updated."""

    def __init__(self, store: Store, marker: tuple[str, str]) -> None:
        self.store = store
        self.events = store.col("events").name
        self.marker = marker
        self.ids: set[str] = set()
        self.stream: AsyncChangeStream[Doc] | None = None

    async def open(self) -> None:
        pipeline: list[Doc] = [
            {
                "$match": {
                    "ns.coll": {"$in": [self.events, self.marker[0]]},
                    "operationType": {"$in": ["insert", "update"]},
                }
            },
            {"$project": {"ns": 1, "operationType": 1, "documentKey": 1}},
        ]
        self.stream = await self.store.db.watch(pipeline)

    async def until_marker(self) -> set[str]:
        assert self.stream is not None
        async for change in self.stream:
            collection, key = change["ns"]["coll"], change["documentKey"]["_id"]
            if collection == self.events and change["operationType"] == "insert":
                self.ids.add(key)
            elif (collection, key) == self.marker and change["operationType"] == "update":
                return self.ids
        raise RuntimeError("the change stream ended before the marker")

    async def close(self) -> None:
        if self.stream is not None:
            await self.stream.close()


async def rebuild(store: Store, progress: Progress | None = None) -> Rebuilt:
    """Rebuild the read models from the stored events and put them in place of the live ones."""
    began = time.monotonic()
    fresh, live = ReadModel(store, suffix=SUFFIX), ReadModel(store)
    for name in NAMES:
        await store.db.drop_collection(store.col(name + SUFFIX).name)
    await fresh.ensure_indexes()

    runs = store.col("rebuilds")
    run_id = uuid.uuid4().hex
    arrivals = Arrivals(store, (runs.name, run_id))
    await arrivals.open()
    listening = asyncio.create_task(arrivals.until_marker(), name="rebuild-arrivals")
    started_at = utcnow()
    try:
        await runs.insert_one({"_id": run_id, "started_at": started_at, "state": "folding"})
        total = await fresh.events.count_documents({})
        read = 0

        def advance(n: int) -> None:
            nonlocal read
            read += n
            if progress is not None:
                progress(read, max(total, read))

        if progress is not None:
            progress(0, total)
        folded = await fresh.replay(progress=advance)
        await swap_in(store.db, store, SUFFIX)
        await runs.update_one({"_id": run_id}, {"$set": {"state": "swapped", "swapped_at": utcnow()}})
        try:
            arrived: set[str] | None = await asyncio.wait_for(asyncio.shield(listening), CATCH_UP_S)
        except Exception:
            log.exception("the change stream of stored events failed; folding again by event time instead")
            arrived = None
    except BaseException:
        # Before the swap the live collections are untouched; after it they may miss the events
        # stored meanwhile. Either way, running the rebuild again puts everything right.
        with contextlib.suppress(Exception):
            await runs.update_one({"_id": run_id}, {"$set": {"state": "failed", "failed_at": utcnow()}})
        raise
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        await arrivals.close()

    if arrived is not None:
        caught_up = await live.replay(ids=arrived)
        issue_ids = await issues_of(live, arrived)
    else:
        since = started_at - FALLBACK_MARGIN
        caught_up = await live.replay(since)
        issue_ids = await issues_of(live, None, since)
    repaired = await repair_days(live, await days_of(live, issue_ids))
    counts = {name: await store.col(name).count_documents({}) for name in NAMES}
    await runs.update_one(
        {"_id": run_id},
        {
            "$set": {
                "state": "done",
                "done_at": utcnow(),
                "events": total,
                "folded": folded,
                "caught_up": caught_up,
                "days_repaired": repaired,
                "counts": counts,
            }
        },
    )
    return Rebuilt(total, folded, caught_up, repaired, counts, time.monotonic() - began)


async def issues_of(model: ReadModel, ids: Iterable[str] | None, since: datetime | None = None) -> set[str]:
    """The issues the stored events (named by `ids`, or from `since` on) are about."""
    query: Doc = {"_id": {"$in": list(ids)}} if ids is not None else {"time": {"$gte": since}}
    issues: set[str] = set()
    async for stored in model.events.find(query, {"event": 1}):
        try:
            data = parse_data(Event.model_validate(stored["event"]))
        except (KeyError, ValueError):
            continue
        issue_id = issue_of(data)
        if issue_id is not None:
            issues.add(issue_id)
    return issues


async def days_of(model: ReadModel, issue_ids: Iterable[str]) -> set[datetime]:
    """The submission days (Asia/Shanghai) of these issues: the days whose cells they count in."""
    days: set[datetime] = set()
    ids = list(issue_ids)
    for chunk in (ids[i : i + 1000] for i in range(0, len(ids), 1000)):
        async for doc in model.issues.find({"_id": {"$in": chunk}}, {"submitted_at": 1}):
            if doc.get("submitted_at") is not None:
                days.add(day_of(doc["submitted_at"]))
    return days


async def repair_days(model: ReadModel, days: Iterable[datetime]) -> int:
    """Recount each day's cells (per building and service) from the issue documents, in one
    transaction per day, and add the differences to the day and month cells (with their `*`
    service twins, which move by the same amounts). Returns how many days were out of step."""
    repaired = 0
    for day in sorted(days):
        if await model.store.transaction(functools.partial(_repair_day, model, day)):
            log.warning("counter cells of %s were out of step with the issues; corrected", day.date())
            repaired += 1
    return repaired


async def _repair_day(model: ReadModel, day: datetime, session: AsyncClientSession) -> bool:
    expected: dict[tuple[str, str], dict[str, int]] = {}
    window = {"$gte": day, "$lt": next_day(day)}
    async for doc in model.issues.find({"submitted_at": window}, session=session):
        part = contribution(doc)
        if part is None:
            continue
        cell, counters = part
        into = expected.setdefault((cell.building_id, cell.service_code), {})
        for name, n in counters.items():
            into[name] = into.get(name, 0) + n
    stored: dict[tuple[str, str], dict[str, int]] = {}
    query = {"grain": "day", "period": day, "service_code": {"$ne": ALL}, "building_id": {"$ne": ALL}}
    async for cell_doc in model.cells.find(query, session=session):
        stored[(cell_doc["building_id"], cell_doc["service_code"])] = dotted(cell_doc)
    changes: dict[Cell, dict[str, int]] = {}
    for where in expected.keys() | stored.keys():
        want, have = expected.get(where, {}), stored.get(where, {})
        diff = {name: want.get(name, 0) - have.get(name, 0) for name in want.keys() | have.keys()}
        diff = {name: n for name, n in diff.items() if n}
        if diff:
            changes[Cell(day, *where)] = diff
    if changes:
        await model.add(changes, session)
    return bool(changes)
