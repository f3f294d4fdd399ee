"""The KPI formulas of the contract (Reporting), as pure functions over counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from statistics import median
from typing import Any

COUNTS = (
    "total",
    "acknowledged",
    "acknowledged_on_time",
    "resolved",
    "closed",
    "reopened",
    "overdue_open",
    "feedback",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
    "enterprises",
    "enterprises_visited",
    "visits",
)


def ratio(numerator: float, denominator: float) -> float | None:
    """A fraction from 0 to 1, not rounded; null when there is nothing to divide by."""
    return None if denominator == 0 else numerator / denominator


def summary(
    counts: Mapping[str, int], ack_seconds: Sequence[float] = (), resolve_seconds: Sequence[float] = ()
) -> dict[str, Any]:
    c = {name: int(counts.get(name, 0)) for name in COUNTS}
    return {
        **c,
        "response_rate": ratio(c["acknowledged"], c["total"]),
        "on_time_response_rate": ratio(c["acknowledged_on_time"], c["total"]),
        "resolution_rate": ratio(c["resolved"], c["total"]),
        "satisfaction_rate": ratio(c["satisfied"] + 0.9 * c["basically_satisfied"], c["feedback"]),
        "median_ack_seconds": median(ack_seconds) if ack_seconds else None,
        "median_resolve_seconds": median(resolve_seconds) if resolve_seconds else None,
        "visit_coverage_rate": ratio(c["enterprises_visited"], c["enterprises"]),
    }
