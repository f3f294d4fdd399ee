"""Open inbox streams: one MongoDB change stream per process, fanned out to every listener.

A change stream per `GET /v1/inbox/stream` holds a database connection for as long as the
stream is open, so some 150 streams from one token exhausted the pool and `/readyz` and
`/v1/inbox` hung. Here the process watches the inbox once and hands each new item to the
listeners of its staff member; streams are capped per staff member and per process
(`LOUZHANG_INBOX_STREAMS_PER_STAFF`, `LOUZHANG_INBOX_STREAMS_PER_PROCESS`), and the next one
gets 429.

A listener's queue is bounded: a listener that falls behind (a client that reads slowly)
is told to catch up from the database instead of holding items in memory, and so is every
listener after the change stream had to be opened again (an outage): nothing written in
between is lost, since each catch-up reads from the database what the listener has not seen.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bson import ObjectId
from prometheus_client import Counter, Gauge
from pymongo.asynchronous.collection import AsyncCollection

from kernel.times import utcnow

log = logging.getLogger(__name__)

Doc = dict[str, Any]
STREAMS = Gauge("louzhang_inbox_streams", "Inbox streams open in this process")
REFUSED = Counter("louzhang_inbox_streams_refused_total", "Inbox streams refused by a cap", ["cap"])
# How far back a catch-up reads before the newest item seen: items of other replicas carry
# ids made by their own clocks, so one written later may sort a little earlier.
CATCH_UP_SKEW = timedelta(seconds=10)
SEEN_KEPT = 1000


class TooManyStreams(Exception):
    def __init__(self, message: str, cap: str) -> None:
        super().__init__(message)
        self.cap = cap


@dataclass(eq=False)
class Listener:
    """One open stream's mailbox: new items of its staff member, or word to catch up."""

    staff_id: str
    queue: asyncio.Queue[Doc] = field(default_factory=lambda: asyncio.Queue(maxsize=100))
    catch_up: bool = False
    closed: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def push(self, doc: Doc) -> None:
        if self.queue.full():
            self.catch_up = True
        else:
            self.queue.put_nowait(doc)
        self.wake.set()

    def resync(self) -> None:
        self.catch_up = True
        self.wake.set()


def over_cap(open_for_staff: int, open_in_process: int, per_staff: int, per_process: int) -> str | None:
    """Which cap one more stream would pass ("staff" or "process"), or None."""
    if open_in_process >= per_process:
        return "process"
    if open_for_staff >= per_staff:
        return "staff"
    return None


class InboxHub:
    def __init__(self, items: AsyncCollection[Doc], *, per_staff: int, per_process: int) -> None:
        self.items = items
        self.per_staff = per_staff
        self.per_process = per_process
        self.listeners: dict[str, set[Listener]] = defaultdict(set)
        self.count = 0
        self.watching = asyncio.Event()

    # ---- listeners ---------------------------------------------------------

    def open(self, staff_id: str) -> Listener:
        """A new listener for `staff_id`; TooManyStreams past either cap."""
        cap = over_cap(len(self.listeners.get(staff_id, ())), self.count, self.per_staff, self.per_process)
        if cap is not None:
            REFUSED.labels(cap).inc()
            limit = self.per_staff if cap == "staff" else self.per_process
            whose = f"for {staff_id}" if cap == "staff" else "in this process"
            raise TooManyStreams(f"{limit} inbox streams are open {whose} already; close one first", cap)
        listener = Listener(staff_id)
        self.listeners[staff_id].add(listener)
        self.count += 1
        STREAMS.inc()
        return listener

    def close(self, listener: Listener) -> None:
        if listener.closed:
            return
        listener.closed = True
        listener.wake.set()
        mine = self.listeners.get(listener.staff_id)
        if mine is not None:
            mine.discard(listener)
            if not mine:
                del self.listeners[listener.staff_id]
        self.count -= 1
        STREAMS.dec()

    def dispatch(self, doc: Doc) -> None:
        for listener in self.listeners.get(doc.get("staff_id", ""), ()):
            listener.push(doc)

    # ---- the one change stream ----------------------------------------------

    async def run(self) -> None:
        """Watch the inbox for the life of the process; open the change stream again after
        an error, and have every listener catch up from the database then."""
        pipeline: list[Doc] = [{"$match": {"operationType": "insert"}}, {"$project": {"fullDocument": 1}}]
        pause, opened_before = 0.2, False
        while True:
            try:
                async with await self.items.watch(pipeline) as changes:
                    self.watching.set()
                    if opened_before:
                        for mine in list(self.listeners.values()):
                            for listener in mine:
                                listener.resync()
                    opened_before, pause = True, 0.2
                    async for change in changes:
                        self.dispatch(change["fullDocument"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (an outage or a lost cursor: open it again)
                self.watching.clear()
                log.warning("inbox change stream closed, opening it again: %s", exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)

    async def resume_query(self, staff_id: str, after: ObjectId) -> Doc:
        """The items written after the one named by Last-Event-ID. By its `created_at` (in ms)
        rather than by id: ids made by two replicas within one second do not sort in the order
        they were written, so `_id > after` missed items of the other replica."""
        anchor = await self.items.find_one({"_id": after, "staff_id": staff_id}, {"created_at": 1})
        if anchor is None:
            return {"staff_id": staff_id, "_id": {"$gt": after}}
        at = anchor["created_at"]
        return {"staff_id": staff_id, "$or": [{"created_at": {"$gt": at}}, {"created_at": at, "_id": {"$gt": after}}]}

    # ---- one stream's items ---------------------------------------------------

    async def follow(self, listener: Listener, after: ObjectId | None, heartbeat_s: float) -> AsyncIterator[Doc | None]:
        """The listener's items: those after `after` first (Last-Event-ID), then each new one,
        each once; None when `heartbeat_s` passed with nothing to send (a comment goes out, so
        that a dead client is noticed). The change stream is open before the backlog is read,
        so nothing written in between is missed."""
        while not self.watching.is_set():
            try:
                await asyncio.wait_for(self.watching.wait(), heartbeat_s)
            except TimeoutError:
                yield None
        seen: OrderedDict[ObjectId, None] = OrderedDict()
        newest = after
        # Nothing older than this is sent: the resume point, or the stream's opening.
        floor = after if after is not None else ObjectId.from_datetime(utcnow())

        def fresh(doc: Doc) -> bool:
            nonlocal newest
            if doc["_id"] in seen:
                return False
            seen[doc["_id"]] = None
            if len(seen) > SEEN_KEPT:
                seen.popitem(last=False)
            if newest is None or doc["_id"] > newest:
                newest = doc["_id"]
            return True

        if after is not None:
            query = await self.resume_query(listener.staff_id, after)
            async for doc in self.items.find(query).sort([("created_at", 1), ("_id", 1)]):
                if fresh(doc):
                    yield doc
        while not listener.closed:
            if listener.catch_up:
                listener.catch_up = False
                while not listener.queue.empty():
                    listener.queue.get_nowait()
                since = floor
                if newest is not None:
                    since = max(floor, ObjectId.from_datetime(newest.generation_time - CATCH_UP_SKEW))
                async for doc in self.items.find({"staff_id": listener.staff_id, "_id": {"$gt": since}}).sort("_id", 1):
                    if fresh(doc):
                        yield doc
                continue
            if listener.queue.empty():
                listener.wake.clear()
                try:
                    await asyncio.wait_for(listener.wake.wait(), heartbeat_s)
                except TimeoutError:
                    yield None
                continue
            doc = listener.queue.get_nowait()
            if fresh(doc):
                yield doc
