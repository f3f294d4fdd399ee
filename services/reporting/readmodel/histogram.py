"""Durations kept as log-scale histograms, so that medians over millions of issues can be
estimated from pre-aggregated counters: bins grow by 5%, and the median estimate (the
bin's geometric middle) lies within 2.5% of the true value's bin."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

RATIO = 1.05
_LOG = math.log(RATIO)


def bin_of(seconds: float) -> int:
    """Bin 0 holds everything under a second; bin i ≥ 1 holds [RATIO^(i-1), RATIO^i) seconds."""
    if seconds < 1:
        return 0
    return int(math.log(seconds) / _LOG) + 1


def bin_expression(seconds: Any) -> dict[str, Any]:
    """`bin_of` as a MongoDB expression over a duration in seconds (a number expression). The same
    IEEE operations in the same order (the logarithm divided by `_LOG` as Python computed it,
    truncated), so that a raw issue summed in MongoDB lands in the bin its cell has it in."""
    return {"$cond": [{"$lt": [seconds, 1]}, 0, {"$add": [{"$trunc": {"$divide": [{"$ln": seconds}, _LOG]}}, 1]}]}


def middle(index: int) -> float:
    if index == 0:
        return 0.5
    return math.sqrt(RATIO ** (index - 1) * RATIO**index)


def median(bins: Mapping[int, int]) -> float | None:
    """The median estimated from bin counts; None when there are none."""
    total = sum(bins.values())
    if total == 0:
        return None
    half, seen = total / 2, 0
    for index in sorted(bins):
        seen += bins[index]
        if seen >= half:
            return middle(index)
    return None
