"""Intake's composition root."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from fastapi import Request

from chassis import topology
from chassis.bus import BatchHandler, Handler
from chassis.replica import DirectoryReplica
from chassis.runtime import Runtime
from intake.demo import seed_visits
from intake.enterprises import EnterpriseCopy
from intake.issues.service import Issues
from intake.settings import IntakeSettings
from intake.visits.service import Visits
from kernel.events import DirectoryUpdated, EnterpriseUpdated, Event, WorkOrderChanged

log = logging.getLogger(__name__)


class Intake(Runtime):
    name = "intake"
    settings: IntakeSettings

    def __init__(self, settings: IntakeSettings) -> None:
        super().__init__(settings)
        self.directory = DirectoryReplica(self.store)
        self.enterprises = EnterpriseCopy(self.store)
        self.issues = Issues(
            self.store,
            self.enterprises,
            duplicate_window=settings.duplicate_window,
            duplicate_similarity=settings.duplicate_similarity,
        )
        self.visits = Visits(self.store, self.issues, self.enterprises)

    async def setup(self) -> None:
        await self.issues.ensure_indexes()
        await self.enterprises.ensure_indexes()
        await self.visits.ensure_indexes()
        await self.directory.refresh()

    def consumers(self) -> Sequence[tuple[topology.Queue, Handler]]:
        return [
            (topology.queue("intake", "directory"), self.on_directory),
            (topology.queue("intake", "workorders"), self.on_work_order),
            (topology.queue("intake", "enterprises"), self.on_enterprise),
        ]

    async def on_directory(self, event: Event, data: DirectoryUpdated) -> None:
        await self.directory.apply(event, data)

    async def on_work_order(self, event: Event, data: WorkOrderChanged) -> None:
        await self.issues.apply_work_order(event, data)

    def batch_handlers(self) -> dict[str, BatchHandler]:
        return {topology.queue("intake", "workorders").queue: self.issues.apply_work_orders}

    async def on_enterprise(self, event: Event, data: EnterpriseUpdated) -> None:
        await self.enterprises.apply(event, data)

    async def on_started(self) -> None:
        self.spawn(self.directory.follow(), "intake-directory")
        if self.settings.demo:
            self.spawn(self._demo(), "intake-demo")

    async def _demo(self) -> None:
        try:
            await seed_visits(self.store, self.directory, self.enterprises, self.visits)
        except Exception:
            log.exception("recording the demo visits failed")

    def holds_directory(self) -> bool:
        return self.directory.held

    def named_admin(self, staff_id: str) -> bool:
        return self.directory.is_admin(staff_id)


async def runtime(request: Request) -> Intake:
    return request.app.state.runtime  # type: ignore[no-any-return]
