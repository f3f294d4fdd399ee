"""Work orders: created when routing dispatches a submitted issue."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from louzhang.directory import DirectoryIndex
from louzhang.events import Event, IssueSubmitted, StaffRef, WorkOrderChanged, new_event
from louzhang.outage import Unavailable
from louzhang.store import Store, utcnow
from routing.directory.service import DirectoryVersions
from routing.workorders.dispatch import dispatch


class WorkOrders:
    def __init__(self, store: Store, directory: DirectoryVersions) -> None:
        self.store = store
        self.directory = directory
        self.orders = store.col("workorders")

    async def ensure_indexes(self) -> None:
        await self.orders.create_index([("assignees", 1), ("status", 1)])
        await self.orders.create_index([("building_id", 1), ("status", 1)])

    async def _directory_for(self, issue: IssueSubmitted) -> DirectoryIndex:
        """The current directory, or the version the issue was submitted under if the
        current one no longer has its building or service."""
        current = await self.directory.current()
        if current is None:
            raise Unavailable("no directory loaded")
        index = current[1]
        if issue.building_id in index.buildings and issue.service_code in index.services:
            return index
        older = await self.directory.load(issue.directory_version) if issue.directory_version else None
        if older is None or issue.building_id not in older.buildings or issue.service_code not in older.services:
            raise LookupError(f"issue {issue.id}: building or service unknown to every directory version")
        return older

    async def dispatch_submitted(self, event: Event, issue: IssueSubmitted) -> None:
        index = await self._directory_for(issue)
        building = index.buildings[issue.building_id]
        service = index.services[issue.service_code]
        plan = dispatch(index, building, service)
        now = utcnow()
        assignees = [StaffRef(id=s, name=index.staff_name(s)) for s in plan.assignees]
        changed = WorkOrderChanged(
            issue_id=issue.id,
            seq=1,
            status="assigned",
            title=issue.title,
            building_id=building.id,
            service_code=service.code,
            grid_node=building.grid_node,
            assignees=assignees,
            escalation_level=plan.level,
            acknowledge_due=now + service.sla.acknowledge,
            resolve_due=issue.created_at + service.sla.resolve,
            recipients=plan.notify,
            time=now,
        )
        order: dict[str, Any] = {
            "_id": issue.id,
            **changed.model_dump(exclude={"issue_id", "recipients", "actor", "note", "time", "assignees"}),
            "assignees": plan.assignees,
            "chain": plan.chain,
            "notified": plan.notify,
            "sla": service.sla.model_dump(mode="json"),
            "urgent": service.urgent,
            "submitted_at": issue.created_at,
            "dispatched_at": now,
            "timeline": [{"type": "assigned", "time": now, "actor": "system", "note": None}],
        }

        async def effect(session: AsyncClientSession) -> list[Event]:
            await self.orders.insert_one(order, session=session)
            return [new_event("issue.assigned", source="routing", subject=issue.id, data=changed)]

        await self.store.once("routing.dispatch", event, effect)
