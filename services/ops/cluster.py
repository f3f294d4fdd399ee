"""`louzhang cluster up|down|status`: a 3-node RabbitMQ cluster (Debian's rabbitmq-server) and a 3-member
MongoDB replica set (the embedded mongod) on this one machine, beside its own broker, as detached processes
recorded in ROOT/state.json. The engines do the clustering: `rabbitmqctl join_cluster`, `replSetInitiate`.

Layout of ROOT:

    state.json                 node names, ports, PIDs, which RabbitMQ nodes have joined
    rabbitmq/home/.erlang.cookie   the cluster's own cookie (HOME of the nodes and of rabbitmqctl)
    rabbitmq/rabbitmq-env.conf     RABBITMQ_CONF_ENV_FILE (the system's forces rabbit@localhost)
    rabbitmq/rabbitmq.conf         RABBITMQ_CONFIG_FILE (the system's forces port 5672)
    rabbitmq/enabled_plugins       no plugins
    rabbitmq/nodeN/{mnesia,log}    each node's data and logs
    mongodb/memberN/{db,mongod.log}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")  # not /usr/sbin's wrappers: they switch to the rabbitmq user
DEFAULT_NAME = "louzhang"
DEFAULT_AMQP_PORTS = (5681, 5682, 5683)
DEFAULT_MONGO_PORTS = (27031, 27032, 27033)
DIST_OFFSET = 20000  # RabbitMQ's own rule: the distribution port is the AMQP port + 20000
EPMD_PORT = 4369
# Election settings: with MongoDB's defaults (10 s, 2 s) a SIGKILLed primary cost 11 s of refused
# majority writes here; with these, under 5 s.
ELECTION_TIMEOUT_MS = 2000
HEARTBEAT_INTERVAL_MS = 500
CACHE_GB = 0.25
STOP_GRACE_S = 30.0
NOT_YET_INITIALIZED = 94
NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,30}")

Ports = tuple[int, int, int]


class ClusterError(Exception):
    """What the operator must read; the CLI prints it and exits 1."""


def say(message: str) -> None:
    print(f"cluster | {message}", file=sys.stderr, flush=True)


# ---- the plan (pure) -------------------------------------------------------------------------


def parse_ports(text: str) -> Ports:
    """`5681,5682,5683` → (5681, 5682, 5683); ValueError unless three distinct ports."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"{text!r} is not three comma-separated ports (e.g. 5681,5682,5683)")
    a, b, c = (int(p) for p in parts)
    if not all(1024 <= p <= 65535 for p in (a, b, c)) or len({a, b, c}) != 3:
        raise ValueError(f"{text!r}: three different ports between 1024 and 65535")
    return a, b, c


def dist_ports_for(amqp: Ports) -> Ports:
    """RabbitMQ's default distribution ports for these AMQP ports (each + 20000)."""
    a, b, c = (p + DIST_OFFSET for p in amqp)
    if max(a, b, c) > 65535:
        raise ValueError(f"AMQP ports {amqp} + {DIST_OFFSET} pass 65535: give --dist-ports")
    return a, b, c


def check_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise ValueError(f"{name!r}: a letter, then up to 30 letters, digits, _ or -")
    return name


@dataclass
class RabbitNode:
    index: int
    node: str  # e.g. louzhang1@localhost
    port: int
    dist_port: int
    pid: int | None = None  # beam.smp (from RABBITMQ_PID_FILE)
    wrapper_pid: int | None = None  # the rabbitmq-server script that started it
    joined: bool = False

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"


@dataclass
class MongoMember:
    index: int
    port: int
    pid: int | None = None

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"


