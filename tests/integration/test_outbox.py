"""The outbox relay on the real servers: events committed here are published from memory, once;
what a dead process or a failed publish leaves behind is published by the poller, once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.asynchronous.client_session import AsyncClientSession

from chassis.bus import Bus
from chassis.outbox import OutboxRelay
from chassis.store import Store
from kernel.events import Event, IssueSubmitted, Submitter, new_event
from tests.support.broker import queue_depth
from tests.support.servers import Mongod, Vhost, until

# Any queue bound to issue.submitted counts what was published.
COUNTED = "louzhang.reporting.issues"


def submitted(n: int) -> list[Event]:
    return [
        new_event(
            "issue.submitted",
            source="test",
            subject=str(i),
            data=IssueSubmitted(
                id=str(i),
                building_id="B1",
                service_code="talent",
                title="外发",
                description="测试",
                created_at=datetime.now(UTC),
                submitted_by=Submitter(kind="admin", subject="admin"),
            ),
        )
        for i in range(n)
    ]


class Process:
    """One service's store, bus and relay, stepped by hand."""

    def __init__(self, mongo_url: str, database: str, amqp_url: str) -> None:
        self.store = Store(mongo_url, database, "outboxtest")
        self.bus = Bus(amqp_url)
        self.relay = OutboxRelay(self.store, self.bus)

    async def commit(self, events: list[Event]) -> None:
        async def work(session: AsyncClientSession) -> None:
            await self.store.add_to_outbox(events, session)

        await self.store.transaction(work)

    async def close(self) -> None:
        await self.bus.close()
        await self.store.close()


@pytest.fixture
async def world(mongod: Mongod) -> AsyncIterator[tuple[str, str]]:
    vhost = Vhost()
    vhost.create()
    database = f"louzhang_outbox_{uuid.uuid4().hex[:8]}"
    try:
        yield database, vhost.url
    finally:
        vhost.delete()
        scratch = Store(mongod.url, database, "outboxtest")
        await scratch.client.drop_database(database)
        await scratch.close()


async def started(mongod: Mongod, world: tuple[str, str]) -> Process:
    process = Process(mongod.url, *world)
    await process.bus.connect()  # declares the topology
    return process


async def test_committed_events_are_published_from_memory_once(mongod: Mongod, world: tuple[str, str]) -> None:
    process = await started(mongod, world)
    try:
        events = submitted(3)
        await process.commit(events)
        stored = await process.store.outbox.find().to_list()
        # Handed over: leased to this process, so no poller (of any replica) takes them meanwhile.
        assert {d["owner"] for d in stored} == {process.relay.owner}
        assert all(d["lease_until"] > datetime.now(UTC) for d in stored)

        assert await process.relay.publish_batch() == 3
        assert await process.store.outbox.count_documents({"sent": True}) == 3
        assert await queue_depth(world[1], COUNTED) == 3
        process.relay._next_poll = 0.0  # the next pass polls the database too
        assert await process.relay.publish_batch() == 0
        assert await queue_depth(world[1], COUNTED) == 3
    finally:
        await process.close()


async def test_events_of_a_process_dead_before_publishing_are_published_by_another_after_the_lease(
    mongod: Mongod, world: tuple[str, str]
) -> None:
    dead, other = await started(mongod, world), await started(mongod, world)
    try:
        dead.store.hand_over_lease = timedelta(seconds=1)
        await dead.commit(submitted(4))  # and never publishes them
        assert await other.relay.publish_batch() == 0, "the lease keeps the poller off at first"

        async def published_by_the_other() -> bool:
            other.relay._next_poll = 0.0
            await other.relay.publish_batch()
            return await other.store.outbox.count_documents({"sent": True}) == 4

        await until(published_by_the_other, what="the left-behind events published")
        assert await queue_depth(world[1], COUNTED) == 4
    finally:
        await dead.close()
        await other.close()


async def test_events_committed_while_the_broker_is_away_go_to_the_poller_at_once(
    mongod: Mongod, world: tuple[str, str]
) -> None:
    cut_off, other = await started(mongod, world), await started(mongod, world)
    try:
        await cut_off.bus.close()
        await cut_off.commit(submitted(2))
        with pytest.raises(ConnectionError):
            await cut_off.relay.publish_batch()
        # Released at once rather than after the hand-over lease: another replica publishes them.
        assert await other.relay.publish_batch() == 2
        assert await other.store.outbox.count_documents({"sent": True}) == 2
        assert await queue_depth(world[1], COUNTED) == 2
    finally:
        await cut_off.close()
        await other.close()
