"""The KPI formulas of the contract (Reporting), as pure functions over counts.

What each count counts (acknowledged, resolved, overdue...) is declared once in
`reporting.readmodel.counters`; the rates made from them are here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from statistics import median
from typing import Any

from reporting.readmodel import histogram
from reporting.readmodel.counters import ACK_TIME, RESOLVE_TIME, SCALARS

# Counts of enterprises and visits, as opposed to counts of issues.
COVERAGE = ("enterprises", "enterprises_visited", "visits")
# Every count a summary carries: the issue counters (what each counts: `readmodel.counters`), then coverage.
COUNTS = (*SCALARS, *COVERAGE)


def ratio(numerator: float, denominator: float) -> float | None:
    """A fraction from 0 to 1, not rounded; null when there is nothing to divide by."""
    return None if denominator == 0 else numerator / denominator


def median_of(values: Sequence[float]) -> float | None:
    return float(median(values)) if values else None


def summary(counts: Mapping[str, Any], medians: tuple[float | None, float | None] = (None, None)) -> dict[str, Any]:
    """The contract's summary fields from counts and the two medians (seconds)."""
    c = {name: int(counts.get(name) or 0) for name in COUNTS}
    return {
        **c,
        "response_rate": ratio(c["acknowledged"], c["total"]),
        "on_time_response_rate": ratio(c["acknowledged_on_time"], c["total"]),
        "resolution_rate": ratio(c["resolved"], c["total"]),
        "satisfaction_rate": ratio(c["satisfied"] + 0.9 * c["basically_satisfied"], c["feedback"]),
        "median_ack_seconds": medians[0],
        "median_resolve_seconds": medians[1],
        "visit_coverage_rate": ratio(c["enterprises_visited"], c["enterprises"]),
    }


def score(figures: Mapping[str, Any], weights: tuple[float, float, float]) -> float:
    """考核排名 score: weighted response, resolution and satisfaction rates (a rate with
    nothing to measure, null, counts as 0)."""
    rates = (figures.get("response_rate"), figures.get("resolution_rate"), figures.get("satisfaction_rate"))
    return sum(w * (r or 0.0) for w, r in zip(weights, rates, strict=True))


def figures(
    counts: Mapping[str, Any],
    *,
    exact: tuple[Sequence[float], Sequence[float]] | None = None,
) -> dict[str, Any]:
    """The summary fields of summed counters; medians exact from the durations given (acknowledge,
    resolve), else estimated from the counters' histograms."""
    if exact is not None:
        ack, res = exact
        return summary(counts, (median_of(ack), median_of(res)))
    ack_bins, res_bins = counts.get(ACK_TIME.name, {}), counts.get(RESOLVE_TIME.name, {})
    return summary(counts, (histogram.median(ack_bins), histogram.median(res_bins)))
