"""Real servers for the tests and the bench: an embedded MongoDB replica set, a RabbitMQ vhost, the four
services."""

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
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from ops.broker import rabbitmqctl
from ops.mongod import initiate_replica_set, mongod_argv

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
            got = probe()
        except (httpx.HTTPError, PyMongoError, AssertionError) as exc:
            last = exc
        else:
            if got:
                return got
            last = got
        time.sleep(every)
    raise AssertionError(f"not within {timeout}s: {what or probe} (last: {last!r})")


def answers(url: str) -> bool:
    """Whether a GET of `url` answers 200."""
    return httpx.get(url).status_code == 200


async def until(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 15.0, every: float = 0.1, what: str = ""
) -> T:
    """`eventually` for async probes (inside async tests)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        got = await probe()
        if got:
            return got
        last = got
        await asyncio.sleep(every)
    raise AssertionError(f"not within {timeout}s: {what or probe} (last: {last!r})")


class Mongod:
    """The embedded mongod as a one-node replica set on a free loopback port, its data in a
    temporary folder: for the tests and the bench. `stop` keeps the data (`start` again resumes
    it); `destroy` removes it."""

    def __init__(self, prefix: str = "louzhang-mongo-") -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?replicaSet=rs0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            mongod_argv(self.dir, self.port, self.dir / "mongod.log"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        initiate_replica_set("127.0.0.1", self.port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(60)
        self.process = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Vhost:
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
            healthz = f"{self.url(name)}/healthz"
            eventually(partial(answers, healthz), timeout=45, what=f"{name} up")

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
            [sys.executable, "-m", "ops.cli", "serve", service],
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

    def print_logs(self, lines: int = 80) -> None:
        """The last `lines` of each service's log, on stderr (pytest shows it beside a failure)."""
        for path in sorted(self.logs.glob("*.log")):
            tail = self.log(path.stem).splitlines()[-lines:]
            print(f"----- {path.name} (last {len(tail)} lines) -----", *tail, sep="\n", file=sys.stderr)

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
            readyz = f"{stack.url(name)}/readyz"
            eventually(partial(answers, readyz), timeout=60, what=name)
        yield stack
    except Exception:
        stack.print_logs()  # what the services said is what a failed run in CI needs most
        raise
    finally:
        stack.stop()
        with contextlib.suppress(PyMongoError):
            stack.drop()
        if vhost is not None:
            vhost.delete()
