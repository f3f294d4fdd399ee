"""RabbitMQ seen from outside the services: queue depths, and throwaway vhosts for the tests and
the bench (`rabbitmqctl` on this machine)."""

from __future__ import annotations

import os
import secrets
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


class TemporaryVhost:
    """A vhost of its own on the machine's broker (`LOUZHANG_TEST_AMQP`, guest by default), so that
    runs never see each other's messages; `delete` removes it and everything in it."""

    def __init__(self, prefix: str = "louzhang-test", *, attempts: int = 1) -> None:
        self.name = f"{prefix}-{secrets.token_hex(5)}"
        self.attempts = attempts
        base = os.environ.get("LOUZHANG_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672")
        self.url = f"{base.rstrip('/')}/{self.name}"

    def create(self) -> None:
        rabbitmqctl("add_vhost", self.name, attempts=self.attempts)
        rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*", attempts=self.attempts)

    def delete(self) -> None:
        rabbitmqctl("delete_vhost", self.name, attempts=self.attempts)
