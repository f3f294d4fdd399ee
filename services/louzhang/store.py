"""MongoDB access shared by the services: collections, transactions, the outbox and consumer idempotency."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, DuplicateKeyError, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.server_type import SERVER_TYPE
from pymongo.write_concern import WriteConcern

from louzhang.bus import Bus
from louzhang.events import Event
from louzhang.loops import run_forever

log = logging.getLogger(__name__)

T = TypeVar("T")
Doc = dict[str, Any]


# How long a commit whose outcome is unknown (an election under way) is tried again: a replica
# set with electionTimeoutMillis 2000 has a new primary within a few seconds.
COMMIT_RETRY_S = 12.0


def utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    """One service's view of the database: its own collections, named `<service>_<name>`."""

    def __init__(self, url: str, database: str, service: str, *, timeout_s: float = 5.0) -> None:
        self.service = service
        self.client: AsyncMongoClient[Doc] = AsyncMongoClient(
            url,
            tz_aware=True,
            serverSelectionTimeoutMS=int(timeout_s * 1000),
            connectTimeoutMS=int(timeout_s * 1000),
            appname=f"louzhang-{service}",
        )
        self.db: AsyncDatabase[Doc] = self.client.get_database(
            database, write_concern=WriteConcern("majority"), read_concern=ReadConcern("majority")
        )
        self.outbox = self.col("outbox")
        self.processed = self.col("processed")
        # Called after every committed transaction with the events it put in the outbox: the
        # outbox relay takes them from memory (`OutboxRelay.hand_over`).
        self.on_commit: Callable[[list[Event]], None] = lambda events: None
        # Who publishes events committed here, and how long the poller leaves them to it.
        self.outbox_owner: str | None = None
        self.hand_over_lease = timedelta(seconds=10)
        # The events each open transaction has put in the outbox, by session.
        self._staged: dict[int, list[Event]] = {}

    def col(self, name: str) -> AsyncCollection[Doc]:
        return self.db[f"{self.service}_{name}"]

    async def ping(self) -> bool:
        try:
            await self.client.admin.command("ping")
            return True
        except PyMongoError:
            return False

    def primary(self) -> str | None:
        """The replica-set primary the driver knows of now (`host:port`), without asking the server."""
        for server in self.client.topology_description.server_descriptions().values():
            if server.server_type == SERVER_TYPE.RSPrimary:
                return f"{server.address[0]}:{server.address[1]}"
        return None

    async def ensure_indexes(self) -> None:
        await self.outbox.create_index([("sent", ASCENDING), ("created_at", ASCENDING)])
        # Sent events are kept a week for inspection, then dropped.
        await self.outbox.create_index("sent_at", expireAfterSeconds=7 * 24 * 3600)
        await self.processed.create_index("at", expireAfterSeconds=30 * 24 * 3600)

    async def close(self) -> None:
        await self.client.close()

    async def transaction(self, work: Callable[[AsyncClientSession], Awaitable[T]], attempts: int = 5) -> T:
        """Run `work` in one transaction, retried on write conflicts.

        Unlike the driver's `with_transaction`, which retries transient errors for up
        to two minutes, an unreachable server fails at once: a request gets its 503
        and a consumer its outage pause without waiting that long.
        """
        for attempt in range(attempts):
            async with self.client.start_session() as session:
                staged: list[Event] = []
                self._staged[id(session)] = staged
                try:
                    async with await session.start_transaction():
                        result = await work(session)
                        await self._commit(session)
                    self.on_commit(staged)
                    return result
                except PyMongoError as exc:
                    retry = exc.has_error_label("TransientTransactionError") and not isinstance(exc, ConnectionFailure)
                    if not retry or attempt == attempts - 1:
                        raise
                finally:
                    del self._staged[id(session)]
        raise AssertionError("unreachable")

    async def _commit(self, session: AsyncClientSession) -> None:
        """Commit, trying the commit again (not the work) while its outcome is unknown: an election
        cut it, and the new primary answers whether it took. Bounded well below a request's patience."""
        deadline = time.monotonic() + COMMIT_RETRY_S
        while True:
            try:
                await session.commit_transaction()
                return
            except PyMongoError as exc:
                if not exc.has_error_label("UnknownTransactionCommitResult") or time.monotonic() > deadline:
                    raise
                log.warning("transaction commit cut off (%s); committing again", exc)
                await asyncio.sleep(0.25)

    async def add_to_outbox(self, events: Sequence[Event], session: AsyncClientSession) -> None:
        """Store `events` in the transaction of `session`. Within `transaction()` they are also
        handed to this process's relay once the transaction commits, under a lease that keeps
        the poller (of any replica) off them unless this process dies before publishing."""
        if not events:
            return
        now = utcnow()
        staged = self._staged.get(id(session))
        handed_over = staged is not None and self.outbox_owner is not None
        lease_until = now + self.hand_over_lease if handed_over else now
        await self.outbox.insert_many(
            [
                {
                    "_id": e.id,
                    "name": e.name,
                    "event": e.model_dump(mode="json"),
                    "created_at": now,
                    "sent": False,
                    "lease_until": lease_until,
                    "owner": self.outbox_owner if handed_over else None,
                }
                for e in events
            ],
            session=session,
        )
        if handed_over and staged is not None:
            staged.extend(events)

    async def once(
        self,
        consumer: str,
        event: Event,
        effect: Callable[[AsyncClientSession], Awaitable[Sequence[Event]]],
    ) -> bool:
        """Apply `effect` for `event` unless this consumer already did; the effect, the
        events it causes (outbox) and the record that it happened commit together.
        Returns False for a redelivered event."""
        key = f"{consumer}:{event.id}"

        async def work(session: AsyncClientSession) -> bool:
            if await self.processed.find_one({"_id": key}, session=session) is not None:
                return False
            outgoing = await effect(session)
            await self.add_to_outbox(outgoing, session)
            await self.processed.insert_one({"_id": key, "at": utcnow()}, session=session)
            return True

        return await self.transaction(work)


