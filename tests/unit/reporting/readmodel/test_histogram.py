from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from reporting.readmodel.histogram import bin_of, median, middle


def test_bins_grow_by_five_percent() -> None:
    assert bin_of(0.2) == 0
    assert bin_of(1.0) == 1
    assert bin_of(1.06) == 2
    assert bin_of(100) < bin_of(106)


def test_empty_histogram_has_no_median() -> None:
    assert median({}) is None


@given(st.lists(st.floats(1, 10_000_000), min_size=1, max_size=300))
def test_estimated_median_is_within_five_percent(values: list[float]) -> None:
    bins: dict[int, int] = {}
    for v in values:
        bins[bin_of(v)] = bins.get(bin_of(v), 0) + 1
    estimate = median(bins)
    ordered = sorted(values)
    low, high = ordered[(len(ordered) - 1) // 2], ordered[len(ordered) // 2]
    assert estimate is not None
    assert low / 1.05 <= estimate <= high * 1.05


def test_a_large_sample() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(8, 1.5) for _ in range(50_000)]
    bins: dict[int, int] = {}
    for v in values:
        bins[bin_of(v)] = bins.get(bin_of(v), 0) + 1
    true = sorted(values)[len(values) // 2]
    assert abs(median(bins) - true) / true < 0.05  # type: ignore[operator]
    assert middle(0) == 0.5
