"""Load: wrk (a Lua script posting unique issues) for throughput at saturation, and a paced
asyncio client for a fixed rate (wrk cannot pace and Debian has no wrk2). The paced client
writes raw HTTP/1.1 on keep-alive connections, so that at a few hundred requests a second it
costs the services' two cores little; wrk is C."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pymongo.database import Database

from bench.stack import SERVICES_CATALOGUE, all_buildings

Doc = dict[str, Any]

# Words the descriptions are made of, so that they differ as real ones do (intake compares each new
# description with the last 200 at the same building and service for possible duplicates).
WORDS = [
    "三楼消防通道被杂物堵塞",
    "地下车库照明损坏",
    "电梯运行时有异响",
    "卫生间漏水严重",
    "门禁系统无法识别",
    "空调外机噪音扰民",
    "停车位被长期占用",
    "企业申请人才公寓",
    "垃圾清运不及时",
    "外墙瓷砖有脱落风险",
    "办公区域网络中断",
    "物业费用存在争议",
    "消防栓箱内器材缺失",
    "楼道应急灯不亮",
    "供水压力不足",
    "希望协调办理营业执照变更",
]

LUA = r"""
-- Posts unique issues to /v1/issues: buildings and services in turn, a per-thread counter in
-- every title and description. Args: token tag buildings services words (comma-separated).
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local function split(text)
  local out = {}
  for item in string.gmatch(text, "[^,]+") do table.insert(out, item) end
  return out
end

local counter, seed = 0, 0

function init(args)
  accepted, refused = 0, 0
  tag = args[2]
  buildings, services, words = split(args[3]), split(args[4]), split(args[5])
  seed = tid * 7919
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. args[1]}
end

local function pick(list)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return list[(math.floor(seed / 65536) % #list) + 1]
end

function request()
  counter = counter + 1
  local text = pick(words) .. "，" .. pick(words) .. "，" .. pick(words) .. "，" .. pick(words)
  local body = string.format(
    '{"building_id":"%s","service_code":"%s","title":"压测 %s-%d-%d","description":"%s（编号 %s-%d-%d）"}',
    pick(buildings), pick(services), tag, tid, counter, text, tag, tid, counter)
  return wrk.format("POST", "/v1/issues", headers, body)
end

function response(status, headers, body)
  if status == 201 then accepted = accepted + 1 else refused = refused + 1 end
end

function done(summary, latency, requests)
  local a, r = 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("accepted")
    r = r + t:get("refused")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"accepted": %d, "refused": %d, "requests": %d, "duration_us": %.0f, ' ..
    '"p50_us": %.0f, "p90_us": %.0f, "p99_us": %.0f, "max_us": %.0f, "mean_us": %.1f, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    a, r, summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass
class WrkResult:
    url: str
    connections: int
    threads: int
    accepted: int
    refused: int
    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]
    started: datetime
    ended: datetime

    @property
    def rate(self) -> float:
        """Accepted (201) issues per second."""
        return self.accepted / self.duration_s if self.duration_s else 0.0


def wrk(
    binary: str,
    url: str,
    token: str,
    *,
    duration_s: float,
    tag: str,
    connections: int = 32,
    threads: int = 2,
) -> WrkResult:
    """Drive POST /v1/issues at `url` with wrk for `duration_s` seconds."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-", delete=False) as script:
        script.write(LUA)
    args = [
        token,
        tag,
        ",".join(all_buildings()),
        ",".join(code for code, _, _ in SERVICES_CATALOGUE),
        ",".join(WORDS),
    ]
    argv = [
        binary,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "10s",
        "-s",
        script.name,
        url,
        "--",
        *args,
    ]
    started = now_utc()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 60)
    finally:
        Path(script.name).unlink(missing_ok=True)
    ended = now_utc()
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-1500:]} {done.stderr[-1500:]}")
    data = json.loads(line.removeprefix("BENCH "))
    return WrkResult(
        url=url,
        connections=connections,
        threads=threads,
        accepted=data["accepted"],
        refused=data["refused"],
        requests=data["requests"],
        duration_s=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        errors=data["errors"],
        started=started,
        ended=ended,
    )


def now_utc() -> datetime:
    from kernel.times import utcnow

    return utcnow()


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


# ---- the paced client --------------------------------------------------------------------------------


@dataclass
class Sent:
    status: int
    latency_s: float
    late_s: float
    issue_id: str | None = None
    created_at: datetime | None = None


@dataclass
class PacedRun:
    rate: float
    duration_s: float
    sent: list[Sent] = field(default_factory=list)
    started: datetime | None = None
    ended: datetime | None = None

    @property
    def accepted(self) -> list[Sent]:
        return [s for s in self.sent if s.status == 201 and s.issue_id]

    @property
    def late(self) -> int:
        """Requests sent more than 10 ms after their slot (the client could not keep the pace)."""
        return sum(1 for s in self.sent if s.late_s > 0.010)


def body_for(tag: str, i: int) -> bytes:
    buildings = all_buildings()
    b = buildings[(i * 7) % len(buildings)]
    s = SERVICES_CATALOGUE[(i * 3) % len(SERVICES_CATALOGUE)][0]
    words = "，".join(WORDS[(i * k + k) % len(WORDS)] for k in (1, 3, 5, 11))
    doc = {"building_id": b, "service_code": s, "title": f"压测 {tag}-{i}", "description": f"{words}（编号 {tag}-{i}）"}
    return json.dumps(doc, ensure_ascii=False).encode()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep-alive) of one HTTP/1.1 response with a Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, keep = 0, True
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection" and value.strip().lower() == "close":
            keep = False
    return status, await reader.readexactly(length), keep


async def paced(url: str, token: str, *, rate: float, duration_s: float, tag: str) -> PacedRun:
    """POST `rate` issues a second for `duration_s` seconds, each at its own slot whatever the
    previous ones are doing (an open-loop load, as callers are)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    pool: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    run = PacedRun(rate=rate, duration_s=duration_s)
    prefix = (
        f"POST /v1/issues HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\n"
    ).encode()

    async def one(i: int, late: float) -> None:
        body = body_for(tag, i)
        request = prefix + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        began = time.perf_counter()
        try:
            reader, writer = pool.pop() if pool else await asyncio.open_connection(host, port)
            writer.write(request)
            status, answer, keep = await asyncio.wait_for(_read_response(reader), 30)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            run.sent.append(Sent(0, time.perf_counter() - began, late))
            return
        latency = time.perf_counter() - began
        if keep:
            pool.append((reader, writer))
        else:
            writer.close()
        sent = Sent(status, latency, late)
        if status == 201:
            doc = json.loads(answer)
            sent.issue_id, sent.created_at = doc["id"], datetime.fromisoformat(doc["created_at"])
        run.sent.append(sent)

    loop = asyncio.get_running_loop()
    tasks = []
    run.started = now_utc()
    start = loop.time()
    for i in range(int(rate * duration_s)):
        slot = start + i / rate
        delay = slot - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, max(0.0, loop.time() - slot))))
    await asyncio.gather(*tasks)
    run.ended = now_utc()
    for _, writer in pool:
        writer.close()
    return run


