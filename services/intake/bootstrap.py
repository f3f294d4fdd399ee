"""Intake's composition root."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Request

from intake.issues.service import Issues
from intake.settings import IntakeSettings
from louzhang import topology
from louzhang.bus import Handler
from louzhang.events import DirectoryUpdated, Event, WorkOrderChanged
from louzhang.replica import DirectoryReplica
from louzhang.runtime import Runtime


class Intake(Runtime):
    name = "intake"
    settings: IntakeSettings

    def __init__(self, settings: IntakeSettings) -> None:
        super().__init__(settings)
        self.directory = DirectoryReplica(self.store)
        self.issues = Issues(
            self.store,
            duplicate_window=settings.duplicate_window,
            duplicate_similarity=settings.duplicate_similarity,
        )

    async def setup(self) -> None:
        await self.issues.ensure_indexes()
        await self.directory.refresh()

    def consumers(self) -> Sequence[tuple[topology.Queue, Handler]]:
        return [
            (topology.queue("intake", "directory"), self.on_directory),
            (topology.queue("intake", "workorders"), self.on_work_order),
        ]

    async def on_directory(self, event: Event, data: DirectoryUpdated) -> None:
        await self.directory.apply(event, data)

    async def on_work_order(self, event: Event, data: WorkOrderChanged) -> None:
        await self.issues.apply_work_order(event, data)

    async def on_started(self) -> None:
        self.spawn(self.directory.follow(), "intake-directory")

    def holds_directory(self) -> bool:
        return self.directory.held


def runtime(request: Request) -> Intake:
    return request.app.state.runtime  # type: ignore[no-any-return]
