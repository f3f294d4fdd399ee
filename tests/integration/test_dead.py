"""Parked messages can be inspected and replayed into the queue they came from."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import aio_pika

from kernel.events import IssueSubmitted, Submitter, new_event
from ops import dead
from tests.support.api import Api
from tests.support.broker import publish_raw, queue_depth
from tests.support.servers import eventually, until

PARKED = "louzhang.routing.issues.dead"


async def park(url: str, body: bytes, message_id: str) -> None:
    """Put a message straight into routing's dead-letter queue, as if it had been parked earlier."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        message = aio_pika.Message(body, message_id=message_id, type="louzhang.issue.submitted.v1")
        await channel.default_exchange.publish(message, routing_key=PARKED)


async def test_poison_is_listed_with_its_reason_and_a_good_message_replays(api: Api) -> None:
    url = api.stack.amqp_url
    poison_id = f"poison-{uuid.uuid4().hex[:8]}"
    await publish_raw(url, "issue.submitted", b"{not json", message_id=poison_id)

    async def parked_poison() -> list[dead.Parked]:
        return [p for p in await dead.peek(url, PARKED) if p.message_id == poison_id]

    listed = await until(parked_poison, what="the poison message parked")
    assert listed[0].reason == "rejected" and listed[0].routing_key == "issue.submitted"
    assert listed[0].body == b"{not json"

    issue_id = f"parked-{uuid.uuid4().hex[:8]}"
    event = new_event(
        "issue.submitted",
        source="test",
        subject=issue_id,
        data=IssueSubmitted(
            id=issue_id,
            building_id="B1",
            service_code="talent",
            title="曾被搁置的消息",
            description="replay",
            created_at=datetime.now(UTC),
            submitted_by=Submitter(kind="admin", subject="admin"),
        ),
    )
    await park(url, event.model_dump_json().encode(), event.id)
    before = await queue_depth(url, PARKED)
    assert await dead.replay(url, PARKED, message_id=event.id) == 1
    assert await queue_depth(url, PARKED) == before - 1  # the poison stays parked
    db = api.stack.database()
    eventually(lambda: db["routing_workorders"].find_one({"_id": issue_id}), what="dispatched after the replay")
    depths = await dead.depths(url)
    assert depths[PARKED] == before - 1 and set(depths) >= {PARKED, "louzhang.notify.workorders.dead"}


def test_cli_lists_and_replays(api: Api) -> None:
    from typer.testing import CliRunner

    from ops.cli import app

    env = {"LOUZHANG_AMQP_URL": api.stack.amqp_url}
    listed = CliRunner().invoke(app, ["dead", "list", "--queue", PARKED], env=env)
    assert listed.exit_code == 0, listed.output
    assert f"{PARKED}: " in listed.output
    refused = CliRunner().invoke(app, ["dead", "replay", "--queue", "louzhang.nowhere"], env=env)
    assert refused.exit_code == 2 and "louzhang.nowhere" in refused.output
    replayed = CliRunner().invoke(app, ["dead", "replay", "--queue", PARKED, "--id", "no-such-id"], env=env)
    assert replayed.exit_code == 0 and "replayed 0 message(s)" in replayed.output
