"""KPI gauges on `/metrics`: the whole district's summary (all issues up to now), and the response and
resolution rates of each grid node under the root, refreshed by a background loop.

A rate that is null in the summary (nothing to divide by) leaves its gauge at NaN, as does every
gauge before the first refresh: Prometheus then shows no value rather than a false zero.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from prometheus_client import Gauge

from chassis.loops import run_forever
from chassis.replica import DirectoryReplica
from kernel.directory import DirectoryIndex
from kernel.times import utcnow
from reporting import kpis
from reporting.reports.queries import Filter, Reports

NAN = math.nan

RATES: dict[str, Gauge] = {
    "response_rate": Gauge("louzhang_kpi_response_rate", "问题回应率: acknowledged / total, all issues"),
    "on_time_response_rate": Gauge(
        "louzhang_kpi_on_time_response_rate", "按时签收率: acknowledged on time / total, all issues"
    ),
    "resolution_rate": Gauge("louzhang_kpi_resolution_rate", "办结率: resolved / total, all issues"),
    "satisfaction_rate": Gauge(
        "louzhang_kpi_satisfaction_rate", "满意度: (satisfied + 0.9 × basically satisfied) / feedback, all issues"
    ),
    "visit_coverage_rate": Gauge(
        "louzhang_kpi_visit_coverage_rate", "走访覆盖率: enterprises visited / enterprises, all time"
    ),
}
COUNTS: dict[str, Gauge] = {
    "total": Gauge("louzhang_issues_total", "Issues submitted, rejected ones excluded"),
    "acknowledged": Gauge("louzhang_issues_acknowledged", "Issues acknowledged (签收) at any time"),
    "resolved": Gauge("louzhang_issues_resolved", "Issues now resolved or closed"),
    "overdue_open": Gauge("louzhang_issues_overdue_open", "Issues not resolved and past their resolve deadline"),
    "visits": Gauge("louzhang_visits_total", "Visits (走访) recorded"),
    "enterprises": Gauge("louzhang_enterprises", "Enterprises in the buildings"),
}
GRID_RESPONSE = Gauge(
    "louzhang_grid_response_rate", "问题回应率 of each grid node under the root, all issues", ["grid_node", "name"]
)
GRID_RESOLUTION = Gauge(
    "louzhang_grid_resolution_rate", "办结率 of each grid node under the root, all issues", ["grid_node", "name"]
)
REFRESHED = Gauge("louzhang_kpi_refreshed_timestamp_seconds", "When the KPI gauges were last refreshed (Unix time)")

for _gauge in (*RATES.values(), *COUNTS.values()):
    _gauge.set(NAN)


def value(figure: Any) -> float:
    return NAN if figure is None else float(figure)


def publish(summary: Mapping[str, Any], nodes: Mapping[str, tuple[str, Mapping[str, Any]]]) -> None:
    """Set every gauge at once (no await in between: a scrape never sees half a refresh).
    `nodes` maps each grid node under the root to its name and counters."""
    for field, gauge in RATES.items():
        gauge.set(value(summary.get(field)))
    for field, gauge in COUNTS.items():
        gauge.set(value(summary.get(field)))
    GRID_RESPONSE.clear()
    GRID_RESOLUTION.clear()
    for node_id, (name, counts) in nodes.items():
        total = counts.get("total", 0)
        GRID_RESPONSE.labels(node_id, name).set(value(kpis.ratio(counts.get("acknowledged", 0), total)))
        GRID_RESOLUTION.labels(node_id, name).set(value(kpis.ratio(counts.get("resolved", 0), total)))
    REFRESHED.set(time.time())


async def refresh(reports: Reports, index: DirectoryIndex | None) -> None:
    """Read the district's summary (exactly `GET /v1/reports/summary` without a filter) and the
    grid nodes' counters, then publish them."""
    f = Filter(None, utcnow(), None, None)
    summary = await reports.summary(f)
    nodes: dict[str, tuple[str, Mapping[str, Any]]] = {}
    if index is not None:
        children = index.directory.grid.children
        owner = {b: child.id for child in children for b in index.buildings_under(child.id)}
        groups = await reports.grouped(f, "building_id", lambda d: owner.get(d.get("building_id", "")))
        nodes = {child.id: (child.name, groups.get(child.id, {})) for child in children}
    publish(summary, nodes)


async def follow(reports: Reports, directory: DirectoryReplica, every_s: float) -> None:
    """Refresh the gauges every `every_s` seconds for the life of the service, through outages."""

    async def step() -> int:
        await refresh(reports, directory.index)
        return 0

    await run_forever(step, name="KPI gauges", idle_s=every_s)