# ---- what reached the inboxes ----------------------------------------------------------------------------


def first_notifications(db: Database[Doc], issue_ids: Sequence[str]) -> dict[str, datetime]:
    """The first `issue.assigned` inbox item's created_at of each issue that has one."""
    out: dict[str, datetime] = {}
    for i in range(0, len(issue_ids), 5000):
        pipeline = [
            {"$match": {"event": "issue.assigned", "issue_id": {"$in": list(issue_ids[i : i + 5000])}}},
            {"$group": {"_id": "$issue_id", "first": {"$min": "$created_at"}}},
        ]
        out.update({d["_id"]: d["first"] for d in db["notify_inbox"].aggregate(pipeline)})
    return out


def notification_latencies(db: Database[Doc], run: PacedRun, timeout_s: float) -> tuple[list[float], int, int]:
    """POST → first notification, in seconds (inbox item created_at − issue created_at), waiting up
    to `timeout_s` for the stragglers; how many issues never got there in that time; and how many
    were still on their way when the sending stopped (a backlog: the rate is above capacity)."""
    wanted = {s.issue_id: s.created_at for s in run.accepted if s.issue_id and s.created_at}
    deadline = time.monotonic() + timeout_s
    found: dict[str, datetime] = {}
    while True:
        found = first_notifications(db, list(wanted))
        if len(found) >= len(wanted) or time.monotonic() > deadline:
            break
        time.sleep(1)
    latencies = [(found[k] - created).total_seconds() for k, created in wanted.items() if k in found and created]
    behind = sum(1 for k in wanted if k not in found or (run.ended is not None and found[k] > run.ended))
    return latencies, len(wanted) - len(found), behind


@dataclass
class Flow:
    """Issues per second reaching an inbox over a window, and how steady that was."""

    window_s: float
    issues: int
    rate: float
    buckets: list[float]
    submitted_rate: float


def inbox_flow(db: Database[Doc], start: datetime, end: datetime, bucket_s: float = 5.0) -> Flow:
    """Distinct issues whose first `issue.assigned` inbox item was written in [start, end)."""
    pipeline: list[Doc] = [
        {"$match": {"event": "issue.assigned", "created_at": {"$gte": start - timedelta(minutes=10), "$lt": end}}},
        {"$group": {"_id": "$issue_id", "first": {"$min": "$created_at"}}},
        {"$match": {"first": {"$gte": start, "$lt": end}}},
    ]
    firsts = [d["first"] for d in db["notify_inbox"].aggregate(pipeline)]
    window = (end - start).total_seconds()
    n_buckets = max(1, int(window // bucket_s))
    counts = [0] * n_buckets
    for t in firsts:
        k = int((t - start).total_seconds() // bucket_s)
        if k < n_buckets:
            counts[k] += 1
    submitted = db["intake_issues"].count_documents({"created_at": {"$gte": start, "$lt": end}})
    return Flow(
        window_s=window,
        issues=len(firsts),
        rate=len(firsts) / window if window else 0.0,
        buckets=[round(c / bucket_s, 1) for c in counts],
        submitted_rate=submitted / window if window else 0.0,
    )
