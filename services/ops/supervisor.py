"""`make run`: bring up RabbitMQ and MongoDB if none answers, then the four services;
restart whatever exits; stop everything it started on Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from chassis.auth import generate_secret
from chassis.bus import broker_nodes
from chassis.settings import ServiceSettings
from ops.mongod import initiate_replica_set, mongod_argv

SERVICES = ("routing", "intake", "notify", "reporting")
COLOURS = {"routing": 35, "intake": 36, "notify": 33, "reporting": 32, "mongod": 34}


def paint(text: str, code: int) -> str:
    return f"\033[{code}m{text}\033[0m" if sys.stdout.isatty() else text


def say(message: str) -> None:
    print(f"{paint('louzhang', 1)}  | {message}", flush=True)


def answers(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def load_secrets(data: Path) -> dict[str, str]:
    """The admin token and JWT secret: from the environment, else generated once into data/secrets.env."""
    path = data / "secrets.env"
    stored: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            key, _, value = line.partition("=")
            if value:
                stored[key.strip()] = value.strip()
    for key in ("LOUZHANG_ADMIN_TOKEN", "LOUZHANG_JWT_SECRET"):
        if not os.environ.get(key) and not stored.get(key):
            stored[key] = generate_secret()
    path.write_text("".join(f"{k}={v}\n" for k, v in stored.items()))
    path.chmod(0o600)
    return {k: v for k, v in stored.items() if not os.environ.get(k)}


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0
    stopping: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def supervise(self) -> None:
        """Run the process; start it again whenever it exits, like a container restart policy."""
        pause = 1.0
        while not self.stopping:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv,
                env=self.env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
            started = asyncio.get_running_loop().time()
            await self._relay_output()
            code = await self.process.wait()
            if self.stopping:
                break
            self.restarts += 1
            if asyncio.get_running_loop().time() - started > 30:
                pause = 1.0
            say(f"{self.name} exited with {code}; restarting in {pause:.0f}s (restart {self.restarts})")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 30.0)
        self.done.set()

    async def _relay_output(self) -> None:
        assert self.process and self.process.stdout
        colour = COLOURS.get(self.name.split("-")[0], 37)
        async for line in self.process.stdout:
            sys.stdout.write(f"{paint(f'{self.name:<9}', colour)} | {line.decode(errors='replace')}")
            sys.stdout.flush()

    async def stop(self, grace_s: float = 15.0) -> None:
        self.stopping = True
        proc = self.process
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), grace_s)
            except TimeoutError:
                proc.kill()
                await proc.wait()


class Supervisor:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.settings = ServiceSettings()
        self.children: list[Child] = []
        self.started_rabbitmq = False
        self.tasks: list[asyncio.Task[None]] = []

    # ---- RabbitMQ --------------------------------------------------------

    async def ensure_rabbitmq(self) -> None:
        nodes = [urlsplit(node) for node in broker_nodes(self.settings.amqp_url)]
        if len(nodes) > 1:  # a cluster (`louzhang cluster up`): it is not ours to start
            up = [f"{n.hostname}:{n.port or 5672}" for n in nodes if answers(n.hostname or "", n.port or 5672)]
            if not up:
                raise SystemExit("no node of LOUZHANG_AMQP_URL answers; start the cluster (`louzhang cluster up`)")
            say(f"RabbitMQ answers at {', '.join(up)}")
            return
        url = nodes[0]
        host, port = url.hostname or "127.0.0.1", url.port or 5672
        if answers(host, port):
            say(f"RabbitMQ answers at {host}:{port}")
            return
        if host not in ("127.0.0.1", "localhost"):
            raise SystemExit(f"RabbitMQ does not answer at {host}:{port}; start it or fix LOUZHANG_AMQP_URL")
        if os.geteuid() != 0:
            raise SystemExit(
                "RabbitMQ does not answer on 127.0.0.1:5672. Install and start it, e.g. "
                "`sudo apt-get install -y rabbitmq-server && sudo rabbitmq-server -detached`, "
                "or point LOUZHANG_AMQP_URL at one."
            )
        if shutil.which("rabbitmq-server") is None:
            if shutil.which("apt-get") is None:
                raise SystemExit("RabbitMQ is not installed and apt-get is not available: install rabbitmq-server")
            say("installing rabbitmq-server with apt-get")
            await self._run("apt-get", "update", "-q")
            await self._run("apt-get", "install", "-y", "-q", "rabbitmq-server")
        say("starting RabbitMQ (rabbitmq-server -detached)")
        await self._run("rabbitmq-server", "-detached")
        self.started_rabbitmq = True
        for _ in range(120):
            if answers(host, port):
                say("RabbitMQ is up")
                return
            await asyncio.sleep(1)
        raise SystemExit("RabbitMQ did not come up within two minutes")

    async def _run(self, *argv: str) -> None:
        proc = await asyncio.create_subprocess_exec(*argv)
        if await proc.wait() != 0:
            raise SystemExit(f"`{' '.join(argv)}` failed")

    # ---- MongoDB ---------------------------------------------------------

    def _mongo_answers(self, url: str) -> bool:
        client: MongoClient[dict[str, object]] = MongoClient(url, serverSelectionTimeoutMS=1500, directConnection=True)
        try:
            client.admin.command("ping")
            return True
        except PyMongoError:
            return False
        finally:
            client.close()

    async def ensure_mongo(self) -> None:
        url = self.settings.mongo_url
        members = urlsplit(url).netloc.rsplit("@", 1)[-1].split(",")
        if len(members) > 1:  # a replica set of its own (`louzhang cluster up`): not ours to start
            hosts = [(m.rpartition(":")[0], int(m.rpartition(":")[2])) if ":" in m else (m, 27017) for m in members]
            if not any(answers(host, port) for host, port in hosts):
                raise SystemExit("no member of LOUZHANG_MONGO_URL answers; start them (`louzhang cluster up`)")
            say(f"MongoDB replica set at {', '.join(members)}")
            return
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 27017
        if answers(host, port) and await asyncio.to_thread(self._mongo_answers, f"mongodb://{host}:{port}/"):
            say(f"MongoDB answers at {host}:{port}")
            await asyncio.to_thread(initiate_replica_set, host, port)
            return
        if host not in ("127.0.0.1", "localhost"):
            raise SystemExit(f"MongoDB does not answer at {host}:{port}; fix LOUZHANG_MONGO_URL")
        dbpath = self.data / "mongo"
        dbpath.mkdir(parents=True, exist_ok=True)
        say(f"starting the embedded MongoDB on 127.0.0.1:{port} (data in {dbpath})")
        child = Child("mongod", mongod_argv(dbpath, port, self.data / "mongod.log"), dict(os.environ))
        self.children.append(child)
        self.tasks.append(asyncio.create_task(child.supervise()))
        for _ in range(120):
            if answers(host, port):
                break
            await asyncio.sleep(0.5)
        await asyncio.to_thread(initiate_replica_set, host, port)
        say("MongoDB is up (replica set rs0)")

    # ---- services --------------------------------------------------------

    def instances(self) -> list[tuple[str, str, int]]:
        """(label, service, port) of every service process: one each, or more with
        LOUZHANG_REPLICAS (e.g. `routing=2,notify=2`); replica k listens on port + 100·k."""
        counts = parse_replicas(os.environ.get("LOUZHANG_REPLICAS", ""))
        out = []
        for name in SERVICES:
            for k in range(counts.get(name, 1)):
                out.append((name if k == 0 else f"{name}-{k + 1}", name, self.settings.port(name) + 100 * k))
        return out

    async def start_services(self, env: dict[str, str]) -> None:
        for label, name, port in self.instances():
            child_env = {**env, f"LOUZHANG_{name.upper()}_PORT": str(port)}
            child = Child(label, [sys.executable, "-m", "ops.cli", "serve", name], child_env)
            self.children.append(child)
            self.tasks.append(asyncio.create_task(child.supervise()))

    async def wait_ready(self) -> bool:
        async with httpx.AsyncClient(timeout=2) as client:
            for _ in range(360):
                ready = 0
                instances = self.instances()
                for _, _, port in instances:
                    try:
                        r = await client.get(f"http://127.0.0.1:{port}/readyz")
                        ready += r.status_code == 200
                    except httpx.HTTPError:
                        pass
                if ready == len(instances):
                    return True
                await asyncio.sleep(0.5)
        return False

    async def run(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        secrets = load_secrets(self.data)
        env = {**os.environ, **secrets}
        env.setdefault("LOUZHANG_DEMO", "1")
        os.environ.update(secrets)
        self.settings = ServiceSettings()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await self.ensure_rabbitmq()
            await self.ensure_mongo()
            await self.start_services(env)
            ready = asyncio.create_task(self.wait_ready())
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait([ready, stopped], return_when=asyncio.FIRST_COMPLETED)
            if ready.done() and ready.result():
                self.banner(env["LOUZHANG_ADMIN_TOKEN"])
            elif not stop.is_set():
                say("not every service became ready within three minutes; still trying (see the logs above)")
            await stop.wait()
        finally:
            say("stopping")
            await self.shutdown()

    def banner(self, admin_token: str) -> None:
        port = self.settings.port
        say("ready:")
        for name in SERVICES:
            say(f"  {name:<9} http://127.0.0.1:{port(name)}  (API docs: /docs)")
        say(f"  admin token: {admin_token}")
        say("Ctrl-C stops everything.")

    async def shutdown(self) -> None:
        services = [c for c in self.children if c.name != "mongod"]
        await asyncio.gather(*(c.stop() for c in services))
        await asyncio.gather(*(c.stop(grace_s=30) for c in self.children if c.name == "mongod"))
        if self.started_rabbitmq:
            say("stopping the RabbitMQ it started")
            proc = await asyncio.create_subprocess_exec("rabbitmqctl", "stop", stdout=asyncio.subprocess.DEVNULL)
            await proc.wait()


def parse_replicas(text: str) -> dict[str, int]:
    """`routing=2,notify=2` → {"routing": 2, "notify": 2}; SystemExit on anything else."""
    counts: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, n = part.partition("=")
        if name not in SERVICES or not n.isdigit() or not 1 <= int(n) <= 9:
            raise SystemExit(f"LOUZHANG_REPLICAS: {part!r} is not <service>=<1..9> (services: {', '.join(SERVICES)})")
        counts[name] = int(n)
    return counts


def main(root: Path) -> None:
    asyncio.run(Supervisor(root).run())
