"""The Grafana dashboard (deploy/grafana/louzhang.json): every panel's PromQL names metrics the code defines."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "deploy" / "grafana" / "louzhang.json"

DEFINITION = re.compile(r"\b(Counter|Gauge|Histogram|Summary)\(\s*\"(louzhang_[a-zA-Z0-9_]+)\"")
METRIC = re.compile(r"\blouzhang_[a-zA-Z0-9_]+")
# What Prometheus exposes for each kind of metric, beyond its name.
SUFFIXES = {
    "Counter": ("", "_created"),
    "Gauge": ("",),
    "Histogram": ("_bucket", "_count", "_sum", "_created"),
    "Summary": ("", "_count", "_sum", "_created"),
}


def defined_metrics() -> set[str]:
    """Every series name the services' Counter/Gauge/Histogram/Summary definitions expose."""
    names: set[str] = set()
    for path in (ROOT / "services").rglob("*.py"):
        for kind, name in DEFINITION.findall(path.read_text(encoding="utf-8")):
            names.update(name + suffix for suffix in SUFFIXES[kind])
    return names


def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in items:
        yield panel
        yield from panels(panel.get("panels", []))


def dashboard() -> dict[str, Any]:
    doc = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def test_the_grep_finds_the_metrics_we_know_of() -> None:
    names = defined_metrics()
    assert {
        "louzhang_http_request_seconds_bucket",
        "louzhang_events_consumed_total",
        "louzhang_kpi_response_rate",
    } <= names
    assert {"louzhang_grid_resolution_rate", "louzhang_deliveries_total", "louzhang_timers_fired_total"} <= names


def test_every_query_names_only_metrics_the_code_defines() -> None:
    names = defined_metrics()
    queried: set[str] = set()
    for panel in panels(dashboard()["panels"]):
        if panel["type"] == "row":
            continue
        assert panel.get("targets"), f"panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            expr = target["expr"]
            used = set(METRIC.findall(expr))
            assert used, f"{panel['title']!r}: {expr!r} names no Louzhang metric"
            assert used <= names, f"{panel['title']!r}: unknown {sorted(used - names)}"
            assert expr.count("(") == expr.count(")"), expr
            queried |= used
    # The KPI gauges and the service metrics all have a panel.
    for wanted in (
        "louzhang_kpi_response_rate",
        "louzhang_kpi_on_time_response_rate",
        "louzhang_kpi_resolution_rate",
        "louzhang_kpi_satisfaction_rate",
        "louzhang_kpi_visit_coverage_rate",
        "louzhang_issues_total",
        "louzhang_issues_overdue_open",
        "louzhang_grid_response_rate",
        "louzhang_http_request_seconds_bucket",
        "louzhang_events_consumed_total",
        "louzhang_events_published_total",
        "louzhang_deliveries_total",
        "louzhang_timers_fired_total",
    ):
        assert wanted in queried, wanted


def test_panels_use_the_datasource_variable_and_kpis_are_stat_panels() -> None:
    doc = dashboard()
    variables = {v["name"]: v for v in doc["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = []
    for panel in panels(doc["panels"]):
        ids.append(panel["id"])
        assert {"x", "y", "w", "h"} <= panel["gridPos"].keys()
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}"
        assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])
    assert len(ids) == len(set(ids))
    stats = [p for p in panels(doc["panels"]) if p["type"] == "stat"]
    kpis = [
        p
        for p in stats
        if "louzhang_kpi_" in p["targets"][0]["expr"] and p["fieldConfig"]["defaults"]["unit"] == "percentunit"
    ]
    assert len(kpis) == 5
    assert any(
        p["type"] == "timeseries" and "histogram_quantile(0.99" in p["targets"][1]["expr"]
        for p in panels(doc["panels"])
    )
