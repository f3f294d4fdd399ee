"""Redelivered events on the consumers' hot paths, against the real MongoDB: routing's dispatch
and notify's ledger find an event's effect by its own keys (the work order is the issue id, the
delivery records are unique on the event id), with no `processed` record. A repeat, whether in
a later batch or in the same one, writes nothing: no second work order, timer, outbox event,
inbox item or delivery record."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chassis.auth import Tokens
from chassis.store import Store
from kernel.directory import Directory
from kernel.events import Event, IssueSubmitted, StaffRef, Submitter, WorkOrderChanged, new_event
from kernel.sla.calendar import WorkingCalendar
from notify.deliveries.contacts import Contacts
from notify.deliveries.service import Deliveries
from notify.inbox.service import Inbox
from notify.settings import NotifySettings
from routing.directory.service import DirectoryVersions
from routing.workorders.photos import Photos
from routing.workorders.service import WorkOrders
from routing.workorders.timers import Timers
from tests.support.directory import small_directory
from tests.support.servers import Mongod


@pytest.fixture
async def store(mongod: Mongod) -> AsyncIterator[Store]:
    """A store on a database of its own, dropped afterwards."""
    name = f"louzhang_redelivery_{uuid.uuid4().hex[:10]}"
    routing = Store(mongod.url, name, "routing")
    yield routing
    await routing.client.drop_database(name)
    await routing.close()


async def count(store: Store, collection: str, query: dict[str, Any]) -> int:
    return await store.db[collection].count_documents(query)


# ---- routing: issue.submitted ------------------------------------------------


@pytest.fixture
async def workorders(store: Store) -> WorkOrders:
    directory = DirectoryVersions(store)
    await directory.put(Directory.model_validate(small_directory()))
    orders = WorkOrders(
        store,
        directory,
        WorkingCalendar.from_config("09:00-17:00"),
        Timers(store),
        Photos(store, max_bytes=1024),
        autoclose=timedelta(days=7),
    )
    await orders.ensure_indexes()
    return orders


def submitted(issue_id: str) -> tuple[Event, IssueSubmitted]:
    data = IssueSubmitted(
        id=issue_id,
        building_id="B1",
        service_code="talent",
        title="重复投递",
        description="测试",
        created_at=datetime.now(UTC),
        submitted_by=Submitter(kind="admin", subject="admin"),
    )
    return new_event("issue.submitted", source="test", subject=issue_id, data=data), data


async def dispatched(store: Store, issue_id: str) -> dict[str, int]:
    """What dispatching `issue_id` wrote, by kind."""
    return {
        "orders": await count(store, "routing_workorders", {"_id": issue_id}),
        "timers": await count(store, "routing_timers", {"issue_id": issue_id}),
        "events": await count(store, "routing_outbox", {"name": "issue.assigned", "event.subject": issue_id}),
    }


async def test_dispatch_twice_in_one_batch_and_again_later_writes_once(store: Store, workorders: WorkOrders) -> None:
    event, issue = submitted(f"I-{uuid.uuid4().hex[:8]}")
    other_event, other = submitted(f"I-{uuid.uuid4().hex[:8]}")
    await workorders.dispatch_many([(event, issue), (other_event, other), (event, issue)])
    first = await workorders.get(issue.id)
    assert await dispatched(store, issue.id) == {"orders": 1, "timers": 2, "events": 1}
    assert first["seq"] == 1 and [e["type"] for e in first["timeline"]] == ["assigned"]
    assert await dispatched(store, other.id) == {"orders": 1, "timers": 2, "events": 1}
    timers = await store.db["routing_timers"].find({"issue_id": issue.id}).sort("_id").to_list()

    # Redelivered later, alone and in a batch with a new issue; and the same issue under another
    # event id (a replay through a new envelope): nothing more, the timers not re-armed.
    third_event, third = submitted(f"I-{uuid.uuid4().hex[:8]}")
    await workorders.dispatch_submitted(event, issue)
    await workorders.dispatch_many([(event, issue), (third_event, third)])
    await workorders.dispatch_submitted(submitted(issue.id)[0], issue)
    assert await dispatched(store, issue.id) == {"orders": 1, "timers": 2, "events": 1}
    assert await workorders.get(issue.id) == first
    assert await store.db["routing_timers"].find({"issue_id": issue.id}).sort("_id").to_list() == timers
    assert await dispatched(store, third.id) == {"orders": 1, "timers": 2, "events": 1}
    # The work order is the record of the dispatch: no `processed` document on this path.
    assert await count(store, "routing_processed", {}) == 0


class Conflict(Exception):
    pass


async def test_retried_dispatch_transaction_starts_from_the_planned_order(store: Store, workorders: WorkOrders) -> None:
    """A transaction retried after a write conflict runs its work again: the order it then
    inserts must not carry the aborted attempt's timeline entry as well."""
    event, issue = submitted(f"I-{uuid.uuid4().hex[:8]}")
    transaction = store.transaction

    async def conflicting(work: Any, attempts: int = 5) -> Any:
        async def aborted(session: Any) -> None:
            await work(session)
            raise Conflict  # the first attempt's writes are rolled back, as a write conflict's would be

        with pytest.raises(Conflict):
            await transaction(aborted)
        return await transaction(work, attempts)

    store.transaction = conflicting  # type: ignore[method-assign]
    try:
        await workorders.dispatch_many([(event, issue)])
    finally:
        store.transaction = transaction  # type: ignore[method-assign]
    order = await workorders.get(issue.id)
    assert order["seq"] == 1 and [e["type"] for e in order["timeline"]] == ["assigned"]
    assert await dispatched(store, issue.id) == {"orders": 1, "timers": 2, "events": 1}


