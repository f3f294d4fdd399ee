"""The cluster of a `--cluster` run: `ops.cluster`'s three RabbitMQ nodes and three-member replica set
(`louzhang cluster up`), on free ports in a folder of the run's own, and the node faults done to it.
Starting, restarting and stopping nodes is `ops.cluster`'s `up` and `down`; this module only picks the
ports, finds the node to hit and hits it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import secrets
import signal
import time
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from chaos.stack import Broker
from ops import cluster as engines
from ops.cluster import Cluster, ClusterError, Layout, MongoMember, RabbitNode

# Ports below Linux's ephemeral range (32768–60999): a node's port, free while the node is down, is then
# not taken by some client's outgoing connection before the node restarts.
PORT_RANGE = (20000, 32000)
STEP_DOWN_S = 30  # replSetStepDown: the old primary may not stand again for this long


def free_ports(count: int) -> list[int]:
    """`count` different ports in PORT_RANGE that nothing listens on now."""
    found: list[int] = []
    while len(found) < count:
        port = random.randrange(*PORT_RANGE)
        if port not in found and engines.port_free(port):
            found.append(port)
    return found


class ChaosCluster:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.layout = Layout(root)
        self.name = f"lzc{secrets.token_hex(3)}"
        ports = free_ports(9)
        self.amqp_ports = (ports[0], ports[1], ports[2])
        self.dist_ports = (ports[3], ports[4], ports[5])
        self.mongo_ports = (ports[6], ports[7], ports[8])

    # ---- life cycle ------------------------------------------------------

    def up(self, timeout_s: float = 300) -> None:
        engines.up(
            self.root,
            name=self.name,
            amqp_ports=self.amqp_ports,
            dist_ports=self.dist_ports,
            mongo_ports=self.mongo_ports,
            timeout_s=timeout_s,
        )

    def down(self, *, keep_data: bool) -> None:
        engines.down(self.root, keep_data=keep_data)

    def restart(self, timeout_s: float = 180) -> None:
        """Start again whatever node is not running (`up` does only that), and wait until all six answer.
        A node just killed may still be registered with epmd for a moment: `up` refuses it, and is retried."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                engines.up(self.root, timeout_s=max(10.0, deadline - time.monotonic()))
                return
            except ClusterError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def state(self) -> Cluster:
        cluster = self.layout.load()
        if cluster is None:
            raise RuntimeError(f"no cluster in {self.root}")
        return cluster

    @property
    def amqp_url(self) -> str:
        return self.state().amqp_url

    @property
    def mongo_url(self) -> str:
        return self.state().mongo_url

    def ctl(self, *args: str, timeout: float = 120) -> str:
        """`rabbitmqctl` against the first node that runs (another when that one is down)."""
        errors = []
        for node in self.state().rabbit:
            if not engines.alive(node.pid, self.layout.rabbit_marker):
                continue
            try:
                return engines.rabbitmqctl(self.layout, node.node, *args, timeout_s=timeout)
            except ClusterError as exc:
                errors.append(str(exc))
        raise RuntimeError(f"rabbitmqctl {' '.join(args)}: no node took it ({'; '.join(errors) or 'none runs'})")

    @property
    def broker(self) -> Broker:
        return Broker(self.amqp_url, self.ctl)

    # ---- state -----------------------------------------------------------

    def whole(self) -> bool:
        """All three RabbitMQ nodes run and answer; the replica set has a primary and two secondaries."""
        cluster, marker = self.state(), self.layout.rabbit_marker
        if not all(engines.alive(n.pid, marker) and engines.answers(n.port) for n in cluster.rabbit):
            return False
        return sorted(engines.mongo_role(m.port) for m in cluster.mongo) == ["PRIMARY", "SECONDARY", "SECONDARY"]

    async def wait_whole(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if await asyncio.to_thread(self.whole):
                return True
            await asyncio.sleep(0.5)
        return False

    def rabbit_node(self, address: str | None) -> RabbitNode:
        """The node at `host:port`, or node 1 when none is named."""
        nodes = self.state().rabbit
        return next((n for n in nodes if n.address == address), nodes[0])

    def primary(self) -> MongoMember:
        members = self.state().mongo
        found = [m for m in members if engines.mongo_role(m.port) == "PRIMARY"]
        if not found:
            raise RuntimeError("the replica set has no primary")
        return found[0]

    def quorum_members(self, vhost: str) -> tuple[int, int]:
        """(queues, of which quorum queues with all three nodes as members), on the live cluster."""
        listed: list[dict[str, Any]] = json.loads(
            self.ctl("list_queues", "-p", vhost, "name", "type", "members", "--formatter", "json", timeout=60)
        )
        nodes = {n.node for n in self.state().rabbit}
        return len(listed), sum(1 for q in listed if q.get("type") == "quorum" and set(q.get("members", [])) == nodes)

    # ---- faults ----------------------------------------------------------

    def kill_rabbit(self, node: RabbitNode) -> int | None:
        """SIGKILL the node's Erlang VM and the rabbitmq-server script that started it."""
        for pid, marker in ((node.pid, self.layout.rabbit_marker), (node.wrapper_pid, "rabbitmq-server")):
            if pid and engines.alive(pid, marker):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        return node.pid

    def stop_rabbit(self, node: RabbitNode) -> int | None:
        """A clean stop of the whole node (`rabbitmqctl shutdown`: the app, then the VM; it waits for both)."""
        engines.rabbitmqctl(self.layout, node.node, "shutdown", timeout_s=120)
        return node.pid

    def step_down(self, member: MongoMember) -> None:
        client: MongoClient[dict[str, Any]] = MongoClient(
            f"mongodb://{member.address}/", directConnection=True, serverSelectionTimeoutMS=5000
        )
        try:
            client.admin.command({"replSetStepDown": STEP_DOWN_S, "secondaryCatchUpPeriodSecs": 10})
        except PyMongoError as exc:
            # Older servers drop the connection as they step down; the role says whether it happened.
            if engines.mongo_role(member.port) == "PRIMARY":
                raise RuntimeError(f"replSetStepDown on {member.address} failed: {exc}") from exc
        finally:
            client.close()

    def kill_mongod(self, member: MongoMember) -> int | None:
        if member.pid and engines.alive(member.pid, self.layout.member_marker(member)):
            os.kill(member.pid, signal.SIGKILL)
        return member.pid
