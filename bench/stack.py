"""The bench's own servers: a MongoDB on a port of its own, a RabbitMQ vhost of its own, the four
services on free ports (`louzhang serve`), the naive baseline, and what can be read off them
(process CPU and peak memory, /metrics counters, MongoDB opcounters, queue depths)."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pymongo import MongoClient
from pymongo.database import Database
from tests.support.servers import Mongod, Vhost

from chassis import topology
from ops.broker import queue_depths

Doc = dict[str, Any]

# ---- the directory the bench loads: a district of 4 towns × 25 buildings, 8 services ----------

TOWNS = [("T1", "曹杨镇"), ("T2", "长风镇"), ("T3", "万里镇"), ("T4", "桃浦镇")]
BUILDINGS_PER_TOWN = 25
ROLES = [("safety", "安全保障员"), ("enterprise_service", "企业服务员"), ("property", "物业协调员")]
# (code, name, role); every SLA is natural-calendar, long enough that no timer fires during a run.
SERVICES_CATALOGUE = [
    ("fire-safety", "消防安全隐患", "safety"),
    ("elevator", "电梯故障", "safety"),
    ("talent", "人才公寓申请", "enterprise_service"),
    ("policy", "政策咨询", "enterprise_service"),
    ("registration", "企业登记变更", "enterprise_service"),
    ("parking", "停车管理", "property"),
    ("cleaning", "环境卫生", "property"),
    ("water", "供水供电", "property"),
]
ACKNOWLEDGE = timedelta(hours=4)
RESOLVE = timedelta(days=10)


def building_ids(town: str) -> list[str]:
    n = int(town[1:])
    return [f"B{(n - 1) * BUILDINGS_PER_TOWN + k:03}" for k in range(1, BUILDINGS_PER_TOWN + 1)]


def bench_directory() -> Doc:
    staff: list[Doc] = [{"id": "D000", "name": "区总楼长"}]
    buildings: list[Doc] = []
    towns: list[Doc] = []
    for town, name in TOWNS:
        staff.append({"id": f"{town}H", "name": f"{name}分楼长"})
        towns.append({"id": town, "name": name, "heads": [f"{town}H"], "children": []})
        for b in building_ids(town):
            team = {role: f"{b}{role[0].upper()}" for role, _ in ROLES}
            staff += [{"id": f"{b}H", "name": f"{b}楼长"}, *({"id": s, "name": f"{s}员"} for s in team.values())]
            buildings.append({"id": b, "name": f"{name}{b}大厦", "grid_node": town, "heads": [f"{b}H"], "team": team})
    sla = {"acknowledge": "PT4H", "resolve": "P10D", "calendar": "natural"}
    return {
        "roles": [{"code": c, "name": n} for c, n in ROLES],
        "staff": staff,
        "grid": {"id": "district", "name": "普陀区", "heads": ["D000"], "children": towns},
        "buildings": buildings,
        "services": [{"code": c, "name": n, "role": r, "sla": sla} for c, n, r in SERVICES_CATALOGUE],
    }


def all_buildings() -> list[str]:
    return [b for town, _ in TOWNS for b in building_ids(town)]


# ---- tools the bench installs itself ------------------------------------------------------------


def say(message: str) -> None:
    print(f"bench | {message}", flush=True)


def ensure_wrk() -> str:
    """Debian's wrk: installed with apt-get when missing and we are root, else a clear stop."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SystemExit(
            "bench: the load generator `wrk` is not installed and this is not root with apt-get: "
            "install Debian's package (`sudo apt-get install -y wrk`) and run `make bench` again"
        )
    say("installing Debian's wrk (apt-get install -y wrk)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    done = subprocess.run(install, env=env, capture_output=True, text=True)
    if done.returncode != 0:  # an old or missing package list: update it once, then try again
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        done = subprocess.run(install, env=env, capture_output=True, text=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit(f"bench: apt-get could not install wrk:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return found


def ensure_py_spy() -> str:
    """py-spy in this virtual environment (pip, from PyPI), for --profile."""
    here = Path(sys.executable).parent / "py-spy"
    if here.exists():
        return str(here)
    say("installing py-spy into the virtual environment (pip install py-spy)")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "py-spy"], check=True)
    if not here.exists():
        raise SystemExit("bench: pip installed py-spy but no py-spy command appeared beside python")
    return str(here)


# ---- reading processes ----------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM (peak resident set) in MB, None when the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    return int(match.group(1)) / 1024 if match else None


def rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return int(match.group(1)) / 1024 if match else None


def rabbitmq_pid() -> int | None:
    """The broker's Erlang VM (shared with whoever else uses this RabbitMQ)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "beam.smp" and b"rabbit" in (entry / "cmdline").read_bytes():
                return int(entry.name)
        except OSError:
            continue
    return None


class CpuMeter:
    """CPU used by each named process between `start` and `stop`, in cores (CPU s per wall s)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.before: dict[str, float] = {}
        self.began = 0.0
        self.share: dict[str, float] = {}
        self.used: dict[str, float] = {}  # CPU seconds

    def start(self) -> None:
        self.began = time.monotonic()
        self.before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def stop(self) -> dict[str, float]:
        wall = time.monotonic() - self.began
        self.used = {name: cpu_seconds(pid) - self.before[name] for name, pid in self.pids.items()}
        self.share = {
            name: round((cpu_seconds(pid) - self.before[name]) / wall, 3) for name, pid in self.pids.items() if wall > 0
        }
        return self.share


# ---- RabbitMQ -----------------------------------------------------------------------------------------


class BenchVhost(Vhost):
    """Retried: another engineer's chaos run restarts the broker now and then."""

    def __init__(self) -> None:
        super().__init__("louzhang-bench", attempts=6)

    def create(self) -> None:
        try:
            super().create()
        except RuntimeError as exc:
            raise SystemExit(f"bench: {exc}") from exc

    def delete(self) -> None:
        try:
            super().delete()
        except RuntimeError as exc:
            say(f"warning: {exc}")


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([^ ]+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

# ---- MongoDB and the services -----------------------------------------------------------------------

SERVICES = ("routing", "intake", "notify", "reporting")
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def eventually(probe: Callable[[], T | None], *, timeout: float, what: str, every: float = 0.2) -> T:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = probe()
        except (httpx.HTTPError, OSError) as exc:
            last = exc
        else:
            if result:
                return result
            last = result
        time.sleep(every)
    raise SystemExit(f"bench: not within {timeout:.0f}s: {what} (last: {last!r})")


def answers_200(url: str) -> bool:
    return httpx.get(url, timeout=5).status_code == 200


@dataclass
class Services:
    """The four services as `louzhang serve` processes on free ports, with the bench's environment."""

    mongo_url: str
    amqp_url: str
    db_name: str = "louzhang_bench"
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    ports: dict[str, int] = field(default_factory=lambda: {name: free_port() for name in SERVICES})
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="louzhang-bench-logs-")))

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOUZHANG_")}
        env.update(
            {
                "LOUZHANG_MONGO_URL": self.mongo_url,
                "LOUZHANG_MONGO_DB": self.db_name,
                "LOUZHANG_AMQP_URL": self.amqp_url,
                "LOUZHANG_ADMIN_TOKEN": self.admin_token,
                "LOUZHANG_JWT_SECRET": self.jwt_secret,
                **BENCH_ENV,
                **{f"LOUZHANG_{name.upper()}_PORT": str(port) for name, port in self.ports.items()},
            }
        )
        return env

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self) -> None:
        for name in SERVICES:
            log = (self.logs / f"{name}.log").open("ab")
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "ops.cli", "serve", name],
                env=self.env(),
                cwd=self.logs,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        for name in SERVICES:
            health = f"{self.url(name)}/healthz"
            eventually(partial(answers_200, health), timeout=60, what=f"{name} up")

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


