"""MongoDB access shared by the services: collections, transactions, the outbox and consumer idempotency."""

from __future__ import annotations

import asyncio
import logging
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
from pymongo.write_concern import WriteConcern

from louzhang.bus import Bus
from louzhang.events import Event
from louzhang.loops import run_forever

log = logging.getLogger(__name__)

T = TypeVar("T")
Doc = dict[str, Any]


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
        # Called after every committed transaction: the outbox relay's wake-up call.
        self.on_commit: Callable[[], None] = lambda: None

    def col(self, name: str) -> AsyncCollection[Doc]:
        return self.db[f"{self.service}_{name}"]

    async def ping(self) -> bool:
        try:
            await self.client.admin.command("ping")
            return True
        except PyMongoError:
            return False

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
                try:
                    async with await session.start_transaction():
                        result = await work(session)
                    self.on_commit()
                    return result
                except PyMongoError as exc:
                    retry = exc.has_error_label("TransientTransactionError") and not isinstance(exc, ConnectionFailure)
                    if not retry or attempt == attempts - 1:
                        raise
        raise AssertionError("unreachable")

    async def add_to_outbox(self, events: Sequence[Event], session: AsyncClientSession) -> None:
        if events:
            now = utcnow()
            await self.outbox.insert_many(
                [
                    {
                        "_id": e.id,
                        "name": e.name,
                        "event": e.model_dump(mode="json"),
                        "created_at": now,
                        "sent": False,
                        "lease_until": now,
                    }
                    for e in events
                ],
                session=session,
            )

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

    Woken at once by the process that wrote them, and polling for what other
    replicas (or an earlier life of this one) left behind. Claims batches with a
    lease so that replicas rarely publish the same event twice; when they do,
    consumers drop the repeat by event id.
    """

    LEASE = timedelta(seconds=30)

    def __init__(self, store: Store, bus: Bus, *, batch: int = 200, poll_s: float = 0.5) -> None:
        self.store = store
        self.bus = bus
        self.batch = batch
        self.poll_s = poll_s
        self._wake = asyncio.Event()
        self.owner = uuid.uuid4().hex

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        await run_forever(self.publish_batch, name="outbox relay", idle_s=self.poll_s, wake=self._wake)

    async def publish_batch(self) -> int:
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
        results = await asyncio.gather(
            *(self.bus.publish(Event.model_validate(d["event"])) for d in claimed), return_exceptions=True
        )
        sent = [d["_id"] for d, r in zip(claimed, results, strict=True) if not isinstance(r, BaseException)]
        failed = [d["_id"] for d, r in zip(claimed, results, strict=True) if isinstance(r, BaseException)]
        if sent:
            await outbox.update_many({"_id": {"$in": sent}}, {"$set": {"sent": True, "sent_at": utcnow()}})
        if failed:
            await outbox.update_many(
                {"_id": {"$in": failed}}, {"$set": {"lease_until": utcnow() + timedelta(seconds=1)}}
            )
            first = next(r for r in results if isinstance(r, BaseException))
            log.warning("%d of %d events not confirmed, retrying: %r", len(failed), len(claimed), first)
            raise ConnectionError(f"publish failed: {first!r}")
        return len(claimed)


async def keep_newest(collection: AsyncCollection[Doc], doc_id: str, version: int, fields: Doc) -> bool:
    """Store `fields` under `doc_id` unless a version at least as new is there; idempotent."""
    try:
        result = await collection.update_one(
            {"_id": doc_id, "version": {"$lt": version}}, {"$set": {"version": version, **fields}}, upsert=True
        )
    except DuplicateKeyError:
        return False  # the document holds this version or a newer one
    return bool(result.modified_count or result.upserted_id is not None)
