"""Inbox streams on the real servers: 200 open at once on one notify process, the caps (429),
`/readyz` and `/v1/inbox` answering meanwhile, one notification reaching every listener; what
is refused before a stream starts (Last-Event-ID, a staff_id naming nobody)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.api import Api
from tests.support.servers import eventually, until

PER_STAFF = 100
PER_PROCESS = 200
# B2's heads (S07 and S08) hear of every `talent` issue there, at once, by inbox only.
TALENT_AT_B2 = {"building_id": "B2", "service_code": "talent", "title": "人才公寓申请"}


@dataclass
class Stream:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    status: int

    async def next_event(self) -> dict[str, str]:
        """The next event (comment lines as "comment"), as its fields."""
        event: dict[str, str] = {}
        while True:
            line = (await self.reader.readline()).decode().rstrip("\r\n")
            if not line:
                if event:
                    return event
                if self.reader.at_eof():
                    raise EOFError("the stream ended")
                continue
            name, _, value = line.partition(":")
            event[name or "comment"] = value.strip()

    async def until_issue(self, issue_id: str) -> dict[str, str]:
        while True:
            event = await self.next_event()
            if event.get("event") == "notification" and issue_id in event.get("data", ""):
                return event

    def close(self) -> None:
        self.writer.close()


async def open_stream(base: str, token: str, headers: dict[str, str] | None = None) -> Stream:
    """A raw HTTP/1.1 stream request (chunked replies are read line by line: the chunk sizes
    come through as lines of their own and are skipped as unknown fields)."""
    where = urlsplit(base)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    lines = [
        "GET /v1/inbox/stream HTTP/1.1",
        f"Host: {where.netloc}",
        f"Authorization: Bearer {token}",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    return Stream(reader, writer, status)


def open_streams(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    match = re.search(r"^louzhang_inbox_streams (\S+)$", text, re.M)
    assert match, "notify's /metrics has louzhang_inbox_streams"
    return float(match.group(1))


@pytest.fixture(scope="module")
def capped(api: Api) -> Iterator[str]:
    """A notify process of its own with test-sized caps and a half-second heartbeat."""
    env = {
        "LOUZHANG_INBOX_STREAMS_PER_STAFF": str(PER_STAFF),
        "LOUZHANG_INBOX_STREAMS_PER_PROCESS": str(PER_PROCESS),
        "LOUZHANG_INBOX_HEARTBEAT_S": "0.5",
    }
    url = api.stack.start_replica("notify", "notify-streams", env=env)
    try:
        eventually(lambda: httpx.get(f"{url}/readyz").status_code == 200, what="the capped notify ready")
        yield url
    finally:
        api.stack.kill("notify-streams")


@contextlib.asynccontextmanager
async def streams(base: str, token: str, count: int) -> AsyncIterator[list[Stream]]:
    opened: list[Stream] = []
    try:
        opened.extend(await asyncio.gather(*(open_stream(base, token) for _ in range(count))))
        yield opened
    finally:
        for stream in opened:
            stream.close()


async def test_two_hundred_streams_the_caps_and_the_service_still_answering(api: Api, capped: str) -> None:
    s07, s08, s09 = (api.token_for("staff", s) for s in ("S07", "S08", "S09"))
    await until(lambda: asyncio.to_thread(lambda: open_streams(capped) == 0), what="no stream left open")
    async with streams(capped, s07, PER_STAFF) as first:
        assert [s.status for s in first] == [200] * PER_STAFF
        # One more for the same person passes the per-staff cap.
        over = await asyncio.to_thread(
            httpx.get, f"{capped}/v1/inbox/stream", headers={"Authorization": f"Bearer {s07}"}, timeout=10
        )
        assert over.status_code == 429, over.text
        assert int(over.headers["retry-after"]) >= 1 and f"{PER_STAFF} inbox streams" in over.json()["detail"]

        async with streams(capped, s08, PER_STAFF) as second:
            assert [s.status for s in second] == [200] * PER_STAFF
            assert await asyncio.to_thread(open_streams, capped) == PER_PROCESS
            # Someone else's first stream passes the per-process cap.
            beyond = await asyncio.to_thread(
                httpx.get, f"{capped}/v1/inbox/stream", headers={"Authorization": f"Bearer {s09}"}, timeout=10
            )
            assert beyond.status_code == 429 and "in this process" in beyond.json()["detail"]
            assert int(beyond.headers["retry-after"]) >= 1

            # The process still answers everything else (a stream holds no database connection).
            ready = await asyncio.to_thread(httpx.get, f"{capped}/readyz", timeout=10)
            assert ready.status_code == 200, ready.text
            inbox = await asyncio.to_thread(
                httpx.get, f"{capped}/v1/inbox", headers={"Authorization": f"Bearer {s07}"}, timeout=10
            )
            assert inbox.status_code == 200 and "items" in inbox.json()

            # One notification reaches every open listener.
            issue = TALENT_AT_B2 | {"description": uuid.uuid4().hex}
            created = await asyncio.to_thread(api.post, "intake", "/v1/issues", json=issue)
            assert created.status_code == 201, created.text
            issue_id = created.json()["id"]
            events = await asyncio.wait_for(
                asyncio.gather(*(s.until_issue(issue_id) for s in [*first, *second])), timeout=60
            )
            assert len(events) == PER_PROCESS
            assert all(e["id"] and issue_id in e["data"] for e in events)
            # An idle stream says something every heartbeat, by which a dead client is noticed.
            assert (await first[0].next_event()).get("comment") == "heartbeat"

    # Closed streams are dropped: their places are free again.
    await until(lambda: asyncio.to_thread(lambda: open_streams(capped) == 0), what="every stream released")
    async with streams(capped, s09, 1) as again:
        assert again[0].status == 200


async def test_a_stream_resumes_after_last_event_id_on_any_process(api: Api, capped: str) -> None:
    """Written by one process's consumer, resumed from another's stream: the backlog, then live items."""
    token = api.token_for("staff", "S07")
    earlier = api.post("intake", "/v1/issues", json=TALENT_AT_B2 | {"description": uuid.uuid4().hex}).json()["id"]
    staff = api.as_token(token)
    first = eventually(
        lambda: next((i for i in staff.get("notify", "/v1/inbox").json()["items"] if i["issue_id"] == earlier), None)
    )
    later = api.post("intake", "/v1/issues", json=TALENT_AT_B2 | {"description": uuid.uuid4().hex}).json()["id"]
    eventually(lambda: any(i["issue_id"] == later for i in staff.get("notify", "/v1/inbox").json()["items"]))
    stream = await open_stream(capped, token, {"Last-Event-ID": first["id"]})
    try:
        assert stream.status == 200
        assert later in (await asyncio.wait_for(stream.until_issue(later), 20))["data"]
        live = api.post("intake", "/v1/issues", json=TALENT_AT_B2 | {"description": uuid.uuid4().hex}).json()["id"]
        assert live in (await asyncio.wait_for(stream.until_issue(live), 20))["data"]
    finally:
        stream.close()


@pytest.mark.parametrize("last_event_id", ["not-an-id", "0" * 23, "z" * 24, "6655aa" * 5, "'; drop"])
def test_a_bad_last_event_id_is_a_400_before_the_stream_starts(api: Api, last_event_id: str) -> None:
    token = api.token_for("staff", "S05")
    r = httpx.get(
        f"{api.stack.url('notify')}/v1/inbox/stream",
        headers={"Authorization": f"Bearer {token}", "Last-Event-ID": last_event_id},
        timeout=10,
    )
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/json")
    assert "Last-Event-ID" in r.json()["detail"]
    ticket = api.as_token(token).post("notify", "/v1/inbox/ticket").json()["ticket"]
    r = httpx.get(
        f"{api.stack.url('notify')}/v1/inbox/stream",
        params={"ticket": ticket},
        headers={"Last-Event-ID": last_event_id},
        timeout=10,
    )
    assert r.status_code == 400


def test_a_staff_id_naming_nobody_is_a_404_on_the_inbox_and_its_stream(api: Api) -> None:
    for method, path in (("GET", "/v1/inbox"), ("GET", "/v1/inbox/stream"), ("POST", "/v1/inbox/ticket")):
        r = api.request(method, "notify", path, params={"staff_id": "NOBODY"})
        assert r.status_code == 404, (path, r.text)
        assert "NOBODY" in r.json()["detail"]
    assert api.get("notify", "/v1/inbox", params={"staff_id": "S05"}).status_code == 200
