"""Counters as plain dicts: summing them, and turning them into the contract's figures."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reporting import histogram, kpis

Counters = dict[str, Any]
HISTOGRAMS = ("h_ack", "h_res")
# The issue counters kept in cells (visit coverage comes from its own collections).
SCALARS = tuple(name for name in kpis.COUNTS if name not in kpis.COVERAGE)


def add(into: Counters, more: Mapping[str, Any]) -> Counters:
    """Add counters (numbers, and histograms as {bin: count} maps) into `into`."""
    for name, value in more.items():
        if name in HISTOGRAMS:
            bins = into.setdefault(name, {})
            for index, count in value.items():
                bins[int(index)] = bins.get(int(index), 0) + count
        elif isinstance(value, int | float) and not isinstance(value, bool):
            into[name] = into.get(name, 0) + value
    return into


def total(parts: Iterable[Mapping[str, Any]]) -> Counters:
    out: Counters = {}
    for part in parts:
        add(out, part)
    return out


def flat(counters: Mapping[str, int]) -> Counters:
    """`{"h_ack.12": 1}` (as $inc writes them) as `{"h_ack": {12: 1}}`."""
    out: Counters = {}
    for name, value in counters.items():
        if "." in name:
            kind, index = name.split(".", 1)
            out.setdefault(kind, {})[int(index)] = value
        else:
            out[name] = value
    return out


def figures(
    counters: Mapping[str, Any],
    *,
    exact: tuple[list[float], list[float]] | None = None,
) -> dict[str, Any]:
    """The summary fields; medians exact from the durations given, else estimated from histograms."""
    if exact is not None:
        ack, res = exact
        medians = (kpis.median_of(ack), kpis.median_of(res))
    else:
        medians = (histogram.median(counters.get("h_ack", {})), histogram.median(counters.get("h_res", {})))
    return kpis.summary(counters, medians)
