"""The stack under test: `louzhang run` in a fresh root, with a RabbitMQ vhost, a MongoDB
port and service ports of its own, so that the supervisor starts (and restarts) an
embedded mongod for it alone. On a cluster (`--cluster`), the broker is the cluster's (its
nodes in the URL, its own `rabbitmqctl`) and MongoDB its replica set: the supervisor starts
neither."""

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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient

SERVICES = ("routing", "intake", "notify", "reporting")
REPLICAS = {"routing": 2, "notify": 2}
AMQP_BASE = "amqp://guest:guest@127.0.0.1:5672"


def rabbitmqctl(*args: str, timeout: float = 120) -> str:
    done = subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True, timeout=timeout)
    return done.stdout


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_ports(count: int, taken: set[int]) -> list[int]:
    """`count` free ports whose port + 100 is free too (replica k listens on port + 100·k)."""
    found: list[int] = []
    while len(found) < count:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port + 100 < 65536 and not ({port, port + 100} & taken) and _bindable(port + 100):
            taken.update({port, port + 100})
            found.append(port)
    return found


@dataclass(frozen=True)
class Broker:
    """Where the run's vhost lives: the URL up to the vhost (one node, or several comma-separated),
    and a `rabbitmqctl` for that broker."""

    base: str
    ctl: Callable[..., str]


MACHINE_BROKER = Broker(AMQP_BASE, rabbitmqctl)


