"""Routing's composition root."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from fastapi import Request

from louzhang import topology
from louzhang.bus import Handler
from louzhang.events import Event, IssueFeedback, IssueSubmitted
from louzhang.runtime import Runtime
from routing.directory.service import DirectoryVersions, demo_directory
from routing.settings import RoutingSettings
from routing.sla.calendar import WorkingCalendar
from routing.workorders.service import WorkOrders
from routing.workorders.timers import Timers

log = logging.getLogger(__name__)


class Routing(Runtime):
    name = "routing"
    settings: RoutingSettings

    def __init__(self, settings: RoutingSettings) -> None:
        super().__init__(settings)
        self.directory = DirectoryVersions(self.store)
        calendar = WorkingCalendar.from_config(settings.work_hours, settings.holidays_file)
        self.timers = Timers(self.store, lease=timedelta(seconds=settings.timer_lease_s))
        self.workorders = WorkOrders(self.store, self.directory, calendar, self.timers, autoclose=settings.autoclose)

    async def setup(self) -> None:
        await self.workorders.ensure_indexes()

    def consumers(self) -> Sequence[tuple[topology.Queue, Handler]]:
        return [(topology.queue("routing", "issues"), self.on_issue)]

    async def on_issue(self, event: Event, data: IssueSubmitted | IssueFeedback) -> None:
        if isinstance(data, IssueSubmitted):
            await self.workorders.dispatch_submitted(event, data)
        else:
            await self.workorders.feedback(event, data)

    async def on_started(self) -> None:
        if await self.directory.latest_version() is None and self.settings.demo:
            version = await self.directory.put(demo_directory())
            log.info("loaded the demo Putuo directory as version %d", version)
        else:
            await self.directory.announce()
        self.spawn(self.timers.run(self.workorders.fire), "routing-timers")


def runtime(request: Request) -> Routing:
    return request.app.state.runtime  # type: ignore[no-any-return]
