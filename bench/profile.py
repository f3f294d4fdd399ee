"""py-spy against the running services during load (`--profile`): collapsed stacks per service
(open them in speedscope, or flamegraph.pl), and where each service's CPU samples go."""

from __future__ import annotations

import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

# Where a sample's time is charged: the innermost frame whose file matches one of these (in this
# order), so that time spent in asyncio on behalf of pymongo counts as pymongo.
CATEGORIES = [
    ("duplicate check (rapidfuzz, unicodedata)", ("rapidfuzz/", "intake/issues/duplicates.py")),
    ("pymongo + bson", ("pymongo/", "bson/")),
    ("aio-pika + aiormq + pamqp (AMQP)", ("aio_pika/", "aiormq/", "pamqp/")),
    ("pydantic", ("pydantic/", "pydantic_core/")),
    ("fastapi + starlette", ("fastapi/", "starlette/")),
    ("uvicorn + httptools", ("uvicorn/", "httptools/")),
    ("prometheus_client", ("prometheus_client/",)),
    ("json", ("json/",)),
    ("louzhang's own code", ("louzhang/", "intake/", "routing/", "notify/", "reporting/")),
    ("asyncio + uvloop", ("asyncio/", "uvloop/")),
]
OTHER = "other"


def record(py_spy: str, pids: dict[str, int], seconds: float, out: Path) -> dict[str, subprocess.Popen[bytes]]:
    """Start one `py-spy record` per process (collapsed stacks, 100 Hz, without pausing it)."""
    out.mkdir(parents=True, exist_ok=True)
    procs = {}
    for name, pid in pids.items():
        argv = [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            "100",
            "--format",
            "raw",
            "--nonblocking",
            "--output",
            str(out / f"{name}.txt"),
        ]
        procs[name] = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return procs


def stop(proc: subprocess.Popen[bytes], timeout_s: float = 60) -> str:
    """End a recording now (py-spy writes its output on SIGINT); its error output, if it failed."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err.decode(errors="replace")[-300:] if proc.returncode else ""


def _path(frame: str) -> str:
    """`submit (intake/issues/router.py:40)` → `intake/issues/router.py` (py-spy shortens
    site-packages paths to the package's own)."""
    return frame.rpartition(" (")[2].rstrip(")").rsplit(":", 1)[0]


def category(stack: list[str]) -> str:
    """The first category, innermost frame first, whose package the frame's file is in."""
    for frame in reversed(stack):
        path = _path(frame)
        for label, packages in CATEGORIES:
            if any(path.startswith(p) or f"/{p}" in path for p in packages):
                return label
    return OTHER


def leaf(frame: str) -> str:
    """`submit (intake/issues/router.py:40)` → `submit (intake/issues/router.py)`."""
    return f"{frame.rpartition(' (')[0]} ({_path(frame)})"


def summarize(path: Path, top: int = 8) -> dict[str, Any]:
    """Samples, the share of each category, and the functions most often on top of the stack."""
    categories: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    if not path.exists():
        return {"samples": 0}
    for line in path.read_text(errors="replace").splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not stack_text or not count_text.isdigit():
            continue
        count = int(count_text)
        stack = stack_text.split(";")
        total += count
        categories[category(stack)] += count
        leaves[leaf(stack[-1])] += count
    return {
        "samples": total,
        "categories": {k: round(v / total, 3) for k, v in categories.most_common()} if total else {},
        "top_functions": {k: round(v / total, 3) for k, v in leaves.most_common(top)} if total else {},
    }
