"""RabbitMQ: topology, confirmed publishing, and consumers that tell poison from outage."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractIncomingMessage,
)
from pamqp.commands import Basic
from prometheus_client import Counter
from pydantic import BaseModel, ValidationError

from chassis import topology
from chassis.outage import is_outage
from kernel.events import Event, UnknownEvent, parse_data

log = logging.getLogger(__name__)

Handler = Callable[[Event, Any], Awaitable[None]]
# Applies many events at once (one transaction, bulk writes); must be all-or-nothing.
BatchHandler = Callable[[list[tuple[Event, Any]]], Awaitable[None]]

CONSUMED = Counter("louzhang_events_consumed_total", "Events taken from a queue", ["queue", "outcome"])
PUBLISHED = Counter("louzhang_events_published_total", "Events confirmed by the broker", ["event"])
RENEWED = Counter("louzhang_publish_channels_renewed_total", "Publishing channels replaced after a nack")

CONTENT_TYPE = "application/cloudevents+json"


def broker_nodes(url: str) -> list[str]:
    """The URL of each node a broker URL names: `amqp://u:p@h1:5672,h2:5673/vhost?x=1` gives one
    URL a node, with the same credentials, vhost and options (a bare host takes port 5672)."""
    parts = urlsplit(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    nodes = [h.strip() for h in hosts.split(",") if h.strip()]
    if not nodes:
        raise ValueError(f"no broker host in {url!r}")
    return [urlunsplit(parts._replace(netloc=f"{userinfo}{at}{node}")) for node in nodes]


def node_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5672}"


class Bus:
    """One connection to one node of the broker at a time. When it is lost, the bus connects to the
    next node that answers (itself again with a single node), declares the topology there and
    starts its consumers again; unacknowledged deliveries come back from the queues, and a publish
    cut off raises, to be retried (the outbox makes that safe)."""

    def __init__(self, url: str, *, prefetch: int = 100) -> None:
        self.nodes = broker_nodes(url)
        self.prefetch = prefetch
        self.connection: AbstractConnection | None = None
        self.node: str | None = None
        self._publish_channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._consume_channel: AbstractChannel | None = None
        self._consumers: list[tuple[topology.Queue, Handler, BatchHandler | None]] = []
        # Replicas start on different nodes, so that the load spreads over the cluster.
        self._next = random.randrange(len(self.nodes))
        self._lost = asyncio.Event()
        self._watch: asyncio.Task[None] | None = None
        self._closing = False
        self._renewing = asyncio.Lock()

    @property
    def connected(self) -> bool:
        connection = self.connection
        return connection is not None and not connection.is_closed and self._exchange is not None

    async def connect(self) -> None:
        """Connect to the first node that answers; raises ConnectionError when none does."""
        await self._open()
        if self._watch is None:
            self._watch = asyncio.create_task(self._keep_connected(), name="bus-reconnect")

    async def _open(self) -> None:
        failures = []
        for step in range(len(self.nodes)):
            index = (self._next + step) % len(self.nodes)
            try:
                connection = await aio_pika.connect(
                    self.nodes[index], timeout=5, client_properties={"connection_name": "louzhang"}
                )
            except Exception as exc:
                if not is_outage(exc):
                    raise
                failures.append(f"{node_of(self.nodes[index])}: {exc}")
                continue
            self._next = index
            break
        else:
            raise ConnectionError(f"no RabbitMQ node answers ({'; '.join(failures)})")
        try:
            publish_channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            consume_channel = await connection.channel()
            await consume_channel.set_qos(prefetch_count=self.prefetch)
            exchange = await declare_topology(publish_channel)
        except BaseException:
            await connection.close()
            raise
        self.connection, self.node = connection, node_of(self.nodes[index])
        self._publish_channel, self._consume_channel, self._exchange = publish_channel, consume_channel, exchange
        connection.close_callbacks.add(self._on_close)
        for queue, handler, batch in self._consumers:
            await self._start(queue, handler, batch)
        log.info("connected to RabbitMQ node %s", self.node)

    def _on_close(self, connection: Any, exc: BaseException | None = None) -> None:
        if connection is not self.connection or self._closing:
            return
        log.warning("lost RabbitMQ node %s: %s", self.node, exc)
        self._exchange = None
        self._next = (self._next + 1) % len(self.nodes)  # another node first
        self._lost.set()

    async def _keep_connected(self) -> None:
        while not self._closing:
            await self._lost.wait()
            self._lost.clear()
            pause = 0.2
            while not self._closing:
                try:
                    await self._open()
                    break
                except Exception as exc:
                    if is_outage(exc):
                        log.warning("reconnecting to RabbitMQ: %s; again in %.1fs", exc, pause)
                    else:
                        log.exception("reconnecting to RabbitMQ failed; again in %.1fs", pause)
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 5.0)

    async def close(self) -> None:
        self._closing = True
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
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
        exchange = self._exchange
        try:
            await exchange.publish(message, routing_key=event.name, mandatory=True)
        except aio_pika.exceptions.DeliveryError as exc:
            if isinstance(exc.frame, Basic.Nack):
                await self._renew_publish_channel(exchange)
            raise
        PUBLISHED.labels(event.name).inc()

    async def _renew_publish_channel(self, nacked: AbstractExchange) -> None:
        """Publish through a new channel from now on. Our queues set no length limit, so a nack
        means a queue was unavailable; and RabbitMQ 3.10 keeps nacking on a channel that first
        published to a quorum queue while it had no leader (just after a node's loss), even once a
        leader is elected, where a new channel publishes at once."""
        async with self._renewing:
            connection = self.connection
            if self._exchange is not nacked or connection is None or connection.is_closed:
                return  # renewed by another publish already, or a reconnect is under way
            try:
                channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
                exchange = await channel.get_exchange(topology.EXCHANGE)
            except Exception as exc:  # noqa: BLE001 (the publish fails anyway; the next nack tries again)
                log.warning("could not open a new publishing channel: %r", exc)
                return
            stale, self._publish_channel, self._exchange = self._publish_channel, channel, exchange
            RENEWED.inc()
            log.warning("a publish was nacked on RabbitMQ node %s; publishing through a new channel", self.node)
        if stale is not None:
            with contextlib.suppress(Exception):  # its own publishes in flight fail, to be retried
                await stale.close()

    async def consume(self, queue: topology.Queue, handler: Handler, batch: BatchHandler | None = None) -> None:
        """Hand every event of the queue to `handler(event, data)` (see `deliver` for the rules),
        or, with `batch`, to `batch([(event, data), ...])` a prefetch-full at a time; again on every
        node the bus connects to later."""
        self._consumers.append((queue, handler, batch))
        await self._start(queue, handler, batch)

    async def _start(self, queue: topology.Queue, handler: Handler, batch: BatchHandler | None) -> None:
        assert self._consume_channel is not None and self.connection is not None
        if batch is None:
            q = await self._consume_channel.declare_queue(queue.queue, passive=True)
            await q.consume(lambda message: deliver(queue.queue, message, handler))
        else:
            # A channel of its own: a batch is acknowledged with one `multiple` ack, which covers
            # every earlier delivery on its channel, so no other consumer may share it.
            channel = await self.connection.channel()
            await channel.set_qos(prefetch_count=self.prefetch)
            q = await channel.declare_queue(queue.queue, passive=True)
            batcher = Batcher(queue.queue, handler, batch, size=self.prefetch)
            await q.consume(batcher.take)


async def declare_topology(channel: aio_pika.abc.AbstractChannel) -> AbstractExchange:
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
    return exchange


def decode(body: bytes) -> tuple[Event, BaseModel]:
    """The envelope and its typed data; raises ValueError for a message that can never be processed."""
    try:
        event = Event.model_validate_json(body)
        return event, parse_data(event)
    except (ValidationError, UnknownEvent, UnicodeDecodeError) as exc:
        raise ValueError(str(exc)) from exc


async def acknowledge(queue: str, message: AbstractIncomingMessage, *, multiple: bool = False) -> bool:
    """Ack `message` (and, with `multiple`, every earlier delivery on its channel). When the channel
    closed meanwhile (its node was lost) the ack cannot be sent and the broker delivers the messages
    again, to be applied once more by an idempotent consumer: said at INFO and False, not raised."""
    try:
        await message.ack(multiple=multiple)
    except Exception:
        if not message.channel.is_closed:
            raise
        log.info("the channel of %s closed before delivery %s was acked; it comes again", queue, message.delivery_tag)
        return False
    return True


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
    if await acknowledge(queue, message):
        CONSUMED.labels(queue, "ok").inc()


class Batcher:
    """Collects a queue's messages and applies them together: far fewer database round trips
    per event than one transaction each.

    The rules of `deliver` hold for the batch: poison is rejected on arrival; during an outage
    the batch waits, unacknowledged, and is retried as a whole; if it fails for any other
    reason, its messages go through `deliver` one by one, so that only the bad one is
    requeued towards the delivery limit.
    """

    def __init__(self, queue: str, handler: Handler, batch: BatchHandler, *, size: int, wait_s: float = 0.02) -> None:
        self.queue = queue
        self.handler = handler
        self.batch = batch
        self.size = max(1, size)
        # After a quiet spell an event is applied at once. While events keep coming (the last batch
        # began less than `wait_s` ago), a batch waits `wait_s` for more: on a busy machine a few
        # events per transaction cost far less CPU than one each, and so wait less overall.
        self.wait_s = wait_s
        self.pending: list[tuple[AbstractIncomingMessage, Event, Any]] = []
        self.lock = asyncio.Lock()
        self.timer: asyncio.TimerHandle | None = None
        self.flush_waiting = False
        self.last_flush = -math.inf

    async def take(self, message: AbstractIncomingMessage) -> None:
        try:
            event, data = decode(message.body)
        except ValueError as exc:
            log.warning("dead-lettering message %s from %s: %s", message.message_id, self.queue, exc)
            CONSUMED.labels(self.queue, "poison").inc()
            await message.reject(requeue=False)
            return
        self.pending.append((message, event, data))
        if len(self.pending) >= self.size:
            await self.flush()
        elif self.timer is None and not self.flush_waiting:
            busy = time.monotonic() - self.last_flush < self.wait_s
            self.timer = asyncio.get_running_loop().call_later(self.wait_s if busy else 0, self._flush_soon)

    def _flush_soon(self) -> None:
        self.timer = None
        self.flush_waiting = True
        task = asyncio.ensure_future(self.flush())
        _running.add(task)
        task.add_done_callback(_running.discard)

    async def flush(self) -> None:
        async with self.lock:
            self.flush_waiting = False
            self.last_flush = time.monotonic()
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            items, self.pending = self.pending, []
            if items:
                await self._apply(items)

    async def _apply(self, items: list[tuple[AbstractIncomingMessage, Event, Any]]) -> None:
        pause = 0.2
        while True:
            try:
                await self.batch([(event, data) for _, event, data in items])
                break
            except Exception as exc:  # noqa: BLE001 (sorted below: outage, or one message to find)
                if not is_outage(exc):
                    log.warning("a batch of %d from %s failed (%r); one by one", len(items), self.queue, exc)
                    for message, _, _ in items:
                        await deliver(self.queue, message, self.handler)
                    return
                if items[0][0].channel.is_closed:
                    return  # the broker will deliver them again
                log.warning("outage while handling a batch from %s (%s); retrying in %.1fs", self.queue, exc, pause)
                CONSUMED.labels(self.queue, "outage").inc()
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
        # One ack for the batch: every earlier delivery on this channel is settled by now (taken in
        # order, one batch at a time; poison rejected on arrival).
        last = max((message for message, _, _ in items), key=lambda m: m.delivery_tag or 0)
        if await acknowledge(self.queue, last, multiple=True):
            CONSUMED.labels(self.queue, "ok").inc(len(items))


_running: set[asyncio.Future[None]] = set()
