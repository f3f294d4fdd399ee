"""Notify's composition root."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Request

from louzhang import topology
from louzhang.bus import Handler
from louzhang.events import (
    DirectoryContactsUpdated,
    DirectoryUpdated,
    Event,
    WorkOrderChanged,
)
from louzhang.replica import DirectoryReplica
from louzhang.runtime import Runtime
from louzhang.store import keep_newest
from notify.inbox.service import Inbox
from notify.messages import compose
from notify.settings import NotifySettings


class Notify(Runtime):
    name = "notify"
    settings: NotifySettings

    def __init__(self, settings: NotifySettings) -> None:
        super().__init__(settings)
        self.directory = DirectoryReplica(self.store)
        self.contacts = self.store.col("contacts")
        self.inbox = Inbox(self.store)

    async def setup(self) -> None:
        await self.inbox.ensure_indexes()
        await self.directory.refresh()

    def consumers(self) -> Sequence[tuple[topology.Queue, Handler]]:
        return [
            (topology.queue("notify", "directory"), self.on_directory),
            (topology.queue("notify", "workorders"), self.on_work_order),
        ]

    async def on_directory(self, event: Event, data: DirectoryUpdated | DirectoryContactsUpdated) -> None:
        if isinstance(data, DirectoryUpdated):
            await self.directory.apply(event, data)
            return
        # Channels and their secrets stay here, with notify alone.
        staff = [s.model_dump(mode="json") for s in data.staff]
        await keep_newest(self.contacts, "current", data.version, {"staff": staff})

    async def on_work_order(self, event: Event, data: WorkOrderChanged) -> None:
        if not data.recipients:
            return
        message = compose(event.name, data, self.directory.index, self.settings.public_url)
        await self.inbox.deliver(event, data, message)

    async def on_started(self) -> None:
        self.spawn(self.directory.follow(), "notify-directory")

    def holds_directory(self) -> bool:
        return self.directory.held


def runtime(request: Request) -> Notify:
    return request.app.state.runtime  # type: ignore[no-any-return]
