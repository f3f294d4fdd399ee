"""Contract, Reporting: the rate formulas."""

from __future__ import annotations

import pytest

from reporting.kpis import COUNTS, median_of, summary

RATES = ("response_rate", "on_time_response_rate", "resolution_rate", "satisfaction_rate", "visit_coverage_rate")

COUNTS_10 = {
    "total": 10,
    "acknowledged": 8,
    "acknowledged_on_time": 6,
    "resolved": 5,
    "closed": 4,
    "reopened": 1,
    "overdue_open": 2,
    "feedback": 4,
    "satisfied": 2,
    "basically_satisfied": 1,
    "dissatisfied": 1,
    "enterprises": 20,
    "enterprises_visited": 5,
    "visits": 7,
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("response_rate", 8 / 10),
        ("on_time_response_rate", 6 / 10),
        ("resolution_rate", 5 / 10),
        ("satisfaction_rate", (2 + 0.9 * 1) / 4),
        ("visit_coverage_rate", 5 / 20),
    ],
)
def test_rate_formulas(field: str, value: float) -> None:
    assert summary(COUNTS_10)[field] == pytest.approx(value)


def test_satisfaction_counts_basically_satisfied_at_nine_tenths() -> None:
    assert summary({"feedback": 10, "basically_satisfied": 10})["satisfaction_rate"] == pytest.approx(0.9)
    assert summary({"feedback": 2, "satisfied": 1, "dissatisfied": 1})["satisfaction_rate"] == pytest.approx(0.5)


def test_counts_are_passed_through() -> None:
    s = summary(COUNTS_10)
    assert {name: s[name] for name in COUNTS} == COUNTS_10


def test_an_empty_window_has_zero_counts_and_null_rates() -> None:
    s = summary({})
    assert all(s[name] == 0 for name in COUNTS)
    assert all(s[rate] is None for rate in RATES)
    assert s["median_ack_seconds"] is None and s["median_resolve_seconds"] is None


def test_each_rate_is_null_only_when_its_own_denominator_is_zero() -> None:
    s = summary({"total": 3, "acknowledged": 3})
    assert s["response_rate"] == 1.0
    assert s["satisfaction_rate"] is None and s["visit_coverage_rate"] is None
    assert summary({"enterprises": 4})["visit_coverage_rate"] == 0.0


def test_medians() -> None:
    s = summary(COUNTS_10, (median_of([30.0, 10.0, 20.0]), median_of([1.0, 2.0, 3.0, 10.0])))
    assert s["median_ack_seconds"] == 20.0
    assert s["median_resolve_seconds"] == 2.5
