"""Reports along the grid: the breakdowns (by grid node, building, service or assignee) and the
grid tree with each node's figures rolled up from its buildings."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Any

from kernel.directory import DirectoryIndex, GridNode
from reporting import kpis
from reporting.readmodel import counters as C
from reporting.reports.queries import Reports
from reporting.reports.scope import Scope, names_for


def node_groups(scope: Scope) -> dict[str, set[str]]:
    """Each child of the filter's grid node (the root when none) with its subtree's buildings."""
    index = scope.index
    parent = index.nodes[scope.grid_node] if scope.grid_node else index.directory.grid
    allowed = scope.filter.buildings
    groups = {}
    for child in parent.children:
        buildings = index.buildings_under(child.id)
        if allowed is not None:
            buildings &= allowed
            if not buildings:
                continue  # outside the filter (another building, or another staff member's grid)
        groups[child.id] = buildings
    return groups


async def breakdown(reports: Reports, scope: Scope, by: str) -> list[dict[str, Any]]:
    """The rows of `GET /v1/reports/breakdown?by=...` (grid_node, building, service_code or assignee)."""
    field = "building_id" if by == "building" else by
    groups = node_groups(scope) if by == "grid_node" else None
    return await reports.breakdown(scope.filter, field, names_for(scope, field), groups)


async def grid_tree(reports: Reports, scope: Scope) -> dict[str, Any]:
    """The grid tree under the filter's node (else the caller's own part), each node with the figures
    of its subtree's buildings within the filter; nodes holding none of them left out."""
    counts, cover = await reports.by_building(scope.filter)
    index = scope.index
    allowed = scope.filter.buildings

    def node(n: GridNode) -> dict[str, Any]:
        # A node none of whose buildings the filter holds is left out: a head sees their own part.
        children = [node(c) for c in n.children if allowed is None or index.buildings_under(c.id) & allowed]
        total = C.total([*(counts.get(b, {}) for b in index.buildings_under(n.id) if allowed is None or b in allowed)])
        for b in index.buildings_under(n.id):
            if allowed is None or b in allowed:
                C.add(total, cover.get(b, {}))
        return {"id": n.id, "name": n.name, "heads": n.heads, "figures": kpis.figures(total), "children": children}

    # Without a node asked for, the caller's own part of the grid (the district's for an admin).
    root = index.nodes[scope.grid_node] if scope.grid_node else own_root(index, allowed)
    return node(root)


def own_root(index: DirectoryIndex, buildings: AbstractSet[str] | None) -> GridNode:
    """The lowest grid node whose subtree holds all of `buildings` (the district's root for every
    building): where a head's own part of the grid starts, so that a 点楼长 sees their part rather
    than the whole district."""
    node = index.directory.grid
    if buildings is None:
        return node
    while True:
        below = next((c for c in node.children if buildings <= index.buildings_under(c.id)), None)
        if below is None or not buildings:
            return node
        node = below
