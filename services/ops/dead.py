"""The dead-letter queues: what is parked there, and putting it back.

A message lands in `louzhang.<service>.<name>.dead` when its consumer could never
process it (poison) or kept failing past the delivery limit. Once the cause is fixed
(a new release, a corrected directory), `replay` sends parked messages back to the
queue they came from, and only to it: the other consumers of the event are not
bothered again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from chassis import topology
from ops.broker import queue_depths


@dataclass(frozen=True)
class Parked:
    queue: str
    message_id: str | None
    type: str | None
    routing_key: str | None
    reason: str | None
    body: bytes


def _first_death(message: AbstractIncomingMessage) -> dict[str, Any]:
    deaths: Any = (message.headers or {}).get("x-death") or []
    first = deaths[0] if isinstance(deaths, list) and deaths else None
    return dict(first) if isinstance(first, dict) else {}


def describe(queue: str, message: AbstractIncomingMessage) -> Parked:
    death = _first_death(message)
    keys = death.get("routing-keys") or []
    return Parked(
        queue=queue,
        message_id=message.message_id,
        type=message.type,
        routing_key=str(keys[0]) if keys else None,
        reason=str(death["reason"]) if "reason" in death else None,
        body=message.body,
    )


def dead_queues(name: str | None = None) -> list[topology.Queue]:
    queues = [q for q in topology.QUEUES if name in (None, q.queue, q.dead_queue)]
    if not queues:
        raise ValueError(
            f"no queue {name!r}; the dead-letter queues are: {', '.join(q.dead_queue for q in topology.QUEUES)}"
        )
    return queues


async def depths(amqp_url: str) -> dict[str, int]:
    return await queue_depths(amqp_url, (q.dead_queue for q in topology.QUEUES))


async def peek(amqp_url: str, queue: str | None = None, limit: int = 20) -> list[Parked]:
    """Up to `limit` parked messages per dead queue, left where they are."""
    found: list[Parked] = []
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        for q in dead_queues(queue):
            parked = await channel.declare_queue(q.dead_queue, passive=True)
            held: list[AbstractIncomingMessage] = []
            for _ in range(limit):
                message = await parked.get(no_ack=False, fail=False)
                if message is None:
                    break
                held.append(message)
                found.append(describe(q.dead_queue, message))
            for message in held:
                await message.nack(requeue=True)
    return found


async def replay(amqp_url: str, queue: str | None = None, message_id: str | None = None) -> int:
    """Move parked messages back to their own queue (all, or the one with `message_id`)."""
    moved = 0
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        for q in dead_queues(queue):
            parked = await channel.declare_queue(q.dead_queue, passive=True)
            count = int(parked.declaration_result.message_count or 0)
            skipped: list[AbstractIncomingMessage] = []
            for _ in range(count):
                message = await parked.get(no_ack=False, fail=False)
                if message is None:
                    break
                if message_id is not None and message.message_id != message_id:
                    skipped.append(message)
                    continue
                again = aio_pika.Message(
                    body=message.body,
                    message_id=message.message_id,
                    content_type=message.content_type,
                    type=message.type,
                    timestamp=message.timestamp,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                )
                # Straight into the queue it came from (the default exchange routes by queue name).
                await channel.default_exchange.publish(again, routing_key=q.queue, mandatory=True)
                await message.ack()
                moved += 1
            for message in skipped:
                await message.nack(requeue=True)
    return moved
