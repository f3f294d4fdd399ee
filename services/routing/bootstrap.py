"""Routing's composition root."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from fastapi import Request

from chassis import topology
from chassis.bus import BatchHandler, Handler
from chassis.runtime import Runtime
from kernel.events import Event, IssueFeedback, IssueSubmitted
from kernel.sla.calendar import WorkingCalendar
from routing.demo import work_demo_orders
from routing.directory.service import DirectoryVersions, demo_directory
from routing.enterprises.service import Enterprises, demo_items
from routing.settings import RoutingSettings
from routing.sla.fallback import CalendarStatus
from routing.tokens.service import TokenRegistry
from routing.workorders.photos import Photos
from routing.workorders.service import WorkOrders
from routing.workorders.timers import Timers

log = logging.getLogger(__name__)


class Routing(Runtime):
    name = "routing"
    settings: RoutingSettings

    def __init__(self, settings: RoutingSettings) -> None:
        super().__init__(settings)
        self.directory = DirectoryVersions(self.store)
        try:
            calendar = WorkingCalendar.from_config(settings.work_hours, settings.holidays_file)
        except (ValueError, OSError) as exc:
            raise SystemExit(
                f"{exc}: refusing to start (the working calendar: LOUZHANG_WORK_HOURS, LOUZHANG_HOLIDAYS_FILE)"
            ) from exc
        self.timers = Timers(self.store, lease=timedelta(seconds=settings.timer_lease_s))
        photos = Photos(self.store, settings.photo_max_bytes)
        self.workorders = WorkOrders(
            self.store, self.directory, calendar, self.timers, photos, autoclose=settings.autoclose
        )
        self.calendar = CalendarStatus(calendar, self.workorders.calendar_fallback)
        self.calendar.refresh_gauge()
        self.enterprises = Enterprises(self.store)
        self.token_registry = TokenRegistry(self.store, self.tokens)

    def named_admin(self, staff_id: str) -> bool:
        return self.directory.is_admin(staff_id)

    async def setup(self) -> None:
        await self.directory.current()
        await self.workorders.ensure_indexes()
        await self.enterprises.ensure_indexes()
        await self.token_registry.ensure_indexes()

    async def notes(self, ready: bool) -> dict[str, str]:
        return {"calendar": await self.calendar.check() if ready else self.calendar.last()}

    def consumers(self) -> Sequence[tuple[topology.Queue, Handler]]:
        return [
            (topology.queue("routing", "issues"), self.on_issue),
            (topology.queue("routing", "tokens"), self.token_registry.record),
        ]

    def batch_handlers(self) -> dict[str, BatchHandler]:
        return {topology.queue("routing", "issues").queue: self.on_issues}

    async def on_issues(self, items: list[tuple[Event, IssueSubmitted | IssueFeedback]]) -> None:
        """Submissions are dispatched together; feedback (rare) one by one after them."""
        await self.workorders.dispatch_many([(e, d) for e, d in items if isinstance(d, IssueSubmitted)])
        for event, data in items:
            if isinstance(data, IssueFeedback):
                await self.workorders.feedback(event, data)

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
        if self.settings.demo and not await self.enterprises.any():
            await self.load_demo_enterprises()
        if self.settings.demo:
            self.spawn(work_demo_orders(self.workorders), "routing-demo")
        self.spawn(self.timers.run(self.workorders.fire), "routing-timers")
        self.spawn(self.directory.follow(), "routing-directory")

    async def load_demo_enterprises(self) -> None:
        current = await self.directory.current()
        if current is None:
            return
        index = current[1]
        result = await self.enterprises.upsert(demo_items(), index.buildings.keys(), staff_ids=index.staff.keys())
        log.info("loaded %d demo enterprises", result["created"])
        if result["refused"]:
            log.warning("%d demo enterprises refused, e.g. %s", len(result["refused"]), result["refused"][0])


async def runtime(request: Request) -> Routing:
    return request.app.state.runtime  # type: ignore[no-any-return]
