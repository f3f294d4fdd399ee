"""`make run` (the `louzhang run` supervisor) on a fresh data folder: everything up,
the demo directory loaded, a crashed service or MongoDB restarted, nothing left behind."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.servers import SERVICES, Vhost, eventually, free_port


def read_proc(path: str) -> str | None:
    """A /proc file's text, or None when its process or thread is gone. Read it, never check first:
    a thread can exit between an `exists()` and the read."""
    try:
        return Path(path).read_bytes().decode(errors="replace")
    except OSError:  # FileNotFoundError, or ProcessLookupError (ESRCH) for a process being reaped
        return None


def tasks(pid: int) -> list[str]:
    try:
        return [entry.name for entry in Path(f"/proc/{pid}/task").iterdir()]
    except OSError:
        return []


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    stack = [pid]
    while stack:
        current = stack.pop()
        for tid in tasks(current):
            children = (read_proc(f"/proc/{current}/task/{tid}/children") or "").split()
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    stack.append(child)
    return found


def command_of(pid: int) -> str:
    return (read_proc(f"/proc/{pid}/cmdline") or "").replace("\0", " ")


def alive(pid: int) -> bool:
    stat = read_proc(f"/proc/{pid}/stat")
    # The state follows the command name, which is in parentheses and may hold spaces.
    return stat is not None and stat.rsplit(")", 1)[-1].split()[0] != "Z"


def kill(pid: int) -> None:
    """SIGKILL, for a process that may have exited since it was found."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


class Run:
    def __init__(self, root: Path, vhost: Vhost) -> None:
        self.root = root
        self.ports = {name: free_port() for name in SERVICES}
        self.mongo_port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOUZHANG_")}
        env.update(
            {
                "LOUZHANG_AMQP_URL": vhost.url,
                "LOUZHANG_MONGO_URL": f"mongodb://127.0.0.1:{self.mongo_port}/?replicaSet=rs0",
                **{f"LOUZHANG_{n.upper()}_PORT": str(p) for n, p in self.ports.items()},
            }
        )
        self.log = (root / "run.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "run", "--root", str(root)],
            env=env,
            cwd=root,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def ready(self) -> bool:
        return all(httpx.get(f"http://127.0.0.1:{p}/readyz", timeout=3).status_code == 200 for p in self.ports.values())

    def child(self, needle: str) -> int | None:
        return next((pid for pid in descendants(self.process.pid) if needle in command_of(pid)), None)

    def output(self) -> str:
        return (self.root / "run.log").read_text(errors="replace")


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    vhost = Vhost()
    vhost.create()
    started = Run(tmp_path, vhost)
    try:
        yield started
    finally:
        if started.process.poll() is None:
            started.process.kill()
            for pid in descendants(started.process.pid):
                kill(pid)
        vhost.delete()


def test_make_run_starts_everything_restarts_what_dies_and_stops_cleanly(run: Run) -> None:
    eventually(run.ready, timeout=180, every=0.5, what="all four /readyz at 200")
    secrets = dict(line.split("=", 1) for line in (run.root / "data" / "secrets.env").read_text().split())
    token = secrets["LOUZHANG_ADMIN_TOKEN"]
    eventually(lambda: f"admin token: {token}" in run.output(), what="the admin token printed")
    auth = {"Authorization": f"Bearer {token}"}
    directory = httpx.get(f"http://127.0.0.1:{run.ports['routing']}/v1/directory", headers=auth).json()
    assert len(directory["buildings"]) == 103, "the demo Putuo directory is loaded"

    for needle in ("serve intake", "bin/mongod"):
        pid = run.child(needle)
        assert pid is not None, needle
        kill(pid)
        eventually(lambda n=needle, p=pid: run.child(n) not in (None, p), timeout=30, what=f"{needle} restarted")
    eventually(run.ready, timeout=90, every=0.5, what="ready again")

    issue = httpx.post(
        f"http://127.0.0.1:{run.ports['intake']}/v1/issues",
        headers=auth,
        json={"building_id": "B001", "service_code": "talent", "title": "人才公寓", "description": "申请"},
    )
    assert issue.status_code == 201, issue.text
    eventually(
        lambda: (
            httpx.get(f"http://127.0.0.1:{run.ports['intake']}/v1/issues/{issue.json()['id']}", headers=auth).json()[
                "status"
            ]
            == "assigned"
        ),
        what="assigned after the restarts",
    )

    children = descendants(run.process.pid)
    assert len(children) >= 5
    run.process.send_signal(signal.SIGTERM)
    assert run.process.wait(60) == 0
    eventually(lambda: not any(alive(pid) for pid in children), timeout=10, what="no process left behind")
