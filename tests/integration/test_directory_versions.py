"""Directory versions on the real MongoDB: a merged import (`channels=keep`) is stored only over the
version it was merged with, so two imports at once never lose what the other stored."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from chassis.store import Store
from chassis.urls import OutboundGuard
from kernel.directory import Directory
from routing.directory.service import DirectoryMoved, DirectoryProblems, DirectoryVersions, replace
from tests.support.directory import small_directory
from tests.support.servers import Mongod

DOC = Directory.model_validate(small_directory())


def without_channels() -> dict[str, Any]:
    """The small directory with no channels (so no webhook for the outbound guard to refuse)."""
    raw = small_directory()
    for person in raw["staff"]:
        person.pop("channels", None)
    return raw


@pytest.fixture
async def versions(mongod: Mongod) -> AsyncIterator[DirectoryVersions]:
    name = f"louzhang_directory_{uuid.uuid4().hex[:10]}"
    store = Store(mongod.url, name, "routing")
    yield DirectoryVersions(store)
    await store.client.drop_database(name)
    await store.close()


async def test_a_merge_is_stored_only_over_the_version_it_read(versions: DirectoryVersions) -> None:
    assert await versions.put(DOC, after=None) == 1
    with pytest.raises(DirectoryMoved):
        await versions.put(DOC, after=None)  # there is a version now
    assert await versions.put(DOC, after=1) == 2
    with pytest.raises(DirectoryMoved):
        await versions.put(DOC, after=1)  # 2 came in between
    assert await versions.put(DOC) == 3  # a whole replacement needs no base
    assert await versions.latest_version() == 3
    assert await versions.versions.count_documents({}) == 3  # nothing half-stored by the refusals


async def test_of_two_merges_over_the_same_version_one_is_stored(versions: DirectoryVersions) -> None:
    base = await versions.put(DOC)
    outcomes = await asyncio.gather(*(versions.put(DOC, after=base) for _ in range(2)), return_exceptions=True)
    stored = [o for o in outcomes if isinstance(o, int)]
    assert stored == [base + 1]
    assert sum(isinstance(o, DirectoryMoved) for o in outcomes) == 1
    assert await versions.latest_version() == base + 1
    # Its events were queued once: one directory.updated and one contacts event per stored version.
    assert await versions.store.outbox.count_documents({"name": "directory.updated"}) == 2


async def test_two_merging_imports_at_once_are_both_stored_each_over_the_other(versions: DirectoryVersions) -> None:
    raw = without_channels()
    bare = Directory.model_validate(raw)
    raw["staff"][1]["channels"] = [{"type": "wecom", "key": "wecom-S02"}]
    base = await versions.put(Directory.model_validate(raw))
    guard = OutboundGuard()

    done = await asyncio.gather(*(replace(versions, guard, bare, author="S01", keep=True) for _ in range(2)))
    # The one that lost the race was merged again with the winner's version, not refused.
    assert sorted((d.current, d.version) for d in done) == [(base, base + 1), (base + 1, base + 2)]
    current = await versions.current()
    assert current is not None
    [s02] = [s for s in current[1].directory.staff if s.id == "S02"]
    assert [c.type for c in s02.channels] == ["wecom"]  # kept through both


async def test_a_dry_run_stores_nothing_and_a_bad_document_is_refused_whole(versions: DirectoryVersions) -> None:
    base = await versions.put(DOC)
    raw = without_channels()
    raw["staff"].pop()  # S12 leaves
    dry = await replace(versions, OutboundGuard(), Directory.model_validate(raw), author="admin", dry_run=True)
    assert (dry.current, dry.version) == (base, None)
    assert [c["id"] for c in dry.changes["removed"]] == ["S12"]

    # A webhook to a loopback address is refused by the guard: nothing stored.
    with pytest.raises(DirectoryProblems):
        await replace(versions, OutboundGuard(), DOC, author="admin")
    assert await versions.latest_version() == base
