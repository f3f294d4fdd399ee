"""MongoDB access shared by the services: collections, transactions, the outbox and consumer idempotency."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, DuplicateKeyError, PyMongoError, ServerSelectionTimeoutError
from pymongo.read_concern import ReadConcern
from pymongo.server_type import SERVER_TYPE
from pymongo.write_concern import WriteConcern

from kernel.events import Event
from kernel.times import utcnow

log = logging.getLogger(__name__)

T = TypeVar("T")
Doc = dict[str, Any]


# How long a commit whose outcome is unknown (an election under way) is tried again: a replica
# set with electionTimeoutMillis 2000 has a new primary within a few seconds.
COMMIT_RETRY_S = 12.0
# How long a transaction cut by a lost connection or a primary that stepped down is run again: the
# next attempt waits (server selection) for the new primary. A server that cannot be reached at all
# fails at once, having waited its server selection timeout once.
ELECTION_RETRY_S = 6.0


def run_again(exc: PyMongoError, elapsed_s: float) -> bool:
    """Whether a transaction that failed with `exc`, `elapsed_s` after its first attempt, is run
    again: a transient error (a write conflict), or an election under way (`not primary`, the old
    primary's connection reset) while that is recent; never an unreachable server."""
    if not exc.has_error_label("TransientTransactionError") or isinstance(exc, ServerSelectionTimeoutError):
        return False
    return not isinstance(exc, ConnectionFailure) or elapsed_s < ELECTION_RETRY_S


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
        """Run `work` in one transaction, run again on a write conflict or an election (`run_again`).

        Unlike the driver's `with_transaction`, which retries transient errors for up
        to two minutes, an unreachable server fails at once: a request gets its 503
        and a consumer its outage pause without waiting that long.
        """
        started = time.monotonic()
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
                    if attempt == attempts - 1 or not run_again(exc, time.monotonic() - started):
                        raise
                    if isinstance(exc, ConnectionFailure):
                        log.warning("transaction cut off (%s); running it again", exc)
                        await asyncio.sleep(0.1 * 2**attempt)
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


async def keep_newest(collection: AsyncCollection[Doc], doc_id: str, version: int, fields: Doc) -> bool:
    """Store `fields` under `doc_id` unless a version at least as new is there; idempotent."""
    try:
        result = await collection.update_one(
            {"_id": doc_id, "version": {"$lt": version}}, {"$set": {"version": version, **fields}}, upsert=True
        )
    except DuplicateKeyError:
        return False  # the document holds this version or a newer one
    return bool(result.modified_count or result.upserted_id is not None)
