"""`louzhang cluster up|status|down` on the real engines: three RabbitMQ nodes (Debian's rabbitmq-server,
beside the machine's broker) and three mongod, on free ports in a temporary folder. A quorum queue is
replicated on the three nodes of the live cluster; a majority write succeeds; `down` leaves nothing.

Starting a cluster takes most of a minute here: this module runs in `make cluster-test`, not in
`make test`."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aio_pika
import httpx
import pytest
from pymongo import MongoClient

from ops.cluster import Layout, alive, rabbitmqctl
from tests.support.directory import receivers_allow, small_directory
from tests.support.servers import Stack, eventually, own_stack

pytestmark = pytest.mark.cluster


def free_ports(n: int) -> list[int]:
    """n different free loopback ports (held together while chosen, so none repeats)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]


def louzhang(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOUZHANG_")}
    return subprocess.run(
        [sys.executable, "-m", "ops.cli", "cluster", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@dataclass
class Up:
    root: Path
    name: str
    amqp: list[int]
    mongo: list[int]
    done: subprocess.CompletedProcess[str]
    seconds: float

    @property
    def args(self) -> list[str]:
        return ["--root", str(self.root)]

    @property
    def nodes(self) -> list[str]:
        return [f"{self.name}{i}@localhost" for i in (1, 2, 3)]

    def state(self) -> dict[str, list[dict[str, int]]]:
        return json.loads((self.root / "state.json").read_text())  # type: ignore[no-any-return]

    def pids(self) -> list[int]:
        state = self.state()
        return (
            [n["pid"] for n in state["rabbit"]]
            + [n["wrapper_pid"] for n in state["rabbit"]]
            + [m["pid"] for m in state["mongo"]]
        )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    root = tmp_path_factory.mktemp("cluster") / "data"
    ports = free_ports(9)
    amqp, dist, mongo = ports[0:3], ports[3:6], ports[6:9]
    name = f"lzt{secrets.token_hex(3)}"
    began = time.monotonic()
    done = louzhang(
        "up",
        "--root", str(root),
        "--name", name,
        "--amqp-ports", ",".join(map(str, amqp)),
        "--dist-ports", ",".join(map(str, dist)),
        "--mongo-ports", ",".join(map(str, mongo)),
    )  # fmt: skip
    up = Up(root, name, amqp, mongo, done, time.monotonic() - began)
    print(f"cluster up took {up.seconds:.1f} s", file=sys.stderr)
    try:
        yield up
    finally:
        louzhang("down", *up.args)  # whatever a failed test left


def expected_lines(up: Up) -> list[str]:
    hosts = ",".join(f"127.0.0.1:{p}" for p in up.amqp)
    members = ",".join(f"127.0.0.1:{p}" for p in up.mongo)
    return [
        f"LOUZHANG_AMQP_URL=amqp://guest:guest@{hosts}/",
        f"LOUZHANG_MONGO_URL=mongodb://{members}/?replicaSet={up.name}",
    ]


def test_up_prints_the_two_settings_and_returns(cluster: Up) -> None:
    assert cluster.done.returncode == 0, cluster.done.stderr
    assert cluster.done.stdout.splitlines() == expected_lines(cluster)
    assert "all six nodes answer" in cluster.done.stderr
    assert all(alive(pid) for pid in cluster.pids()), "the nodes keep running once `up` has returned"


def test_status_lists_three_running_nodes_a_primary_and_two_secondaries(cluster: Up) -> None:
    done = louzhang("status", *cluster.args)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 6, lines
    state = cluster.state()
    for line, node, port, recorded in zip(lines[:3], cluster.nodes, cluster.amqp, state["rabbit"], strict=True):
        assert line == f"rabbitmq {node} 127.0.0.1:{port} pid={recorded['pid']} running"
    roles = []
    for line, port, recorded in zip(lines[3:], cluster.mongo, state["mongo"], strict=True):
        found = re.fullmatch(rf"mongodb 127\.0\.0\.1:{port} pid={recorded['pid']} (PRIMARY|SECONDARY)", line)
        assert found, line
        roles.append(found.group(1))
    assert sorted(roles) == ["PRIMARY", "SECONDARY", "SECONDARY"]


def test_up_again_reports_and_prints_the_same_settings(cluster: Up) -> None:
    pids = cluster.pids()
    done = louzhang("up", *cluster.args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == expected_lines(cluster)
    assert "already up" in done.stderr
    assert cluster.pids() == pids, "nothing was started again"


async def test_a_quorum_queue_is_replicated_on_the_three_nodes(cluster: Up) -> None:
    queue = f"cluster-test-{secrets.token_hex(4)}"
    second = await aio_pika.connect(f"amqp://guest:guest@127.0.0.1:{cluster.amqp[1]}/", timeout=10)
    async with second:
        channel = await second.channel()
        declared = await channel.declare_queue(queue, durable=True, arguments={"x-queue-type": "quorum"})
        await channel.default_exchange.publish(
            aio_pika.Message(b"through node 2", delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=queue
        )
    # The live cluster, not the declaration: every node is a member of the queue's Raft group.
    listed = json.loads(
        rabbitmqctl(
            Layout(cluster.root), cluster.nodes[0], "list_queues", "name", "type", "members", "--formatter", "json"
        )
    )
    (found,) = [q for q in listed if q["name"] == queue]
    assert found["type"] == "quorum"
    assert sorted(found["members"]) == sorted(cluster.nodes)
    # And what went in through node 2 comes out through node 3.
    third = await aio_pika.connect(f"amqp://guest:guest@127.0.0.1:{cluster.amqp[2]}/", timeout=10)
    async with third:
        channel = await third.channel()
        declared = await channel.declare_queue(queue, passive=True)
        message = await declared.get(timeout=10)
        assert message.body == b"through node 2"
        await message.ack()
        await declared.delete(if_unused=False, if_empty=False)


def test_a_majority_write_succeeds_and_reaches_every_member(cluster: Up) -> None:
    url = expected_lines(cluster)[1].split("=", 1)[1]
    client: MongoClient[dict[str, object]] = MongoClient(url, w="majority", wTimeoutMS=10_000)
    marker = secrets.token_hex(6)
    try:
        config = client.admin.command("replSetGetConfig")["config"]
        assert config["settings"]["electionTimeoutMillis"] == 2000
        assert config["settings"]["heartbeatIntervalMillis"] == 500
        assert client["cluster_test"]["writes"].insert_one({"_id": marker}).acknowledged
    finally:
        client.close()
    for port in cluster.mongo:
        member: MongoClient[dict[str, object]] = MongoClient(f"mongodb://127.0.0.1:{port}/", directConnection=True)
        try:
            eventually(lambda m=member: m["cluster_test"]["writes"].find_one({"_id": marker}), what=f"on {port}")
        finally:
            member.close()


def submit_until_taken(stack: Stack, token: str, title: str, deadline_s: float = 30.0) -> tuple[str, float]:
    """POST an issue (the same Idempotency-Key each try) until a 201; its id and how long it was refused."""
    body = {"building_id": "B1", "service_code": "talent", "title": title, "description": title}
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": secrets.token_hex(8)}
    began = time.monotonic()
    while time.monotonic() - began < deadline_s:
        with contextlib.suppress(httpx.HTTPError):
            r = httpx.post(f"{stack.url('intake')}/v1/issues", json=body, headers=headers, timeout=10)
            if r.status_code == 201:
                return str(r.json()["id"]), time.monotonic() - began
        time.sleep(0.1)
    raise AssertionError(f"{title}: refused for {deadline_s} s")


def test_the_stack_rides_the_loss_of_its_broker_node_and_of_the_primary(cluster: Up) -> None:
    amqp_url, mongo_url = (line.split("=", 1)[1] for line in expected_lines(cluster))
    env = {"LOUZHANG_RATE_LIMIT_PER_MIN": "0", "LOUZHANG_OUTBOUND_ALLOW": receivers_allow()}
    with own_stack(mongo_url, amqp_url, env, small_directory()) as stack:
        officer = httpx.post(
            f"{stack.url('routing')}/v1/tokens",
            json={"kind": "staff", "subject": "S06"},
            headers={"Authorization": f"Bearer {stack.admin_token}"},
        ).json()["token"]

        def delivered(issue_id: str) -> bool:
            items = httpx.get(f"{stack.url('notify')}/v1/inbox", headers={"Authorization": f"Bearer {officer}"})
            return any(i["issue_id"] == issue_id for i in items.json()["items"])

        # The broker node intake is connected to dies (SIGKILL): intake moves to another and goes on.
        node = httpx.get(f"{stack.url('intake')}/readyz").json()["broker_node"]
        [victim] = [n for n in cluster.state()["rabbit"] if f"127.0.0.1:{n['port']}" == node]
        for pid in (victim["pid"], victim["wrapper_pid"]):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        issue_id, refused_s = submit_until_taken(stack, stack.admin_token, "节点故障中提交")
        print(f"broker node {node} killed: submissions refused for {refused_s:.1f} s", file=sys.stderr)
        eventually(lambda: delivered(issue_id), timeout=60, what="in the inbox after the broker node died")
        moved = eventually(
            lambda: (n := httpx.get(f"{stack.url('intake')}/readyz").json()["broker_node"]) != node and n,
            timeout=30,
            what="intake on another node",
        )
        assert moved in [f"127.0.0.1:{p}" for p in cluster.amqp]

        # The primary dies (SIGKILL) while an issue is submitted: stored once, and it reaches the inbox.
        primary = httpx.get(f"{stack.url('intake')}/readyz").json()["mongo_primary"]
        [member] = [m for m in cluster.state()["mongo"] if f"127.0.0.1:{m['port']}" == primary]
        os.kill(member["pid"], signal.SIGKILL)
        issue_id, refused_s = submit_until_taken(stack, stack.admin_token, "主节点故障中提交")
        print(f"mongod primary {primary} killed: submissions refused for {refused_s:.1f} s", file=sys.stderr)
        eventually(lambda: delivered(issue_id), timeout=60, what="in the inbox after the primary died")
        stored = stack.database()["intake_issues"].count_documents({"title": "主节点故障中提交"})
        assert stored == 1
        assert eventually(
            lambda: (
                (p := httpx.get(f"{stack.url('intake')}/readyz").json()["mongo_primary"]) not in (None, primary) and p
            ),
            timeout=30,
            what="a new primary",
        )


def test_down_stops_every_process_and_removes_the_folder(cluster: Up) -> None:
    pids = cluster.pids()
    done = louzhang("down", *cluster.args)
    assert done.returncode == 0, done.stderr
    assert [pid for pid in pids if alive(pid)] == []
    assert not cluster.root.exists()
    later = louzhang("status", *cluster.args)
    assert later.returncode == 1
    assert later.stdout == ""
