"""Intake's group commit on the real MongoDB: submissions that arrive together are stored in one
transaction, looked at for duplicates together, and never fall back to one by one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from chassis.auth import Principal
from chassis.store import Store
from intake.enterprises import EnterpriseCopy
from intake.issues.models import IssueCreate
from intake.issues.service import Issues
from kernel.directory import Directory, DirectoryIndex
from tests.support.directory import small_directory
from tests.support.servers import Mongod


def batches(outcome: str) -> float:
    return REGISTRY.get_sample_value("louzhang_group_commit_batches_total", {"name": "issues", "outcome": outcome}) or 0


@pytest.fixture
async def issues(mongod: Mongod) -> AsyncIterator[Issues]:
    database = f"louzhang_groupcommit_{uuid.uuid4().hex[:8]}"
    store = Store(mongod.url, database, "intake")
    service = Issues(store, EnterpriseCopy(store), duplicate_window=timedelta(days=7), duplicate_similarity=0.9)
    await store.ensure_indexes()
    await service.ensure_indexes()
    try:
        yield service
    finally:
        await store.client.drop_database(database)
        await store.close()


async def test_submissions_arriving_together_share_a_transaction_and_are_linked_among_themselves(
    issues: Issues,
) -> None:
    index = DirectoryIndex(Directory.model_validate(small_directory()))
    who = Principal("admin", "admin")

    def body(description: str, building: str = "B1") -> IssueCreate:
        return IssueCreate(building_id=building, service_code="talent", title="组提交", description=description)

    first = await issues.submit(who, body("二楼茶水间漏水"), index, 1)  # alone, in a transaction of its own
    committed, split = batches("committed"), batches("split")
    together = await asyncio.gather(
        issues.submit(who, body("二楼茶水间漏水！"), index, 1),
        issues.submit(who, body("停车位申请"), index, 1),
        issues.submit(who, body("停车位申请。"), index, 1),
        issues.submit(who, body("停车位申请", building="B2"), index, 1),
    )
    # The four went into one batch (they all queued behind nothing but each other), whole.
    assert batches("committed") == committed + 1
    assert batches("split") == split
    assert [d["possible_duplicate_of"] for d in together] == [
        str(first["_id"]),  # stored before
        None,
        str(together[1]["_id"]),  # earlier in the same batch
        None,  # another building
    ]
    stored = await issues.issues.count_documents({})
    assert stored == 5
    outbox = await issues.store.outbox.find({}, {"event.data.possible_duplicate_of": 1}).to_list()
    assert sorted(str(e["event"]["data"]["possible_duplicate_of"]) for e in outbox) == sorted(
        str(d["possible_duplicate_of"]) for d in [first, *together]
    )