@dataclass
class Cluster:
    name: str  # RabbitMQ node names `<name>1@localhost`…, and the replica set's name
    rabbit: list[RabbitNode]
    mongo: list[MongoMember]
    started_at: float = field(default_factory=time.time)

    @classmethod
    def plan(cls, name: str, amqp: Ports, dist: Ports, mongo: Ports) -> Cluster:
        used = [*amqp, *dist, *mongo]
        if len(set(used)) != len(used):
            raise ValueError(f"the AMQP, distribution and MongoDB ports overlap: {used}")
        if EPMD_PORT in used:
            raise ValueError(f"{EPMD_PORT} is epmd's port")
        return cls(
            name=name,
            rabbit=[
                RabbitNode(i, f"{name}{i}@localhost", p, d) for i, (p, d) in enumerate(zip(amqp, dist, strict=True), 1)
            ],
            mongo=[MongoMember(i, p) for i, p in enumerate(mongo, 1)],
        )

    @property
    def amqp_url(self) -> str:
        return f"amqp://guest:guest@{','.join(n.address for n in self.rabbit)}/"

    @property
    def mongo_url(self) -> str:
        return f"mongodb://{','.join(m.address for m in self.mongo)}/?replicaSet={self.name}"

    def settings_lines(self) -> list[str]:
        return [f"LOUZHANG_AMQP_URL={self.amqp_url}", f"LOUZHANG_MONGO_URL={self.mongo_url}"]

    def ports(self) -> tuple[Ports, Ports, Ports]:
        def three(values: list[int]) -> Ports:
            a, b, c = values
            return a, b, c

        return (
            three([n.port for n in self.rabbit]),
            three([n.dist_port for n in self.rabbit]),
            three([m.port for m in self.mongo]),
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Cluster:
        raw = json.loads(text)
        return cls(
            name=raw["name"],
            rabbit=[RabbitNode(**n) for n in raw["rabbit"]],
            mongo=[MongoMember(**m) for m in raw["mongo"]],
            started_at=raw.get("started_at", 0.0),
        )


def replica_set_config(name: str, ports: Sequence[int]) -> dict[str, Any]:
    return {
        "_id": name,
        "members": [{"_id": i, "host": f"{HOST}:{port}"} for i, port in enumerate(ports)],
        "settings": {"electionTimeoutMillis": ELECTION_TIMEOUT_MS, "heartbeatIntervalMillis": HEARTBEAT_INTERVAL_MS},
    }


def rabbit_line(node: RabbitNode, running: bool) -> str:
    return f"rabbitmq {node.node} {node.address} pid={node.pid or '-'} {'running' if running else 'stopped'}"


def mongo_line(member: MongoMember, role: str) -> str:
    return f"mongodb {member.address} pid={member.pid or '-'} {role}"


def rabbit_config(name: str) -> str:
    # The node's own listener comes from RABBITMQ_NODE_IP_ADDRESS and RABBITMQ_NODE_PORT.
    return (
        "# louzhang cluster: every node of this cluster reads this file\n"
        "loopback_users.guest = true\n"  # guest may log in, from loopback only (RabbitMQ's default)
        f"cluster_name = {name}\n"
        "cluster_partition_handling = pause_minority\n"
        "log.console = false\n"
        "log.file.level = info\n"
    )


RABBIT_ENV_FILE = (
    "# louzhang cluster: read by its RabbitMQ nodes and by rabbitmqctl (per-node settings are in the\n"
    "# process environment). Everything on loopback, registered with the machine's epmd.\n"
    f"ERL_EPMD_ADDRESS={HOST}\n"
    'SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"\n'
    'CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"\n'
)


# ---- processes -------------------------------------------------------------------------------


def _read(path: str) -> str | None:
    try:
        return Path(path).read_bytes().decode(errors="replace")
    except OSError:
        return None


def alive(pid: int | None, marker: str = "") -> bool:
    """Whether `pid` runs (not a zombie) and, given a marker, is the process we started (its command line
    holds the marker: a PID may have been reused since)."""
    if not pid:
        return False
    stat = _read(f"/proc/{pid}/stat")
    if stat is None or stat.rsplit(")", 1)[-1].split()[0] == "Z":
        return False
    return not marker or marker in (_read(f"/proc/{pid}/cmdline") or "").replace("\0", " ")


def answers(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_free(port: int) -> bool:
    """Whether nothing listens on the port (connections of a stopped node in TIME_WAIT do not count: the
    engines bind with SO_REUSEADDR too)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
        return True


def epmd_names() -> dict[str, int]:
    """The node names registered with the machine's epmd (NAMES_REQ), name → distribution port."""
    try:
        with socket.create_connection((HOST, EPMD_PORT), timeout=2) as s:
            s.sendall(struct.pack(">HB", 1, 110))
            data = b""
            while chunk := s.recv(4096):
                data += chunk
    except OSError:
        return {}
    found = re.findall(r"name (\S+) at port (\d+)", data[4:].decode(errors="replace"))
    return {name: int(port) for name, port in found}


def terminate(pids: list[int], markers: list[str], grace_s: float) -> list[int]:
    """SIGTERM each of our processes, SIGKILL those left after `grace_s`; the PIDs that had to be killed."""
    ours = [(p, m) for p, m in zip(pids, markers, strict=True) if alive(p, m)]
    for pid, _ in ours:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while any(alive(p, m) for p, m in ours) and time.monotonic() < deadline:
        time.sleep(0.1)
    killed = [p for p, m in ours if alive(p, m)]
    for pid in killed:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(alive(p) for p in killed) and time.monotonic() < deadline:
        time.sleep(0.1)
    return killed


def tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no {path})"


# ---- the folder ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    @property
    def rabbit(self) -> Path:
        return self.root / "rabbitmq"

    @property
    def home(self) -> Path:
        return self.rabbit / "home"

    @property
    def conf_env(self) -> Path:
        return self.rabbit / "rabbitmq-env.conf"

    @property
    def config(self) -> Path:
        return self.rabbit / "rabbitmq.conf"

    @property
    def plugins(self) -> Path:
        return self.rabbit / "enabled_plugins"

    def node_dir(self, node: RabbitNode) -> Path:
        return self.rabbit / f"node{node.index}"

    def node_log(self, node: RabbitNode) -> Path:
        return self.node_dir(node) / "log" / f"{node.node}.log"

    def member_dir(self, member: MongoMember) -> Path:
        return self.root / "mongodb" / f"member{member.index}"

    @property
    def rabbit_marker(self) -> str:
        return f"-home {self.home}"  # on beam.smp's command line

    def member_marker(self, member: MongoMember) -> str:
        return f"--dbpath {self.member_dir(member) / 'db'}"

    def load(self) -> Cluster | None:
        try:
            return Cluster.from_json(self.state.read_text())
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            raise ClusterError(f"{self.state} is not a cluster's state ({exc}): remove it by hand") from exc

    def save(self, cluster: Cluster) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = self.state.with_suffix(".tmp")
        temporary.write_text(cluster.to_json())
        temporary.replace(self.state)

    def prepare_rabbit(self, cluster: Cluster) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        cookie = self.home / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(secrets.token_hex(20).upper())
            cookie.chmod(0o400)
        self.conf_env.write_text(RABBIT_ENV_FILE)
        self.config.write_text(rabbit_config(cluster.name))
        self.plugins.write_text("[].\n")
        for node in cluster.rabbit:
            for sub in ("mnesia", "log"):
                (self.node_dir(node) / sub).mkdir(parents=True, exist_ok=True)

    def remove(self) -> None:
        """Everything `up` put in ROOT (and ROOT itself when nothing else is left in it)."""
        for path in (self.rabbit, self.root / "mongodb"):
            shutil.rmtree(path, ignore_errors=True)
        self.state.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.root.rmdir()


# ---- RabbitMQ --------------------------------------------------------------------------------


def _clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}


