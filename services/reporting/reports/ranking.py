"""考核排名: the grid nodes under the filter's node, best score first."""

from __future__ import annotations

from typing import Any

from reporting.kpis import score
from reporting.reports.grid import breakdown
from reporting.reports.queries import Reports
from reporting.reports.scope import Scope


async def ranking(reports: Reports, scope: Scope, weights: tuple[float, float, float]) -> list[dict[str, Any]]:
    """The grid-node breakdown rows, each with its `score` (`kpis.score`) and `rank`; ties by key."""
    rows = await breakdown(reports, scope, "grid_node")
    for row in rows:
        row["score"] = score(row, weights)
    rows.sort(key=lambda r: (-r["score"], r["key"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows
