"""Direct access to the test vhost: publish raw messages, count parked ones."""

from __future__ import annotations

import aio_pika

from chassis import topology
from ops.broker import queue_depths


async def publish_raw(amqp_url: str, routing_key: str, body: bytes, message_id: str = "raw") -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(topology.EXCHANGE)
        message = aio_pika.Message(body, message_id=message_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        await exchange.publish(message, routing_key=routing_key, mandatory=True)


async def queue_depth(amqp_url: str, queue: str) -> int:
    return (await queue_depths(amqp_url, [queue]))[queue]