# ---- notify: issue.* -----------------------------------------------------------


@pytest.fixture
async def deliveries(mongod: Mongod, store: Store) -> Deliveries:
    notify = Store(mongod.url, store.db.name, "notify")
    settings = NotifySettings(mongo_url=mongod.url, mongo_db=store.db.name, smtp_url=None)
    inbox = Inbox(notify)
    ledger = Deliveries(notify, Tokens("admin", "secret"), settings, inbox, Contacts(notify))
    await inbox.ensure_indexes()
    await ledger.ensure_indexes()
    return ledger


def assigned(issue_id: str, recipients: list[str], callback_url: str | None = None) -> tuple[Event, WorkOrderChanged]:
    data = WorkOrderChanged(
        issue_id=issue_id,
        seq=1,
        status="assigned",
        title="重复投递",
        building_id="B1",
        service_code="talent",
        grid_node="park",
        assignees=[StaffRef(id=s, name=s) for s in recipients],
        escalation_level=0,
        recipients=recipients,
        callback_url=callback_url,
        submitted_by=Submitter(kind="system", subject="hotline") if callback_url else None,
        time=datetime.now(UTC),
    )
    return new_event("issue.assigned", source="routing", subject=issue_id, data=data), data


async def recorded(store: Store, event_id: str) -> dict[str, int]:
    return {
        "inbox": await count(store, "notify_inbox", {"event_id": event_id}),
        "records": await count(store, "notify_deliveries", {"event_id": event_id}),
    }


async def test_notify_records_an_event_once_in_one_batch_and_later(store: Store, deliveries: Deliveries) -> None:
    event, change = assigned("I-n1", ["S05", "S06"], callback_url="http://127.0.0.1:9/callback")
    other_event, other = assigned("I-n2", ["S06"])
    await deliveries.record_many([(event, change), (other_event, other), (event, change)], None)
    # Two inbox items; their two inbox records and the callback's.
    assert await recorded(store, event.id) == {"inbox": 2, "records": 3}
    assert await recorded(store, other_event.id) == {"inbox": 1, "records": 1}
    before = await store.db["notify_deliveries"].find({"event_id": event.id}).sort("_id").to_list()

    third_event, third = assigned("I-n3", ["S05"])
    await deliveries.record(event, change, None)
    await deliveries.record_many([(other_event, other), (event, change), (third_event, third)], None)
    assert await recorded(store, event.id) == {"inbox": 2, "records": 3}
    assert await recorded(store, other_event.id) == {"inbox": 1, "records": 1}
    assert await recorded(store, third_event.id) == {"inbox": 1, "records": 1}
    # The pending send (the callback) is the first one, untouched: one send, one delivery id.
    assert await store.db["notify_deliveries"].find({"event_id": event.id}).sort("_id").to_list() == before
    assert await count(store, "notify_processed", {}) == 0


async def test_notify_event_with_no_one_to_tell_writes_nothing_each_time(store: Store, deliveries: Deliveries) -> None:
    """No recipient and no callback: nothing to record, the first time or on a repeat, and the
    repeat does not stop a later batch's events from being recorded."""
    event, change = assigned("I-n4", [])
    for _ in range(2):
        await deliveries.record_many([(event, change), (event, change)], None)
    assert await recorded(store, event.id) == {"inbox": 0, "records": 0}
    later_event, later = assigned("I-n5", ["S06"])
    await deliveries.record_many([(event, change), (later_event, later)], None)
    assert await recorded(store, later_event.id) == {"inbox": 1, "records": 1}
    assert await count(store, "notify_processed", {}) == 0