def ctl_env(layout: Layout) -> dict[str, str]:
    """What rabbitmqctl needs to reach these nodes: the cookie (in HOME) and the env file."""
    return _clean_environ() | {"HOME": str(layout.home), "RABBITMQ_CONF_ENV_FILE": str(layout.conf_env)}


def rabbit_env(layout: Layout, node: RabbitNode) -> dict[str, str]:
    d = layout.node_dir(node)
    return ctl_env(layout) | {
        "RABBITMQ_CONFIG_FILE": str(layout.config),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(layout.plugins),
        "RABBITMQ_NODENAME": node.node,
        "RABBITMQ_NODE_IP_ADDRESS": HOST,
        "RABBITMQ_NODE_PORT": str(node.port),
        "RABBITMQ_DIST_PORT": str(node.dist_port),
        "RABBITMQ_MNESIA_BASE": str(d / "mnesia"),
        "RABBITMQ_LOG_BASE": str(d / "log"),
        "RABBITMQ_PID_FILE": str(d / "rabbitmq.pid"),
        "ERL_EPMD_ADDRESS": HOST,
    }


def rabbitmqctl(layout: Layout, node: str, *args: str, tool: str = "rabbitmqctl", timeout_s: float = 120) -> str:
    argv = [str(RABBIT_BIN / tool), "-q", "-n", node, *args]
    try:
        done = subprocess.run(argv, env=ctl_env(layout), capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise ClusterError(f"`{tool} -n {node} {' '.join(args)}` did not finish within {timeout_s:.0f} s") from exc
    if done.returncode != 0:
        raise ClusterError(f"`{tool} -n {node} {' '.join(args)}` failed: {(done.stderr or done.stdout).strip()}")
    return done.stdout


def start_rabbit(layout: Layout, node: RabbitNode) -> None:
    server = RABBIT_BIN / "rabbitmq-server"
    if not server.exists():
        raise ClusterError(f"no {server}: install Debian's rabbitmq-server (apt-get install -y rabbitmq-server)")
    if node.node.split("@")[0] in epmd_names():
        raise ClusterError(f"a node named {node.node} already runs on this machine (epmd knows it): use --name")
    for port in (node.port, node.dist_port):
        if not port_free(port):
            raise ClusterError(f"port {port} (for {node.node}) is in use: see `ss -ltnp`, pick others")
    (layout.node_dir(node) / "rabbitmq.pid").unlink(missing_ok=True)
    with (layout.node_dir(node) / "log" / "stdout.log").open("ab") as out:
        process = subprocess.Popen(
            [str(server)],
            env=rabbit_env(layout, node),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=layout.node_dir(node),
        )
    node.wrapper_pid, node.pid = process.pid, None
    say(f"started RabbitMQ node {node.node} on {node.address} (distribution {node.dist_port})")


def wait_rabbit_node(layout: Layout, node: RabbitNode, deadline: float) -> None:
    """Until the node's AMQP port answers; its beam.smp PID from the PID file."""
    pid_file = layout.node_dir(node) / "rabbitmq.pid"
    while True:
        if node.pid is None:
            with contextlib.suppress(OSError, ValueError):
                node.pid = int(pid_file.read_text().strip())
        if node.pid and answers(node.port):
            return
        if not (alive(node.pid, layout.rabbit_marker) or alive(node.wrapper_pid)):
            raise ClusterError(f"RabbitMQ node {node.node} exited; its log ends:\n{tail(layout.node_log(node))}")
        if time.monotonic() > deadline:
            raise ClusterError(f"RabbitMQ node {node.node} did not answer on {node.address} in time")
        time.sleep(0.2)


def cluster_members(layout: Layout, cluster: Cluster) -> set[str]:
    """The running nodes of the cluster as node 1 sees them."""
    out = rabbitmqctl(layout, cluster.rabbit[0].node, "cluster_status", "--formatter", "json")
    return set(json.loads(out).get("running_nodes", []))


def amqp_login(node: RabbitNode, timeout_s: float = 10.0) -> None:
    """Log in as guest on the node (the settings printed must work)."""
    import aio_pika

    async def login() -> None:
        connection = await aio_pika.connect(f"amqp://guest:guest@{node.address}/", timeout=timeout_s)
        await connection.close()

    try:
        asyncio.run(login())
    except Exception as exc:  # any failure to log in is reported as it came
        raise ClusterError(f"guest cannot log in on {node.node} ({node.address}): {exc!r}") from exc


def rabbit_ready(layout: Layout, cluster: Cluster, deadline: float, save: Callable[[], None]) -> None:
    for node in cluster.rabbit:
        wait_rabbit_node(layout, node, deadline)
    save()
    say("RabbitMQ: three nodes answer")
    first, joining = cluster.rabbit[0], [n for n in cluster.rabbit[1:] if not n.joined]
    first.joined = True
    for node in joining:
        began = time.monotonic()
        rabbitmqctl(layout, node.node, "stop_app")
        rabbitmqctl(layout, node.node, "join_cluster", first.node)
        rabbitmqctl(layout, node.node, "start_app")
        node.joined = True
        save()
        say(f"{node.node} joined {first.node} ({time.monotonic() - began:.1f} s)")
    if joining:
        running = cluster_members(layout, cluster)
        missing = {n.node for n in cluster.rabbit} - running
        if missing:
            raise ClusterError(f"RabbitMQ nodes not running in the cluster: {', '.join(sorted(missing))}")
    for node in cluster.rabbit:
        amqp_login(node)


# ---- MongoDB ---------------------------------------------------------------------------------


def start_mongod(layout: Layout, cluster: Cluster, member: MongoMember) -> None:
    from ops.mongod import mongod_argv

    if not port_free(member.port):
        raise ClusterError(f"port {member.port} (for mongod) is in use: see `ss -ltnp`, pick others")
    d = layout.member_dir(member)
    (d / "db").mkdir(parents=True, exist_ok=True)
    argv = mongod_argv(d / "db", member.port, d / "mongod.log", replica_set=cluster.name, cache_gb=CACHE_GB)
    with (d / "stderr.log").open("ab") as err:
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True
        )
    member.pid = process.pid
    say(f"started mongod on {member.address} (replica set {cluster.name})")