# ---- the stack ------------------------------------------------------------------------------------------

BENCH_ENV = {
    "LOUZHANG_RATE_LIMIT_PER_MIN": "0",
    "LOUZHANG_DEMO": "0",
}


@dataclass
class BenchStack:
    mongod: Mongod = field(default_factory=lambda: Mongod("louzhang-bench-mongo-"))
    vhost: BenchVhost = field(default_factory=BenchVhost)
    stack: Services | None = None
    client: MongoClient[Doc] | None = None

    def start(self) -> None:
        say(f"starting MongoDB on 127.0.0.1:{self.mongod.port} (replica set rs0, data in {self.mongod.dir})")
        self.mongod.start()
        say(f"creating RabbitMQ vhost {self.vhost.name}")
        self.vhost.create()
        self.stack = Services(mongo_url=self.mongod.url, amqp_url=self.vhost.url)
        say("starting intake, routing, notify, reporting on " + ", ".join(f"{k}:{v}" for k, v in self.ports.items()))
        self.stack.start()
        r = httpx.put(self.url("routing") + "/v1/directory", json=bench_directory(), headers=self.auth, timeout=60)
        if r.status_code != 200:
            raise SystemExit(f"bench: routing refused the bench directory ({r.status_code}): {r.text[:500]}")
        for name in SERVICES:
            ready = f"{self.url(name)}/readyz"
            eventually(partial(answers_200, ready), timeout=90, what=f"{name} ready")
        self.client = MongoClient(self.mongod.url, tz_aware=True)
        say("stack ready; bench directory loaded (4 towns, 100 buildings, 8 services)")

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.stack is not None:
            self.stack.stop()
            if os.environ.get("LOUZHANG_BENCH_KEEP_LOGS"):
                say(f"service logs kept in {self.stack.logs}")
            else:
                shutil.rmtree(self.stack.logs, ignore_errors=True)
        self.mongod.destroy()
        self.vhost.delete()

    @property
    def running(self) -> Services:
        assert self.stack is not None, "the stack is not started"
        return self.stack

    @property
    def ports(self) -> dict[str, int]:
        return self.running.ports

    @property
    def token(self) -> str:
        return self.running.admin_token

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def url(self, service: str) -> str:
        return self.running.url(service)

    @property
    def db(self) -> Database[Doc]:
        assert self.client is not None
        return self.client[self.running.db_name]

    def pids(self) -> dict[str, int]:
        out = {name: p.pid for name, p in self.running.processes.items()}
        if self.mongod.process is not None:
            out["mongod"] = self.mongod.process.pid
        broker = rabbitmq_pid()
        if broker is not None:
            out["rabbitmq"] = broker
        return out

    def service_pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.running.processes.items()}

    def log_tail(self, service: str, lines: int = 30) -> str:
        return "\n".join(self.running.log(service).splitlines()[-lines:])

    # ---- counters ----------------------------------------------------------------------------

    def samples(self, service: str) -> list[tuple[str, dict[str, str], float]]:
        """Every sample of the service's /metrics: (name, labels, value)."""
        text = httpx.get(self.url(service) + "/metrics", timeout=10).text
        out = []
        for line in text.splitlines():
            match = SAMPLE.match(line)
            if match:
                labels = dict(LABEL.findall(match.group(2) or ""))
                out.append((match.group(1), labels, float(match.group(3))))
        return out

    def event_counts(self) -> dict[str, float]:
        """Events published (confirmed by the broker) per event name, and consumed (acked after
        their effect, outcome ok) per queue, over the whole stack; with totals and each service's."""
        out: dict[str, float] = {"published": 0.0, "consumed": 0.0}
        for service in SERVICES:
            for name, labels, value in self.samples(service):
                if name == "louzhang_events_published_total":
                    kind, key = "published", labels.get("event", "")
                elif name == "louzhang_events_consumed_total" and labels.get("outcome") == "ok":
                    kind, key = "consumed", labels.get("queue", "")
                else:
                    continue
                out[kind] += value
                out[f"{kind}.{service}"] = out.get(f"{kind}.{service}", 0.0) + value
                out[f"{kind}:{key}"] = out.get(f"{kind}:{key}", 0.0) + value
        return out

    def mongo_counts(self) -> dict[str, float]:
        """serverStatus counters of this bench's own mongod: operations, documents, transactions."""
        status = self.db.client.admin.command("serverStatus")
        out = {f"op.{k}": float(v) for k, v in status["opcounters"].items()}
        out.update({f"doc.{k}": float(v) for k, v in status["metrics"]["document"].items()})
        out["transactions.committed"] = float(status["transactions"]["totalCommitted"])
        out["transactions.aborted"] = float(status["transactions"]["totalAborted"])
        return out

    def queue_depths(self) -> dict[str, int]:
        try:
            return asyncio.run(queue_depths(self.vhost.url, (q.queue for q in topology.QUEUES)))
        except Exception as exc:  # noqa: BLE001 - a figure for the report, not worth stopping the bench
            say(f"warning: could not read the queue depths: {exc!r}")
            return {}

    # ---- waiting for the pipeline -----------------------------------------------------------------

    def backlog(self) -> dict[str, int]:
        """What the pipeline still owes: events in an outbox not yet published, and per queue the
        events published to it (by its bindings) not yet consumed. Empty when all is done."""
        owed: dict[str, int] = {}
        for service in SERVICES:
            unsent = self.db[f"{service}_outbox"].count_documents({"sent": False})
            if unsent:
                owed[f"{service} outbox"] = unsent
        counts = self.event_counts()
        for q in topology.QUEUES:
            routed = sum(counts.get(f"published:{event}", 0.0) for event in q.bindings)
            behind = int(routed - counts.get(f"consumed:{q.queue}", 0.0))
            if behind > 0:
                owed[q.queue] = behind
        return owed

    def drain(self, timeout_s: float, every_s: float = 0.5) -> bool:
        """Wait until the pipeline owes nothing (every event published and consumed everywhere);
        False when `timeout_s` passed first."""
        deadline = time.monotonic() + timeout_s
        while True:
            owed = self.backlog()
            if not owed:
                return True
            if time.monotonic() > deadline:
                say(f"pipeline not drained after {timeout_s:.0f}s: still owed {owed}")
                return False
            time.sleep(every_s)


# ---- the naive baseline --------------------------------------------------------------------------------


@dataclass
class BaselineServer:
    """bench/baseline.py under uvicorn on its own port, writing to its own collection and queue."""

    mongo_url: str
    amqp_url: str
    db_name: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "BENCH_MONGO_URL": self.mongo_url,
            "BENCH_MONGO_DB": self.db_name,
            "BENCH_AMQP_URL": self.amqp_url,
            "BENCH_PORT": str(self.port),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.baseline"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        eventually(partial(answers_200, self.url + "/readyz"), timeout=30, what="baseline ready")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def running_baseline(stack: BenchStack) -> Iterator[BaselineServer]:
    server = BaselineServer(stack.mongod.url, stack.vhost.url, stack.running.db_name)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def timed(step: Callable[[], Any]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started
