"""Reporting's composition root."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Request

from chassis import topology
from chassis.bus import BatchHandler, Handler
from chassis.ratelimit import Budget
from chassis.replica import DirectoryReplica
from chassis.runtime import Runtime
from kernel.events import (
    DirectoryUpdated,
    EnterpriseUpdated,
    Event,
    IssueFeedback,
    IssueSubmitted,
    NotificationOutcome,
    VisitRecorded,
    WorkOrderChanged,
)
from kernel.sla.calendar import WorkingCalendar
from reporting import metrics
from reporting.readmodel.store import ReadModel
from reporting.reports.queries import Reports
from reporting.settings import ReportingSettings
from reporting.workbench.sessions import Sessions
from reporting.workbench.upstream import Upstream


class Reporting(Runtime):
    name = "reporting"
    settings: ReportingSettings

    def __init__(self, settings: ReportingSettings) -> None:
        super().__init__(settings)
        self.directory = DirectoryReplica(self.store)
        self.readmodel = ReadModel(self.store)
        self.reports = Reports(self.readmodel)
        try:  # the SLA calendar routing counts on (the 督办 lists' overdue working time)
            self.calendar = WorkingCalendar.from_config(settings.work_hours, settings.holidays_file)
        except (ValueError, OSError) as exc:
            raise SystemExit(
                f"{exc}: refusing to start (the working calendar: LOUZHANG_WORK_HOURS, LOUZHANG_HOLIDAYS_FILE)"
            ) from exc
        self.sessions = Sessions(
            self.store, link_ttl=settings.signin_link_ttl, idle=settings.session_idle, longest=settings.session_max
        )
        self.upstream = Upstream(self.tokens, {s: settings.service_url(s) for s in ("intake", "routing", "notify")})
        self.signin_budget = Budget(settings.signin_per_min, self.store.col("signin_windows"))

    async def setup(self) -> None:
        await self.readmodel.ensure_indexes()
        await self.sessions.ensure_indexes()
        await self.signin_budget.ensure_indexes()
        await self.directory.refresh()

    def consumers(self) -> Sequence[tuple[topology.Queue, Handler]]:
        return [
            (topology.queue("reporting", "directory"), self.on_directory),
            (topology.queue("reporting", "issues"), self.on_issue),
            (topology.queue("reporting", "notifications"), self.on_notification),
            (topology.queue("reporting", "visits"), self.on_issue),
        ]

    async def on_directory(self, event: Event, data: DirectoryUpdated) -> None:
        await self.directory.apply(event, data)

    async def on_issue(
        self, event: Event, data: IssueSubmitted | WorkOrderChanged | IssueFeedback | EnterpriseUpdated | VisitRecorded
    ) -> None:
        await self.readmodel.apply(event, data)

    def batch_handlers(self) -> dict[str, BatchHandler]:
        # Issue events come in thousands: folded a prefetch-full per transaction.
        return {topology.queue("reporting", "issues").queue: self.readmodel.apply_batch}

    async def on_notification(self, event: Event, data: NotificationOutcome) -> None:
        await self.readmodel.keep(event)

    async def on_started(self) -> None:
        self.spawn(self.directory.follow(), "reporting-directory")
        self.spawn(metrics.follow(self.reports, self.directory, self.settings.kpi_refresh_s), "reporting-kpis")
        self.spawn(self.signin_budget.run(), "reporting-signin-limit")

    async def stop(self) -> None:
        await self.upstream.close()
        await super().stop()

    def holds_directory(self) -> bool:
        return self.directory.held

    def named_admin(self, staff_id: str) -> bool:
        return self.directory.is_admin(staff_id)


async def runtime(request: Request) -> Reporting:
    return request.app.state.runtime  # type: ignore[no-any-return]