def _direct(port: int, timeout_ms: int) -> Any:
    from pymongo import MongoClient

    return MongoClient(
        f"mongodb://{HOST}:{port}/",
        directConnection=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=max(timeout_ms, 5000),
    )


def mongo_role(port: int, timeout_ms: int = 1000) -> str:
    """PRIMARY, SECONDARY, another replica-set state (STARTUP2, RECOVERING…), or `down`."""
    from pymongo.errors import OperationFailure, PyMongoError

    client = _direct(port, timeout_ms)
    try:
        hello = client.admin.command("hello")
        if hello.get("isWritablePrimary"):
            return "PRIMARY"
        if hello.get("secondary"):
            return "SECONDARY"
        try:
            return str(client.admin.command("replSetGetStatus").get("myStateStr", "STARTUP"))
        except OperationFailure as exc:
            return "UNINITIATED" if exc.code == NOT_YET_INITIALIZED else "STARTUP"
    except PyMongoError:
        return "down"
    finally:
        client.close()


def shutdown_mongod(port: int) -> None:
    """Ask a mongod to shut down cleanly, without waiting for a secondary to catch up (`force`): with SIGTERM
    the three shut down together and a primary waits 15 s for a secondary that is going too."""
    from pymongo.errors import PyMongoError

    client = _direct(port, 2000)
    try:
        client.admin.command({"shutdown": 1, "force": True, "timeoutSecs": 0})
    except PyMongoError:  # the connection drops as it goes, or it was not answering: SIGTERM follows
        pass
    finally:
        client.close()