@dataclass(frozen=True)
class Instance:
    label: str  # as the supervisor names it: `routing`, `routing-2`, ...
    service: str
    port: int

    @property
    def ready_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/readyz"


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    stack = [pid]
    while stack:
        for task in Path(f"/proc/{stack.pop()}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    stack.append(child)
    return found


def _proc(pid: int, what: str) -> list[str]:
    try:
        return Path(f"/proc/{pid}/{what}").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


class Stack:
    def __init__(
        self,
        *,
        replicas: bool,
        keep: bool,
        outbound_allow: str = "",
        broker: Broker = MACHINE_BROKER,
        mongo_url: str | None = None,
    ) -> None:
        self.replicas = replicas
        self.broker = broker
        self.replica_set_url = mongo_url  # a replica set of its own; None: an embedded mongod on a free port
        self.keep = keep
        # LOUZHANG_OUTBOUND_ALLOW: the run's webhook receiver listens on loopback.
        self.outbound_allow = outbound_allow
        self.root = Path(tempfile.mkdtemp(prefix="louzhang-chaos-"))
        self.vhost = f"louzhang-chaos-{uuid.uuid4().hex[:10]}"
        self.db_name = "louzhang_chaos"
        taken: set[int] = set()
        self.mongo_port = free_ports(1, taken)[0]
        self.ports = dict(zip(SERVICES, free_ports(len(SERVICES), taken), strict=True))
        self.admin_token = secrets.token_urlsafe(24)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def mongo_url(self) -> str:
        return self.replica_set_url or f"mongodb://127.0.0.1:{self.mongo_port}/?replicaSet=rs0"

    @property
    def amqp_url(self) -> str:
        return f"{self.broker.base.rstrip('/')}/{self.vhost}"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def instances(self) -> list[Instance]:
        counts = REPLICAS if self.replicas else {}
        return [
            Instance(name if k == 0 else f"{name}-{k + 1}", name, self.ports[name] + 100 * k)
            for name in SERVICES
            for k in range(counts.get(name, 1))
        ]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOUZHANG_")}
        env.update(
            {
                "LOUZHANG_AMQP_URL": self.amqp_url,
                "LOUZHANG_MONGO_URL": self.mongo_url,
                "LOUZHANG_MONGO_DB": self.db_name,
                "LOUZHANG_ADMIN_TOKEN": self.admin_token,
                "LOUZHANG_JWT_SECRET": secrets.token_urlsafe(24),
                "LOUZHANG_DEMO": "0",
                "LOUZHANG_RATE_LIMIT_PER_MIN": "0",
                "LOUZHANG_PUBLIC_URL": self.url("reporting"),
                "LOUZHANG_OUTBOUND_ALLOW": self.outbound_allow,
                "PYTHONUNBUFFERED": "1",
                **{f"LOUZHANG_{n.upper()}_PORT": str(p) for n, p in self.ports.items()},
            }
        )
        if self.replicas:
            env["LOUZHANG_REPLICAS"] = ",".join(f"{n}={k}" for n, k in REPLICAS.items())
        return env

    # ---- life cycle ------------------------------------------------------

    def start(self) -> None:
        self.broker.ctl("add_vhost", self.vhost)
        self.broker.ctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        log = (self.root / "run.log").open("wb")
        # The root as working directory: no `.env` of the repository is read.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "run", "--root", str(self.root)],
            env=self.env(),
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def stop(self, *, failed: bool) -> None:
        """SIGTERM the supervisor (it stops what it started), kill what is left, drop the vhost."""
        if self.process is not None:
            children = _descendants(self.process.pid)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(90)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            for pid in children:
                # Still there and still ours (a pid may be reused once its process is gone).
                if f"LOUZHANG_AMQP_URL={self.amqp_url}" in _proc(pid, "environ"):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        try:
            self.broker.ctl("delete_vhost", self.vhost)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, RuntimeError) as exc:
            print(f"could not delete vhost {self.vhost}: {exc}", file=sys.stderr)
        if failed or self.keep:
            print(f"run folder kept: {self.root} (supervisor log: {self.root / 'run.log'})")
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        path = self.root / "run.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    # ---- processes -------------------------------------------------------

    def pid_of(self, label: str) -> int | None:
        """The pid of an instance (`intake`, `routing-2`, ...) or of the embedded `mongod`, as now running."""
        assert self.process is not None
        instance = next((i for i in self.instances if i.label == label), None)
        for pid in sorted(_descendants(self.process.pid)):
            argv = [a for a in _proc(pid, "cmdline") if a]
            if label == "mongod" and argv and argv[0].endswith("/mongod"):
                return pid
            if (
                instance is not None
                and argv[-2:] == ["serve", instance.service]
                and f"LOUZHANG_{instance.service.upper()}_PORT={instance.port}" in _proc(pid, "environ")
            ):
                return pid
        return None

    # ---- readiness -------------------------------------------------------

    async def all_ready(self, client: httpx.AsyncClient) -> bool:
        async def one(instance: Instance) -> bool:
            try:
                return (await client.get(instance.ready_url)).status_code == 200
            except httpx.HTTPError:
                return False

        return all(await asyncio.gather(*(one(i) for i in self.instances)))

    async def readiness(self, client: httpx.AsyncClient) -> list[dict[str, Any] | None]:
        """Each instance's /readyz body when it answers 200 (it names its broker node and primary), else None."""

        async def one(instance: Instance) -> dict[str, Any] | None:
            try:
                r = await client.get(instance.ready_url)
            except httpx.HTTPError:
                return None
            return r.json() if r.status_code == 200 else None

        return list(await asyncio.gather(*(one(i) for i in self.instances)))

    async def wait_ready(self, timeout_s: float) -> float | None:
        """Seconds until every instance answers /readyz with 200; None if not within `timeout_s`."""
        start = time.monotonic()
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() - start < timeout_s:
                if await self.all_ready(client):
                    return time.monotonic() - start
                await asyncio.sleep(0.25)
        return None

    def load_directory(self, document: dict[str, Any], timeout_s: float = 180) -> None:
        """PUT the directory through routing once it answers (it holds none: LOUZHANG_DEMO=0)."""
        deadline = time.monotonic() + timeout_s
        last = ""
        while time.monotonic() < deadline:
            try:
                r = httpx.put(
                    f"{self.url('routing')}/v1/directory",
                    json=document,
                    headers={"Authorization": f"Bearer {self.admin_token}"},
                    timeout=10,
                )
                if r.status_code == 200:
                    return
                if r.status_code not in (502, 503):
                    raise SystemExit(f"the directory was refused: {r.status_code} {r.text}")
                last = f"{r.status_code} {r.text[:200]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.5)
        raise SystemExit(f"routing did not take the directory within {timeout_s:.0f}s (last: {last})")

    def database(self) -> Any:
        client: MongoClient[dict[str, Any]] = MongoClient(self.mongo_url, tz_aware=True, serverSelectionTimeoutMS=30000)
        return client[self.db_name]
