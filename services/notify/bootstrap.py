"""Notify's composition root."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Request

from chassis import topology
from chassis.bus import BatchHandler, Handler
from chassis.replica import DirectoryReplica
from chassis.runtime import Runtime
from kernel.events import DirectoryContactsUpdated, DirectoryUpdated, Event, SigninLink, WorkOrderChanged
from notify import signin
from notify.deliveries.contacts import Contacts
from notify.deliveries.service import Deliveries
from notify.inbox.hub import InboxHub
from notify.inbox.service import Inbox
from notify.settings import NotifySettings


class Notify(Runtime):
    name = "notify"
    settings: NotifySettings

    def __init__(self, settings: NotifySettings) -> None:
        super().__init__(settings)
        self.directory = DirectoryReplica(self.store)
        self.contacts = Contacts(self.store)
        self.inbox = Inbox(self.store)
        self.hub = InboxHub(
            self.inbox.items,
            per_staff=settings.inbox_streams_per_staff,
            per_process=settings.inbox_streams_per_process,
        )
        self.deliveries = Deliveries(self.store, self.tokens, settings, self.inbox, self.contacts, self.outbound)

    async def setup(self) -> None:
        await self.inbox.ensure_indexes()
        await self.deliveries.ensure_indexes()
        await self.directory.refresh()

    def consumers(self) -> Sequence[tuple[topology.Queue, Handler]]:
        return [
            (topology.queue("notify", "directory"), self.on_directory),
            (topology.queue("notify", "workorders"), self.on_work_order),
            (topology.queue("notify", "signin"), self.on_signin),
        ]

    async def on_signin(self, event: Event, data: SigninLink) -> None:
        await signin.send(self.deliveries.email, event, data)

    async def on_directory(self, event: Event, data: DirectoryUpdated | DirectoryContactsUpdated) -> None:
        if isinstance(data, DirectoryUpdated):
            await self.directory.apply(event, data)
        else:
            await self.contacts.apply(event, data)

    async def on_work_order(self, event: Event, data: WorkOrderChanged) -> None:
        await self.deliveries.record(event, data, self.directory.index)

    async def on_work_orders(self, items: list[tuple[Event, WorkOrderChanged]]) -> None:
        await self.deliveries.record_many(items, self.directory.index)

    def batch_handlers(self) -> dict[str, BatchHandler]:
        return {topology.queue("notify", "workorders").queue: self.on_work_orders}

    async def on_started(self) -> None:
        self.spawn(self.directory.follow(), "notify-directory")
        self.spawn(self.deliveries.run(), "notify-deliveries")
        self.spawn(self.hub.run(), "notify-inbox-streams")

    def holds_directory(self) -> bool:
        return self.directory.held

    def named_admin(self, staff_id: str) -> bool:
        return self.directory.is_admin(staff_id)


async def runtime(request: Request) -> Notify:
    return request.app.state.runtime  # type: ignore[no-any-return]
