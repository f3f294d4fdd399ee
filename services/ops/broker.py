"""RabbitMQ seen from outside the services: queue depths, and `rabbitmqctl` on this machine."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterable

import aio_pika


async def queue_depths(amqp_url: str, queues: Iterable[str]) -> dict[str, int]:
    """How many ready messages each queue holds (declared passively: a missing queue raises)."""
    connection = await aio_pika.connect(amqp_url, timeout=10)
    async with connection:
        channel = await connection.channel()
        out = {}
        for name in queues:
            declared = await channel.declare_queue(name, passive=True)
            out[name] = int(declared.declaration_result.message_count or 0)
        return out


def rabbitmqctl(*args: str, attempts: int = 1, pause_s: float = 5.0) -> None:
    """Run `rabbitmqctl -q ARGS`, `attempts` times at most (a broker being restarted refuses for a
    few seconds); RuntimeError with its message if it never succeeds."""
    for attempt in range(attempts):
        done = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=90)
        if done.returncode == 0:
            return
        if attempt == attempts - 1:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip() or done.stdout}")
        time.sleep(pause_s)
    raise AssertionError("unreachable")
