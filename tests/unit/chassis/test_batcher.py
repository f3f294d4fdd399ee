"""The batching consumer's rules, on stand-in messages (pure logic, no broker)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import AutoReconnect

from chassis.bus import Batcher
from kernel.events import IssueSubmitted, Submitter, new_event


class Channel:
    """Delivery tags and `multiple` acks as AMQP has them, on one channel."""

    def __init__(self) -> None:
        self.is_closed = False
        self.delivered: list[Message] = []


CHANNEL = Channel()


class Message:
    def __init__(self, body: bytes, channel: Channel = CHANNEL) -> None:
        self.body = body
        self.message_id = "m"
        self.channel = channel
        channel.delivered.append(self)
        self.delivery_tag = len(channel.delivered)
        self.outcome: str | None = None

    async def ack(self, multiple: bool = False) -> None:
        covered = self.channel.delivered[: self.delivery_tag] if multiple else [self]
        for m in covered:
            if m.outcome is None:
                m.outcome = "ack"

    async def nack(self, requeue: bool = True) -> None:
        self.outcome = "requeued" if requeue else "dropped"

    async def reject(self, requeue: bool = False) -> None:
        self.outcome = "dead" if not requeue else "requeued"


def event(issue_id: str) -> bytes:
    data = IssueSubmitted(
        id=issue_id,
        building_id="B1",
        service_code="s",
        title="t",
        description="d",
        created_at=datetime.now(UTC),
        submitted_by=Submitter(kind="admin", subject="admin"),
    )
    return new_event("issue.submitted", source="test", subject=issue_id, data=data).model_dump_json().encode()


async def test_a_batch_is_applied_once_and_acknowledged() -> None:
    seen: list[list[str]] = []

    async def batch(items: list[tuple[Any, Any]]) -> None:
        seen.append([data.id for _, data in items])

    batcher = Batcher("q", handler=None, batch=batch, size=3)  # type: ignore[arg-type]
    messages = [Message(event(f"I{i}")) for i in range(3)]
    for m in messages:
        await batcher.take(m)  # type: ignore[arg-type]
    assert seen == [["I0", "I1", "I2"]]
    assert [m.outcome for m in messages] == ["ack"] * 3


async def test_poison_is_dead_lettered_on_arrival() -> None:
    batcher = Batcher("q", handler=None, batch=None, size=10)  # type: ignore[arg-type]
    poison = Message(b"not json")
    await batcher.take(poison)  # type: ignore[arg-type]
    assert poison.outcome == "dead" and batcher.pending == []


async def test_an_outage_retries_the_whole_batch() -> None:
    calls = 0

    async def batch(items: list[tuple[Any, Any]]) -> None:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise AutoReconnect("database down")

    batcher = Batcher("q", handler=None, batch=batch, size=2)  # type: ignore[arg-type]
    messages = [Message(event("A")), Message(event("B"))]
    for m in messages:
        await batcher.take(m)  # type: ignore[arg-type]
    assert calls == 3 and [m.outcome for m in messages] == ["ack", "ack"]


async def test_another_failure_finds_the_bad_message_one_by_one() -> None:
    async def batch(items: list[tuple[Any, Any]]) -> None:
        raise ValueError("a bug somewhere in the batch")

    async def one(event: Any, data: Any) -> None:
        if data.id == "bad":
            raise ValueError("this one")

    batcher = Batcher("q", handler=one, batch=batch, size=3)
    messages = [Message(event("good")), Message(event("bad")), Message(event("fine"))]
    for m in messages:
        await batcher.take(m)  # type: ignore[arg-type]
    assert [m.outcome for m in messages] == ["ack", "requeued", "ack"]


async def settle(done: Any, timeout: float = 2.0) -> None:
    """Let the loop run until `done()`, within a deadline."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError("not within the deadline")
        await asyncio.sleep(0.001)


async def test_after_a_quiet_spell_an_event_is_applied_at_once_and_what_follows_makes_the_next_batch() -> None:
    seen: list[list[str]] = []
    gate = asyncio.Event()

    async def batch(items: list[tuple[Any, Any]]) -> None:
        seen.append([data.id for _, data in items])
        if len(seen) == 1:
            await gate.wait()

    batcher = Batcher("q", handler=None, batch=batch, size=100, wait_s=60)  # type: ignore[arg-type]
    first = Message(event("A"), Channel())
    await batcher.take(first)  # type: ignore[arg-type]
    for _ in range(10):  # a few turns of the loop, no clock: not kept waiting for a fuller batch
        await asyncio.sleep(0)
    assert seen == [["A"]]
    later = [Message(event(x), first.channel) for x in "BCD"]
    for m in later:
        await batcher.take(m)  # type: ignore[arg-type]
    gate.set()
    for _ in range(10):
        await asyncio.sleep(0)
    # Events keep coming: the next batch waits (`wait_s`) for more rather than starting at once.
    assert seen == [["A"]] and batcher.timer is not None
    # A's batch is acknowledged (one `multiple` ack), and that ack covers none of the later ones.
    assert first.outcome == "ack" and [m.outcome for m in later] == [None, None, None]
    assert batcher.timer.when() - asyncio.get_running_loop().time() > 30
    await batcher.flush()  # as the timer would
    assert seen == [["A"], ["B", "C", "D"]]
    await settle(lambda: all(m.outcome == "ack" for m in later))
