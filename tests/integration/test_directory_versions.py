"""Directory versions on the real MongoDB: a merged import (`channels=keep`) is stored only over the
version it was merged with, so two imports at once never lose what the other stored."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from chassis.store import Store
from kernel.directory import Directory
from routing.directory.service import DirectoryMoved, DirectoryVersions
from tests.support.directory import small_directory
from tests.support.servers import Mongod

DOC = Directory.model_validate(small_directory())


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
