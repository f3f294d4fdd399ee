"""Group commit's rules, with a stand-in transaction (pure logic, no database)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
from pymongo.errors import AutoReconnect

from chassis.groupcommit import GroupCommit


class Bad(Exception):
    pass


class Database:
    """Runs each transaction's work, records the batches, fails as told."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate: asyncio.Event | None = None
        self.refuse: set[str] = set()
        self.outage = False

    async def transaction(self, work: Callable[[Any], Awaitable[None]]) -> None:
        if self.gate is not None:
            await self.gate.wait()
        await work(None)

    async def write(self, items: Sequence[str], session: Any) -> None:
        if self.outage:
            raise AutoReconnect("mongod is away")
        if self.refuse & set(items):
            raise Bad(f"refused {sorted(self.refuse & set(items))}")
        self.batches.append(list(items))


async def test_a_request_alone_commits_in_a_transaction_of_its_own() -> None:
    db = Database()
    group: GroupCommit[str] = GroupCommit("test", db.transaction, db.write)
    await group.commit("a")
    assert db.batches == [["a"]]


async def test_requests_arriving_while_a_transaction_is_in_flight_share_the_next() -> None:
    db = Database()
    db.gate = asyncio.Event()
    group: GroupCommit[str] = GroupCommit("test", db.transaction, db.write, max_batch=3)
    first = asyncio.create_task(group.commit("a"))
    await asyncio.sleep(0)  # "a" is in flight, held at the gate
    later = [asyncio.create_task(group.commit(x)) for x in "bcde"]
    await asyncio.sleep(0)
    db.gate.set()
    await asyncio.gather(first, *later)
    assert db.batches == [["a"], ["b", "c", "d"], ["e"]]


async def test_one_bad_item_fails_alone_and_the_rest_of_its_batch_commits() -> None:
    db = Database()
    db.gate = asyncio.Event()
    db.refuse = {"c"}
    group: GroupCommit[str] = GroupCommit("test", db.transaction, db.write)
    first = asyncio.create_task(group.commit("a"))
    await asyncio.sleep(0)
    later = {x: asyncio.create_task(group.commit(x)) for x in "bcd"}
    db.gate.set()
    await first
    await later["b"]
    await later["d"]
    with pytest.raises(Bad, match="c"):
        await later["c"]
    assert db.batches == [["a"], ["b"], ["d"]]


async def test_an_outage_fails_the_whole_batch_at_once() -> None:
    db = Database()
    db.gate = asyncio.Event()
    group: GroupCommit[str] = GroupCommit("test", db.transaction, db.write)
    first = asyncio.create_task(group.commit("a"))
    await asyncio.sleep(0)
    db.outage = True
    later = [asyncio.create_task(group.commit(x)) for x in "bc"]
    db.gate.set()
    results = await asyncio.gather(first, *later, return_exceptions=True)
    assert all(isinstance(r, AutoReconnect) for r in results)
    assert db.batches == []


async def test_a_cancelled_request_does_not_stop_the_others() -> None:
    db = Database()
    db.gate = asyncio.Event()
    group: GroupCommit[str] = GroupCommit("test", db.transaction, db.write)
    first = asyncio.create_task(group.commit("a"))
    await asyncio.sleep(0)
    gone, kept = asyncio.create_task(group.commit("b")), asyncio.create_task(group.commit("c"))
    await asyncio.sleep(0)
    gone.cancel()
    db.gate.set()
    await first
    await kept
    assert db.batches[-1] == ["b", "c"]  # already queued: committed, whoever waits for it


async def test_before_runs_once_per_batch_ahead_of_its_transaction() -> None:
    db = Database()
    seen: list[list[str]] = []

    async def before(items: Sequence[str]) -> None:
        assert len(db.batches) == len(seen)  # ahead of the batch's own transaction
        seen.append(list(items))

    group: GroupCommit[str] = GroupCommit("test", db.transaction, db.write, before=before)
    await asyncio.gather(*(group.commit(x) for x in "abc"))
    assert seen == db.batches == [["a", "b", "c"]]