def wait_member(layout: Layout, member: MongoMember, deadline: float, gone_checks: int = 5) -> None:
    """Until the member's port answers. It has exited only when it is seen gone `gone_checks` times in a row:
    just after its start, while the kernel is still in its exec, /proc/PID/cmdline can read empty, and the
    marker is not found there yet. (Read at once after `Popen`, it was empty 275 times in 300 here; a
    chaos run's `up` once failed on it.)"""
    gone = 0
    while not answers(member.port):
        gone = 0 if alive(member.pid, layout.member_marker(member)) else gone + 1
        if gone >= gone_checks:
            log = layout.member_dir(member) / "mongod.log"
            raise ClusterError(f"mongod on {member.address} exited; its log ends:\n{tail(log, 4)}")
        if time.monotonic() > deadline:
            raise ClusterError(f"mongod on {member.address} did not answer in time")
        time.sleep(0.1)


def mongo_ready(layout: Layout, cluster: Cluster, deadline: float) -> None:
    from pymongo.errors import OperationFailure

    for member in cluster.mongo:
        wait_member(layout, member, deadline)
    client = _direct(cluster.mongo[0].port, 10_000)
    try:
        try:
            client.admin.command("replSetGetStatus")
        except OperationFailure as exc:
            if exc.code != NOT_YET_INITIALIZED:
                raise
            config = replica_set_config(cluster.name, [m.port for m in cluster.mongo])
            client.admin.command("replSetInitiate", config)
            say(f"replica set {cluster.name} initiated")
    finally:
        client.close()
    while True:
        roles = sorted(mongo_role(m.port) for m in cluster.mongo)
        if roles == ["PRIMARY", "SECONDARY", "SECONDARY"]:
            say("MongoDB: a primary and two secondaries")
            return
        if time.monotonic() > deadline:
            raise ClusterError(f"the replica set did not settle in time: {roles}")
        time.sleep(0.2)


# ---- the commands ----------------------------------------------------------------------------


