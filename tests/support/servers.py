"""Real servers for the tests: an embedded MongoDB replica set, a RabbitMQ vhost, the four services."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from louzhang.broker import TemporaryVhost
from louzhang.mongod import TemporaryMongod

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("routing", "intake", "notify", "reporting")
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def eventually(probe: Callable[[], T | None], *, timeout: float = 15.0, every: float = 0.05, what: str = "") -> T:
    """Poll `probe` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except (httpx.HTTPError, PyMongoError, AssertionError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(every)
    raise AssertionError(f"not within {timeout}s: {what or probe} (last: {last!r})")


async def until(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 15.0, every: float = 0.1, what: str = ""
) -> T:
    """`eventually` for async probes (inside async tests)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(every)
    raise AssertionError(f"not within {timeout}s: {what or probe} (last: {last!r})")


Mongod = TemporaryMongod  # the tests' name for it


Vhost = TemporaryVhost  # the tests' name for it


@dataclass
class Stack:
    """The four services as real processes on free ports, sharing one database and one vhost."""

    mongo_url: str
    amqp_url: str
    db_name: str = field(default_factory=lambda: f"louzhang_test_{uuid.uuid4().hex[:10]}")
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    extra_env: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=lambda: {name: free_port() for name in SERVICES})
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="louzhang-logs-")))

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOUZHANG_")}
        env.update(
            {
                "LOUZHANG_MONGO_URL": self.mongo_url,
                "LOUZHANG_MONGO_DB": self.db_name,
                "LOUZHANG_AMQP_URL": self.amqp_url,
                "LOUZHANG_ADMIN_TOKEN": self.admin_token,
                "LOUZHANG_JWT_SECRET": self.jwt_secret,
                "LOUZHANG_DEMO": "0",
                # The workbench's pages (and the links in every message) are reporting's.
                "LOUZHANG_PUBLIC_URL": f"http://127.0.0.1:{self.ports['reporting']}",
                **{f"LOUZHANG_{name.upper()}_PORT": str(port) for name, port in self.ports.items()},
                **self.extra_env,
            }
        )
        return env

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self, *names: str) -> None:
        for name in names or SERVICES:
            self._spawn(name, name)
        for name in names or SERVICES:
            eventually(
                lambda n=name: httpx.get(f"{self.url(n)}/healthz").status_code == 200, timeout=45, what=f"{name} up"
            )

    def start_replica(self, service: str, label: str, env: dict[str, str] | None = None) -> str:
        """Another process of `service`, on a port of its own, `env` added to the stack's; returns its base URL."""
        port = free_port()
        self._spawn(service, label, {f"LOUZHANG_{service.upper()}_PORT": str(port), **(env or {})})
        url = f"http://127.0.0.1:{port}"
        eventually(lambda: httpx.get(f"{url}/healthz").status_code == 200, timeout=45, what=f"{label} up")
        return url

    def _spawn(self, service: str, label: str, env: dict[str, str] | None = None) -> None:
        log = (self.logs / f"{label}.log").open("ab")
        self.processes[label] = subprocess.Popen(
            [sys.executable, "-m", "louzhang.cli", "serve", service],
            env={**self.env, **(env or {})},
            cwd=self.logs,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    def log(self, name: str) -> str:
        try:  # read, not check-then-read: the folder may be going away
            return (self.logs / f"{name}.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def database(self) -> Any:
        client: MongoClient[dict[str, Any]] = MongoClient(self.mongo_url, tz_aware=True)
        return client[self.db_name]

    def drop(self) -> None:
        client: MongoClient[dict[str, Any]] = MongoClient(self.mongo_url)
        client.drop_database(self.db_name)
        client.close()
        if os.environ.get("LOUZHANG_TEST_KEEP_LOGS"):
            print(f"service logs kept in {self.logs}")
        else:
            shutil.rmtree(self.logs, ignore_errors=True)


@contextmanager
def own_stack(
    mongo_url: str,
    amqp_url: str | None,
    env: dict[str, str],
    directory: dict[str, Any],
    services: tuple[str, ...] = SERVICES,
) -> Iterator[Stack]:
    """A stack of its own (its own database, and its own vhost unless `amqp_url` is given), with
    `directory` loaded and every /readyz at 200; stopped and dropped afterwards."""
    vhost = None
    if amqp_url is None:
        vhost = Vhost()
        vhost.create()
        amqp_url = vhost.url
    stack = Stack(mongo_url=mongo_url, amqp_url=amqp_url, extra_env=env)
    try:
        stack.start(*services)
        r = httpx.put(
            f"{stack.url('routing')}/v1/directory",
            json=directory,
            headers={"Authorization": f"Bearer {stack.admin_token}"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        for name in services:
            eventually(lambda n=name: httpx.get(f"{stack.url(n)}/readyz").status_code == 200, timeout=60, what=name)
        yield stack
    finally:
        stack.stop()
        with contextlib.suppress(PyMongoError):
            stack.drop()
        if vhost is not None:
            vhost.delete()
