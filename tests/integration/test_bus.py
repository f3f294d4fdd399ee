"""Poison is dead-lettered; an outage pauses consumers and loses nothing."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import aio_pika
import httpx
import pytest
from prometheus_client import REGISTRY

from chassis import topology
from chassis.bus import Bus
from kernel.events import Event, IssueSubmitted, Submitter, new_event, type_of
from tests.support import servers
from tests.support.api import Api
from tests.support.broker import publish_raw, queue_depth
from tests.support.directory import receivers_allow, small_directory
from tests.support.servers import Mongod, Stack, Vhost, eventually, until


async def wait_depth(url: str, queue: str, expected: int) -> None:
    async def reached() -> bool:
        return await queue_depth(url, queue) == expected

    await until(reached, what=f"{queue} holding {expected}")


def submitted(issue_id: str) -> Event:
    data = IssueSubmitted(
        id=issue_id,
        building_id="B1",
        service_code="talent",
        title="直接发布",
        description="测试",
        created_at=datetime.now(UTC),
        submitted_by=Submitter(kind="admin", subject="admin"),
    )
    return new_event("issue.submitted", source="test", subject=issue_id, data=data)


def submitted_event(issue_id: str) -> bytes:
    return submitted(issue_id).model_dump_json().encode()


def renewed() -> float:
    return REGISTRY.get_sample_value("louzhang_publish_channels_renewed_total") or 0.0


async def test_a_nacked_publish_fails_and_the_next_goes_through_a_new_channel() -> None:
    vhost = Vhost()
    vhost.create()
    bus = Bus(vhost.url)
    try:
        await bus.connect()
        assert bus.connection is not None
        # A queue that takes nothing, so the broker nacks every issue.submitted routed to it.
        channel = await bus.connection.channel()
        full = await channel.declare_queue("full", arguments={"x-max-length": 0, "x-overflow": "reject-publish"})
        await full.bind(topology.EXCHANGE, routing_key="issue.submitted")
        before = renewed()
        with pytest.raises(aio_pika.exceptions.DeliveryError):
            await bus.publish(submitted("nacked"))
        assert renewed() == before + 1
        assert bus.connected

        await full.delete(if_unused=False, if_empty=False)
        await bus.publish(submitted("after"))  # confirmed, on the new channel
        assert renewed() == before + 1
        assert await queue_depth(vhost.url, "louzhang.routing.issues") == 2  # the nacked one reached it too
    finally:
        await bus.close()
        vhost.delete()


async def test_poison_messages_are_dead_lettered_and_consumers_keep_working(api: Api) -> None:
    url = api.stack.amqp_url
    parked = "louzhang.routing.issues.dead"
    before = await queue_depth(url, parked)
    wrong_schema = submitted_event("x").replace(b'"building_id":"B1",', b"")
    unknown_type = submitted_event("y").replace(b"louzhang.issue.submitted.v1", b"louzhang.issue.exploded.v1")
    for body in (b"not json at all", wrong_schema, unknown_type):
        await publish_raw(url, "issue.submitted", body)
    await wait_depth(url, parked, before + 3)
    assert await queue_depth(url, "louzhang.routing.issues") == 0

    created = api.post(
        "intake", "/v1/issues", json={"building_id": "B1", "service_code": "talent", "title": "t", "description": "d"}
    )
    eventually(
        lambda: api.get("intake", f"/v1/issues/{created.json()['id']}").json()["status"] == "assigned",
        what="a good issue still dispatched",
    )


@pytest.fixture
def own_stack() -> Iterator[tuple[Mongod, Stack]]:
    """A stack with a MongoDB of its own, since this test stops it."""
    mongod, vhost = Mongod(), Vhost()
    mongod.start()
    vhost.create()
    stack = Stack(
        mongo_url=mongod.url,
        amqp_url=vhost.url,
        extra_env={"LOUZHANG_MONGO_TIMEOUT_S": "1", "LOUZHANG_OUTBOUND_ALLOW": receivers_allow()},
    )
    try:
        stack.start()
        assert Api(stack).put("routing", "/v1/directory", json=small_directory()).status_code == 200
        eventually(lambda: httpx.get(f"{stack.url('routing')}/readyz").status_code == 200, what="routing ready")
        yield mongod, stack
    finally:
        stack.stop()
        mongod.start()
        stack.drop()
        mongod.destroy()
        vhost.delete()


def outage_count(stack: Stack) -> float:
    text = httpx.get(f"{stack.url('routing')}/metrics").text
    found = re.search(r'louzhang_events_consumed_total\{outcome="outage",queue="louzhang.routing.issues"\} (\S+)', text)
    return float(found.group(1)) if found else 0.0


async def test_database_outage_pauses_the_consumer_and_dead_letters_nothing(own_stack: tuple[Mongod, Stack]) -> None:
    mongod, stack = own_stack
    mongod.stop()
    eventually(lambda: httpx.get(f"{stack.url('intake')}/readyz").status_code == 503, what="not ready while down")
    r = httpx.post(
        f"{stack.url('intake')}/v1/issues",
        json={"building_id": "B1", "service_code": "talent", "title": "t", "description": "d"},
        headers={"Authorization": f"Bearer {stack.admin_token}"},
        timeout=30,
    )
    assert r.status_code == 503 and r.headers["retry-after"]

    await publish_raw(stack.amqp_url, "issue.submitted", submitted_event("outage-1"), message_id="outage-1")
    eventually(lambda: outage_count(stack) >= 3, timeout=30, what="routing retrying through the outage")
    mongod.start()
    db = stack.database()
    eventually(lambda: db["routing_workorders"].find_one({"_id": "outage-1"}), timeout=30, what="dispatched after")
    assert await queue_depth(stack.amqp_url, "louzhang.routing.issues.dead") == 0
    assert db["routing_workorders"].count_documents({"_id": "outage-1"}) == 1


def test_a_directory_from_a_newer_release_is_applied_not_parked(mongod: Mongod) -> None:
    """During a rolling upgrade a newer routing may publish fields this release does not know:
    every consumer applies the rest instead of dead-lettering the event."""
    env = {"LOUZHANG_OUTBOUND_ALLOW": receivers_allow()}
    with servers.own_stack(mongod.url, None, env, small_directory()) as stack:
        admin = {"Authorization": f"Bearer {stack.admin_token}"}
        newer = httpx.get(f"{stack.url('routing')}/v1/directory", headers=admin).json()["version"] + 1
        raw = small_directory()
        raw["staff"][0]["pager"] = "12345"
        raw["buildings"][0]["floors"] = 30
        event = Event(
            id=uuid.uuid4().hex,
            source="routing",
            type=type_of("directory.updated"),
            time=datetime.now(UTC),
            subject="directory",
            data={"version": newer, "directory": raw, "signature": "a field of a newer release"},
        )
        asyncio.run(publish_raw(stack.amqp_url, "directory.updated", event.model_dump_json().encode(), event.id))

        db = stack.database()
        for service in ("intake", "notify", "reporting"):
            eventually(
                lambda s=service: (db[f"{s}_directory"].find_one({"_id": "current"}) or {}).get("version") == newer,
                what=f"{service} holding version {newer}",
            )
        for queue in ("intake.directory", "notify.directory", "reporting.directory"):
            assert asyncio.run(queue_depth(stack.amqp_url, f"louzhang.{queue}.dead")) == 0