def up(
    root: Path,
    *,
    name: str | None = None,
    amqp_ports: Ports | None = None,
    dist_ports: Ports | None = None,
    mongo_ports: Ports | None = None,
    timeout_s: float = 240.0,
) -> list[str]:
    """Start whatever of the cluster is not running (all of it in a fresh ROOT), wait until all six
    nodes answer, and return the two settings lines."""
    began = time.monotonic()
    deadline = began + timeout_s
    layout = Layout(root)
    cluster = layout.load()
    if cluster is None:
        amqp = amqp_ports or DEFAULT_AMQP_PORTS
        cluster = Cluster.plan(
            check_name(name or DEFAULT_NAME),
            amqp,
            dist_ports or dist_ports_for(amqp),
            mongo_ports or DEFAULT_MONGO_PORTS,
        )
    else:
        held_amqp, held_dist, held_mongo = cluster.ports()
        asked = {"--name": (name, cluster.name), "--amqp-ports": (amqp_ports, held_amqp)}
        asked |= {"--dist-ports": (dist_ports, held_dist), "--mongo-ports": (mongo_ports, held_mongo)}
        differs = [option for option, (given, held) in asked.items() if given is not None and given != held]
        if differs:
            raise ClusterError(
                f"{root} holds a cluster with other {', '.join(differs)} ({cluster.name}: AMQP {held_amqp}, "
                f"distribution {held_dist}, MongoDB {held_mongo}): `louzhang cluster down --root {root}` first"
            )
    layout.prepare_rabbit(cluster)
    starting = [n for n in cluster.rabbit if not alive(n.pid, layout.rabbit_marker)]
    missing = [m for m in cluster.mongo if not alive(m.pid, layout.member_marker(m))]
    if not starting and not missing:
        say(f"already up in {root} (since {time.strftime('%H:%M:%S', time.localtime(cluster.started_at))})")
    try:
        for node in starting:
            start_rabbit(layout, node)
        for member in missing:
            start_mongod(layout, cluster, member)
    finally:
        layout.save(cluster)  # whatever started is recorded, so that `down` can stop it

    def save() -> None:
        layout.save(cluster)

    with ThreadPoolExecutor(1) as pool:
        mongo = pool.submit(mongo_ready, layout, cluster, deadline)
        try:
            rabbit_ready(layout, cluster, deadline, save)
        finally:
            save()
        mongo.result()
    say(f"all six nodes answer ({time.monotonic() - began:.1f} s); logs in {root}")
    return cluster.settings_lines()


def status(root: Path) -> tuple[list[str], bool]:
    """One line a node, and whether any node is up."""
    layout = Layout(root)
    cluster = layout.load()
    if cluster is None:
        return [], False
    running = [alive(n.pid, layout.rabbit_marker) and answers(n.port) for n in cluster.rabbit]
    with ThreadPoolExecutor(3) as pool:
        roles = list(
            pool.map(
                lambda m: mongo_role(m.port) if alive(m.pid, layout.member_marker(m)) else "down",
                cluster.mongo,
            )
        )
    lines = [rabbit_line(n, r) for n, r in zip(cluster.rabbit, running, strict=True)]
    lines += [mongo_line(m, role) for m, role in zip(cluster.mongo, roles, strict=True)]
    return lines, any(running) or any(role != "down" for role in roles)


def down(root: Path, *, keep_data: bool = False, grace_s: float = STOP_GRACE_S) -> bool:
    """Stop what `up` started: the mongods with `shutdown`, then every recorded PID with SIGTERM (a clean
    stop for both engines) and SIGKILL after `grace_s`; then remove ROOT's data unless kept. False when
    ROOT holds no cluster."""
    layout = Layout(root)
    cluster = layout.load()
    if cluster is None:
        return False
    began = time.monotonic()
    pids = [n.pid or 0 for n in cluster.rabbit] + [m.pid or 0 for m in cluster.mongo]
    markers = [layout.rabbit_marker] * 3 + [layout.member_marker(m) for m in cluster.mongo]
    with ThreadPoolExecutor(3) as pool:
        members = [m for m in cluster.mongo if alive(m.pid, layout.member_marker(m))]
        list(pool.map(lambda m: shutdown_mongod(m.port), members))
    killed = terminate(pids, markers, grace_s)
    # The rabbitmq-server scripts end with their node; one left over is ended too.
    terminate([n.wrapper_pid or 0 for n in cluster.rabbit], ["rabbitmq-server"] * 3, 5.0)
    if killed:
        say(f"killed (SIGKILL) after {grace_s:.0f} s: {', '.join(map(str, killed))}")
    say(f"stopped in {time.monotonic() - began:.1f} s")
    if keep_data:
        for node in cluster.rabbit:
            node.pid = node.wrapper_pid = None
        for member in cluster.mongo:
            member.pid = None
        layout.save(cluster)
        say(f"data kept in {root}")
    else:
        layout.remove()
        say(f"removed {root}")
    return True
