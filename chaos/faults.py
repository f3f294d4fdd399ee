"""The faults, spread over the run at fractions of its expected duration, one after another:
each waits until the system is ready again before the next may start. On a cluster (`--cluster`),
the node faults come between the services' SIGKILLs; each node fault holds its node down at least
`node_down_s` and until no service shows the loss, then brings it back, and waits until all three
RabbitMQ nodes run and the replica set has a primary and two secondaries."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from chaos.cluster import ChaosCluster
from chaos.figures import busiest
from chaos.stack import Stack
from ops.cluster import ClusterError

NODE_FAULTS = {
    "rabbitmq-kill": "SIGKILL a RabbitMQ node, then restart it",
    "rabbitmq-stop": "stop a RabbitMQ node (rabbitmqctl shutdown), then start it",
    "mongo-stepdown": "MongoDB primary steps down (replSetStepDown)",
    "mongo-kill": "SIGKILL the MongoDB primary, then restart it",
}


@dataclass
class Fault:
    at: float  # fraction of the expected load duration
    target: str  # an instance label, `mongod`, or `rabbitmq`
    started_s: float | None = None  # since the load began
    pid: int | None = None
    new_pid: int | None = None
    ready_after_s: float | None = None  # from the fault to every /readyz at 200 (and, on a cluster, all six nodes)
    error: str | None = None
    began_at: float | None = None  # on the monotonic clock, as the client's attempts
    node: str | None = None  # a node fault: the node hit (host:port)
    gone_after_s: float | None = None  # a node fault: until every /readyz is 200 and none names the node hit
    back_after_s: float | None = None  # a node fault: until the node is back and the cluster whole
    hit_s: float | None = None  # a node fault: how long the kill, stop or step-down itself took

    @property
    def is_node(self) -> bool:
        return self.target in NODE_FAULTS

    @property
    def name(self) -> str:
        if self.is_node:
            return NODE_FAULTS[self.target] + (f" ({self.node})" if self.node else "")
        if self.target == "rabbitmq":
            return "restart RabbitMQ (stop_app, start_app)"
        return f"SIGKILL {self.target}"


def schedule(replicas: bool) -> list[Fault]:
    services = ["intake", "routing", "notify", "reporting"]
    if replicas:
        services = ["intake", "routing", "routing-2", "notify", "notify-2", "reporting"]
    step = 0.75 / (len(services) + 2)
    targets = [*services, "rabbitmq", "mongod"]
    return [Fault(at=0.08 + i * step, target=t) for i, t in enumerate(targets)]


def schedule_cluster(replicas: bool) -> list[Fault]:
    """The four node faults, each followed by a service's SIGKILL (the rest of the services after)."""
    services = ["intake", "routing", "notify", "reporting"]
    if replicas:
        services = ["intake", "routing", "routing-2", "notify", "notify-2", "reporting"]
    nodes = list(NODE_FAULTS)
    targets = [t for pair in zip(nodes, services, strict=False) for t in pair] + services[len(nodes) :]
    step = 0.8 / len(targets)
    return [Fault(at=0.05 + i * step, target=t) for i, t in enumerate(targets)]


