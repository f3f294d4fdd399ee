"""RabbitMQ: topology, confirmed publishing, and consumers that tell poison from outage."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustExchange,
)
from prometheus_client import Counter
from pydantic import BaseModel, ValidationError

from louzhang import topology
from louzhang.events import Event, UnknownEvent, parse_data
from louzhang.outage import is_outage

log = logging.getLogger(__name__)

Handler = Callable[[Event, Any], Awaitable[None]]

CONSUMED = Counter("louzhang_events_consumed_total", "Events taken from a queue", ["queue", "outcome"])
PUBLISHED = Counter("louzhang_events_published_total", "Events confirmed by the broker", ["event"])

CONTENT_TYPE = "application/cloudevents+json"


class Bus:
    def __init__(self, url: str, *, prefetch: int = 100) -> None:
        self.url = url
        self.prefetch = prefetch
        self.connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractRobustChannel | None = None
        self._exchange: AbstractRobustExchange | None = None
        self._consume_channel: AbstractRobustChannel | None = None

    @property
    def connected(self) -> bool:
        connection = self.connection
        return connection is not None and connection.connected.is_set() and self._exchange is not None

    async def connect(self) -> None:
        self.connection = await aio_pika.connect_robust(self.url, client_properties={"connection_name": "louzhang"})
        self._publish_channel = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
        self._consume_channel = await self.connection.channel()
        await self._consume_channel.set_qos(prefetch_count=self.prefetch)
        self._exchange = await declare_topology(self._publish_channel)

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()
        self.connection = None
        self._exchange = None

    async def publish(self, event: Event) -> None:
        """Publish one event and wait for the broker's confirm; raises if it is refused or unroutable."""
        if self._exchange is None:
            raise ConnectionError("not connected to RabbitMQ")
        message = aio_pika.Message(
            body=event.model_dump_json().encode(),
            message_id=event.id,
            content_type=CONTENT_TYPE,
            type=event.type,
            timestamp=event.time,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await self._exchange.publish(message, routing_key=event.name, mandatory=True)
        PUBLISHED.labels(event.name).inc()

    async def consume(self, queue: topology.Queue, handler: Handler) -> None:
        """Hand every event of the queue to `handler(event, data)`; see `deliver` for the rules."""
        assert self._consume_channel is not None
        # Declared (passively) on the robust channel so that the consumer is restored after a reconnect.
        q = await self._consume_channel.declare_queue(queue.queue, passive=True)
        await q.consume(lambda message: deliver(queue.queue, message, handler))


async def declare_topology(channel: aio_pika.abc.AbstractChannel) -> AbstractRobustExchange:
    exchange = await channel.declare_exchange(topology.EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
    dead = await channel.declare_exchange(topology.DEAD_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True)
    for q in topology.QUEUES:
        parked = await channel.declare_queue(q.dead_queue, durable=True, arguments={"x-queue-type": "quorum"})
        await parked.bind(dead, routing_key=q.queue)
        queue = await channel.declare_queue(
            q.queue,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": topology.DELIVERY_LIMIT,
                "x-dead-letter-exchange": topology.DEAD_EXCHANGE,
                "x-dead-letter-routing-key": q.queue,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        )
        for key in q.bindings:
            await queue.bind(exchange, routing_key=key)
    return exchange  # type: ignore[return-value]


def decode(body: bytes) -> tuple[Event, BaseModel]:
    """The envelope and its typed data; raises ValueError for a message that can never be processed."""
    try:
        event = Event.model_validate_json(body)
        return event, parse_data(event)
    except (ValidationError, UnknownEvent, UnicodeDecodeError) as exc:
        raise ValueError(str(exc)) from exc


async def deliver(queue: str, message: AbstractIncomingMessage, handler: Handler) -> None:
    """Run the handler for one message.

    - Poison (not JSON, wrong schema, unknown type): rejected at once, so the
      queue dead-letters it into its `.dead` queue.
    - Outage (MongoDB or RabbitMQ unreachable): the message stays unacknowledged
      and is retried here with a growing pause; the delivery count does not grow,
      so an outage never dead-letters a good message. With every prefetched
      message waiting, the consumer takes no more until the outage ends.
    - Any other failure: requeued; the queue's delivery limit dead-letters it
      if it keeps failing.
    """
    try:
        event, data = decode(message.body)
    except ValueError as exc:
        log.warning("dead-lettering message %s from %s: %s", message.message_id, queue, exc)
        CONSUMED.labels(queue, "poison").inc()
        await message.reject(requeue=False)
        return
    pause = 0.2
    while True:
        try:
            await handler(event, data)
            break
        except Exception as exc:
            if not is_outage(exc):
                log.exception("handling %s %s from %s failed; requeued", event.type, event.id, queue)
                CONSUMED.labels(queue, "failed").inc()
                await message.nack(requeue=True)
                return
            if message.channel.is_closed:
                return  # the broker will deliver it again
            log.warning("outage while handling %s (%s); retrying in %.1fs", event.id, exc, pause)
            CONSUMED.labels(queue, "outage").inc()
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)
    await message.ack()
    CONSUMED.labels(queue, "ok").inc()
