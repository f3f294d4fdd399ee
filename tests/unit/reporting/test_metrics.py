"""KPI gauges: set from a summary, NaN for a null rate, one labelled series per grid node."""

from __future__ import annotations

import math

from prometheus_client import REGISTRY

from reporting.kpis import summary
from reporting.metrics import publish


def sample(metric: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(metric, labels)


def test_gauges_take_the_summary_and_a_null_rate_is_nan() -> None:
    figures = summary({"total": 4, "acknowledged": 3, "resolved": 1, "overdue_open": 2, "visits": 5})
    publish(figures, {"park": ("测试园区", {"total": 2, "acknowledged": 2, "resolved": 1}), "cbd": ("商务区", {})})
    assert sample("louzhang_kpi_response_rate") == 0.75
    assert sample("louzhang_kpi_resolution_rate") == 0.25
    assert math.isnan(sample("louzhang_kpi_satisfaction_rate") or 0.0)
    assert math.isnan(sample("louzhang_kpi_visit_coverage_rate") or 0.0)
    assert sample("louzhang_issues_total") == 4
    assert sample("louzhang_issues_overdue_open") == 2
    assert sample("louzhang_visits_total") == 5
    assert sample("louzhang_enterprises") == 0
    assert sample("louzhang_grid_response_rate", grid_node="park", name="测试园区") == 1.0
    assert sample("louzhang_grid_resolution_rate", grid_node="park", name="测试园区") == 0.5
    assert math.isnan(sample("louzhang_grid_response_rate", grid_node="cbd", name="商务区") or 0.0)
    assert (sample("louzhang_kpi_refreshed_timestamp_seconds") or 0) > 0


def test_a_grid_node_gone_from_the_directory_loses_its_series() -> None:
    publish(summary({}), {"park": ("测试园区", {"total": 1})})
    publish(summary({}), {"cbd": ("商务区", {"total": 1, "acknowledged": 1})})
    assert sample("louzhang_grid_response_rate", grid_node="park", name="测试园区") is None
    assert sample("louzhang_grid_response_rate", grid_node="cbd", name="商务区") == 1.0
    assert math.isnan(sample("louzhang_kpi_response_rate") or 0.0)
