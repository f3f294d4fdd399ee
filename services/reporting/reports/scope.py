"""What a report is asked for (the filter and the directory it was read against), and how the
directory names what a report shows: grid nodes, buildings, services, staff, issue rows."""

from __future__ import annotations

from typing import Any

from chassis.auth import Principal
from kernel.directory import DirectoryIndex
from reporting.reports.queries import Filter


class Scope:
    """The filter, and the directory it was read against."""

    def __init__(self, filter: Filter, index: DirectoryIndex, grid_node: str | None, who: Principal) -> None:
        self.filter = filter
        self.index = index
        self.grid_node = grid_node
        self.who = who


def names_for(scope: Scope, by: str) -> dict[str, str]:
    """The display name of each key of a breakdown `by` grid_node, building_id, service_code or assignee."""
    index = scope.index
    if by == "grid_node":
        return {n.id: n.name for n in index.nodes.values()}
    if by == "building_id":
        return {b.id: b.name for b in index.buildings.values()}
    if by == "service_code":
        return {s.code: s.name for s in index.services.values()}
    return {s.id: s.name for s in index.staff.values()}


def issue_row(doc: dict[str, Any], scope: Scope) -> dict[str, Any]:
    """An issue of the read model as the reports list it (督办, the agenda), with the directory's names."""
    index = scope.index
    building = index.buildings.get(doc.get("building_id", ""))
    service = index.services.get(doc.get("service_code", ""))
    return {
        "id": doc["_id"],
        "title": doc.get("title"),
        "building_id": doc.get("building_id"),
        "building": building.name if building else doc.get("building_id"),
        "service_code": doc.get("service_code"),
        "service": service.name if service else doc.get("service_code"),
        "status": doc.get("status"),
        "submitted_at": doc.get("submitted_at"),
        "resolve_due": doc.get("resolve_due"),
        "overdue": bool(doc.get("overdue")),
        "assignees": [{"id": s, "name": index.staff_name(s)} for s in doc.get("assignees", [])],
    }