class OutboxRelay:
    """Publishes stored events and marks them sent once the broker confirms.

    The events this process commits are handed over in memory (`hand_over`) and
    published at once: one write per pass marks them sent. A poller picks up what
    other replicas, an earlier life of this process or a failed publish left behind,
    claiming batches with a lease so that replicas rarely publish the same event
    twice; when they do, consumers drop the repeat by event id.
    """

    LEASE = timedelta(seconds=30)

    def __init__(self, store: Store, bus: Bus, *, batch: int = 200, poll_s: float = 0.5) -> None:
        self.store = store
        self.bus = bus
        self.batch = batch
        self.poll_s = poll_s
        self._wake = asyncio.Event()
        self._fresh: list[Event] = []
        self._next_poll = 0.0
        self.owner = uuid.uuid4().hex
        store.outbox_owner = self.owner
        store.on_commit = self.hand_over

    def hand_over(self, events: list[Event]) -> None:
        """Events of a committed transaction, to publish now."""
        if events:
            self._fresh.extend(events)
            self._wake.set()

    async def run(self) -> None:
        await run_forever(self.publish_batch, name="outbox relay", idle_s=self.poll_s, wake=self._wake)

    async def publish_batch(self) -> int:
        done = await self._publish_fresh()
        if time.monotonic() >= self._next_poll:
            self._next_poll = time.monotonic() + self.poll_s
            done += await self._publish_left_behind()
        return done

    async def _publish_fresh(self) -> int:
        fresh, self._fresh = self._fresh[: self.batch], self._fresh[self.batch :]
        if not fresh:
            return 0
        if not self.bus.connected:
            await self._leave_to_poller([e.id for e in fresh], delay=timedelta(0))
            raise ConnectionError("RabbitMQ is not connected")
        await self._publish(fresh)
        return len(fresh)

    async def _publish_left_behind(self) -> int:
        outbox = self.store.outbox
        now = utcnow()
        due = {"sent": False, "lease_until": {"$lte": now}}
        ids = [d["_id"] async for d in outbox.find(due, {"_id": 1}).sort("created_at", ASCENDING).limit(self.batch)]
        if not ids:
            return 0
        if not self.bus.connected:
            raise ConnectionError("RabbitMQ is not connected")
        await outbox.update_many(
            {"_id": {"$in": ids}, **due}, {"$set": {"lease_until": now + self.LEASE, "owner": self.owner}}
        )
        claimed = (
            await outbox.find({"_id": {"$in": ids}, "owner": self.owner, "sent": False})
            .sort("created_at", ASCENDING)
            .to_list()
        )
        await self._publish([Event.model_validate(d["event"]) for d in claimed])
        # Whatever was left behind is published now: look again at once.
        self._next_poll = 0.0
        return len(claimed)

    async def _publish(self, events: list[Event]) -> None:
        """Publish, wait for every confirm, and mark the confirmed sent; what the broker did not
        confirm goes back to the poller and the pass fails (the loop pauses)."""
        results = await asyncio.gather(*(self.bus.publish(e) for e in events), return_exceptions=True)
        sent = [e.id for e, r in zip(events, results, strict=True) if not isinstance(r, BaseException)]
        failed = [e.id for e, r in zip(events, results, strict=True) if isinstance(r, BaseException)]
        if sent:
            await self.store.outbox.update_many({"_id": {"$in": sent}}, {"$set": {"sent": True, "sent_at": utcnow()}})
        if failed:
            await self._leave_to_poller(failed, delay=timedelta(seconds=1))
            first = next(r for r in results if isinstance(r, BaseException))
            log.warning("%d of %d events not confirmed, retrying: %r", len(failed), len(events), first)
            raise ConnectionError(f"publish failed: {first!r}")

    async def _leave_to_poller(self, ids: list[str], *, delay: timedelta) -> None:
        await self.store.outbox.update_many(
            {"_id": {"$in": ids}, "sent": False}, {"$set": {"lease_until": utcnow() + delay}}
        )


async def keep_newest(collection: AsyncCollection[Doc], doc_id: str, version: int, fields: Doc) -> bool:
    """Store `fields` under `doc_id` unless a version at least as new is there; idempotent."""
    try:
        result = await collection.update_one(
            {"_id": doc_id, "version": {"$lt": version}}, {"$set": {"version": version, **fields}}, upsert=True
        )
    except DuplicateKeyError:
        return False  # the document holds this version or a newer one
    return bool(result.modified_count or result.upserted_id is not None)
