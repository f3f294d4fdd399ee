"""The faults, spread over the run at fractions of its expected duration, one after another:
each waits until the system is ready again before the next may start."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import dataclass

from chaos.stack import Stack


@dataclass
class Fault:
    at: float  # fraction of the expected load duration
    target: str  # an instance label, `mongod`, or `rabbitmq`
    started_s: float | None = None  # since the load began
    pid: int | None = None
    new_pid: int | None = None
    ready_after_s: float | None = None  # from the fault to every /readyz at 200
    error: str | None = None

    @property
    def name(self) -> str:
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


async def run(faults: list[Fault], stack: Stack, *, duration_s: float, broker_down_s: float, log: bool = True) -> None:
    start = time.monotonic()
    for fault in faults:
        await asyncio.sleep(max(0.0, start + fault.at * duration_s - time.monotonic()))
        fault.started_s = time.monotonic() - start
        began = time.monotonic()
        try:
            await inject(fault, stack, broker_down_s=broker_down_s)
        except (OSError, RuntimeError, TimeoutError) as exc:
            fault.error = str(exc)
        ready = await stack.wait_ready(timeout_s=180)
        fault.ready_after_s = None if ready is None else time.monotonic() - began
        if log:
            print(f"[{fault.started_s:6.1f}s] {describe(fault)}", flush=True)


def describe(fault: Fault) -> str:
    pids = f" (pid {fault.pid} → {fault.new_pid})" if fault.pid else ""
    ready = "not ready again within 180s" if fault.ready_after_s is None else f"ready {fault.ready_after_s:.1f}s later"
    return f"{fault.name}{pids}: {ready}" + (f"; ERROR {fault.error}" if fault.error else "")