async def rabbitmqctl(command: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        "rabbitmqctl", "-q", command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(proc.communicate(), 120)
    if proc.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {command} failed: {err.decode(errors='replace').strip()}")


async def inject(fault: Fault, stack: Stack, *, broker_down_s: float) -> None:
    if fault.target == "rabbitmq":
        # The machine's broker: every other user of it sees this restart too.
        await rabbitmqctl("stop_app")
        try:
            await asyncio.sleep(broker_down_s)
        finally:
            await rabbitmqctl("start_app")
        return
    fault.pid = await asyncio.to_thread(stack.pid_of, fault.target)
    if fault.pid is None:
        raise RuntimeError(f"no running {fault.target} found")
    os.kill(fault.pid, signal.SIGKILL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = await asyncio.to_thread(stack.pid_of, fault.target)
        if found not in (None, fault.pid):
            fault.new_pid = found
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{fault.target} was not restarted within 120s")


async def until(check: Callable[[], Awaitable[bool]], timeout_s: float, began: float) -> float | None:
    """Seconds from `began` until `check` holds; None if not within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return time.monotonic() - began
        await asyncio.sleep(0.2)
    return None


async def inject_node(fault: Fault, stack: Stack, cluster: ChaosCluster, *, node_down_s: float) -> None:
    began = time.monotonic()
    async with httpx.AsyncClient(timeout=2) as client:
        if fault.target.startswith("rabbitmq"):
            # The node most services are on: its loss shows the most.
            states = await stack.readiness(client)
            node = cluster.rabbit_node(busiest(s.get("broker_node") for s in states if s))
            fault.node = node.address
            hit = cluster.kill_rabbit if fault.target == "rabbitmq-kill" else cluster.stop_rabbit
            fault.pid = await asyncio.to_thread(hit, node)
            fault.hit_s = time.monotonic() - began

            def shows(state: dict[str, Any]) -> bool:
                return state.get("broker_node") != node.address
        else:
            member = await asyncio.to_thread(cluster.primary)
            fault.node = member.address
            if fault.target == "mongo-kill":
                fault.pid = await asyncio.to_thread(cluster.kill_mongod, member)
            else:
                await asyncio.to_thread(cluster.step_down, member)
            fault.hit_s = time.monotonic() - began

            def shows(state: dict[str, Any]) -> bool:
                return state.get("mongo_primary") not in (None, member.address)

        async def gone() -> bool:
            return all(s is not None and shows(s) for s in await stack.readiness(client))

        fault.gone_after_s = await until(gone, 120, began)
    if fault.target != "mongo-stepdown":
        await asyncio.sleep(max(0.0, began + node_down_s - time.monotonic()))
        await asyncio.to_thread(cluster.restart)
    fault.back_after_s = time.monotonic() - began if await cluster.wait_whole(180) else None
    if fault.gone_after_s is None:
        raise RuntimeError(f"the loss of {fault.node} still showed after 120s")


async def run(
    faults: list[Fault],
    stack: Stack,
    *,
    duration_s: float,
    broker_down_s: float,
    cluster: ChaosCluster | None = None,
    node_down_s: float = 5.0,
    log: bool = True,
) -> None:
    start = time.monotonic()
    for fault in faults:
        await asyncio.sleep(max(0.0, start + fault.at * duration_s - time.monotonic()))
        fault.started_s = time.monotonic() - start
        began = fault.began_at = time.monotonic()
        try:
            if fault.is_node:
                assert cluster is not None, "node faults need --cluster"
                await inject_node(fault, stack, cluster, node_down_s=node_down_s)
            else:
                await inject(fault, stack, broker_down_s=broker_down_s)
        except (OSError, RuntimeError, TimeoutError, ClusterError) as exc:
            fault.error = str(exc)
        ready = await stack.wait_ready(timeout_s=180)
        if ready is not None and cluster is not None and not await cluster.wait_whole(180):
            ready = None
        fault.ready_after_s = None if ready is None else time.monotonic() - began
        if log:
            print(f"[{fault.started_s:6.1f}s] {describe(fault)}", flush=True)


def describe(fault: Fault) -> str:
    pids = f" (pid {fault.pid} → {fault.new_pid})" if fault.pid and fault.new_pid else ""
    ready = "not ready again within 180s" if fault.ready_after_s is None else f"ready {fault.ready_after_s:.1f}s later"
    if fault.is_node:
        gone = "still shown" if fault.gone_after_s is None else f"{fault.gone_after_s:.1f}s"
        back = "not whole" if fault.back_after_s is None else f"{fault.back_after_s:.1f}s"
        hit = f"done in {fault.hit_s:.1f}s, " if fault.hit_s is not None else ""
        ready += f" ({hit}loss no longer shown after {gone}, cluster whole after {back})"
    return f"{fault.name}{pids}: {ready}" + (f"; ERROR {fault.error}" if fault.error else "")
