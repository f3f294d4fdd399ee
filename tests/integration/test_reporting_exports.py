"""Reporting's exports, the joint meeting's agenda and the KPI gauges, on the real stack.

The issues are submitted through intake and moved through routing; every figure is checked against
the JSON reports (summary, breakdown) it must repeat, value for value."""

from __future__ import annotations

import csv
import io
import math
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import openpyxl
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kernel.times import SHANGHAI
from tests.support.api import Api
from tests.support.servers import eventually

# The contract's summary fields, in the export's order, under their Chinese headers.
HEADERS = {
    "编号": "key",
    "名称": "name",
    "问题总数": "total",
    "已签收": "acknowledged",
    "按时签收": "acknowledged_on_time",
    "已办结": "resolved",
    "已关闭": "closed",
    "重新办理": "reopened",
    "逾期未办结": "overdue_open",
    "回访数": "feedback",
    "满意": "satisfied",
    "基本满意": "basically_satisfied",
    "不满意": "dissatisfied",
    "问题回应率": "response_rate",
    "按时签收率": "on_time_response_rate",
    "办结率": "resolution_rate",
    "满意度": "satisfaction_rate",
    "签收用时中位数(秒)": "median_ack_seconds",
    "办结用时中位数(秒)": "median_resolve_seconds",
    "企业数": "enterprises",
    "已走访企业数": "enterprises_visited",
    "走访覆盖率": "visit_coverage_rate",
    "走访次数": "visits",
}
BY = ("building", "grid_node", "service_code", "assignee")


def submit(api: Api, building_id: str, service_code: str = "talent") -> str:
    body = {
        "building_id": building_id,
        "service_code": service_code,
        "title": f"报表测试 {uuid.uuid4().hex[:6]}",
        "description": uuid.uuid4().hex,
    }
    r = api.post("intake", "/v1/issues", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def status(api: Api, issue_id: str) -> str:
    return str(api.get("intake", f"/v1/issues/{issue_id}").json()["status"])


@pytest.fixture(scope="module")
def scenario(api: Api) -> Iterator[dict[str, Any]]:
    """Three issues from `since` on: at B1 one closed with feedback and one left assigned, one at B2."""
    since = datetime.now(UTC) - timedelta(milliseconds=5)
    closed, waiting, other = submit(api, "B1"), submit(api, "B1"), submit(api, "B2")
    for issue_id in (closed, waiting, other):
        eventually(lambda i=issue_id: status(api, i) == "assigned", what=f"{issue_id} assigned")
    officer = api.as_token(api.token_for("staff", "S06"))
    for action, body in (("acknowledge", {}), ("resolve", {"note": "已办结"})):
        r = officer.post("routing", f"/v1/workorders/{closed}/{action}", json=body)
        assert r.status_code == 200, r.text
    eventually(lambda: status(api, closed) == "resolved", what="resolved in intake")
    r = api.post("intake", f"/v1/issues/{closed}/feedback", json={"satisfaction": "basically_satisfied"})
    assert r.status_code == 200, r.text
    window = {"from": since.isoformat()}
    eventually(
        lambda: (
            (s := api.get("reporting", "/v1/reports/summary", params=window).json())["total"] == 3
            and s["closed"] == 1
            and s["feedback"] == 1
        ),
        what="the summary counts the three",
    )
    yield {"since": since, "window": window, "closed": closed, "waiting": waiting, "other": other}


def breakdown(api: Api, params: dict[str, Any]) -> list[dict[str, Any]]:
    r = api.get("reporting", "/v1/reports/breakdown", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def as_csv(value: Any) -> str:
    return "" if value is None else str(value)


def csv_rows(api: Api, params: dict[str, Any]) -> tuple[list[str], list[list[str]], str]:
    r = api.get("reporting", "/v1/reports/export.csv", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf"), "a BOM, for Excel"
    rows = list(csv.reader(io.StringIO(r.content[3:].decode("utf-8"))))
    return rows[0], rows[1:], r.headers["content-disposition"]


def test_csv_export_repeats_the_breakdown_under_chinese_headers(api: Api, scenario: dict[str, Any]) -> None:
    for by in BY:
        params = {**scenario["window"], "by": by}

        def same(params: dict[str, Any] = params) -> tuple[list[str], list[list[str]], list[dict[str, Any]]] | None:
            header, rows, _ = csv_rows(api, params)
            items = breakdown(api, params)
            expected = [[as_csv(item[field]) for field in HEADERS.values()] for item in items]
            return (header, rows, items) if rows == expected else None

        header, rows, _ = eventually(same, what=f"CSV by {by} equals the breakdown")
        assert header == list(HEADERS)
        assert rows, f"rows by {by}"
    # The default grouping is by building; the file is named in Chinese after the window.
    header, rows, disposition = csv_rows(api, scenario["window"])
    assert [row[0] for row in rows] == ["B1", "B2"]
    assert [row[1] for row in rows] == ["一号楼", "二号楼"]
    b1 = dict(zip(header, rows[0], strict=True))
    assert (b1["问题总数"], b1["已签收"], b1["已关闭"], b1["基本满意"]) == ("2", "1", "1", "1")
    assert float(b1["问题回应率"]) == 0.5 and float(b1["满意度"]) == 0.9
    assert disposition.startswith("attachment;")
    name = unquote(disposition.split("filename*=UTF-8''")[1])
    since_local = scenario["since"].astimezone(SHANGHAI).date().isoformat()
    assert name.startswith(f"楼长制统计_按楼宇_{since_local}_") and name.endswith(".csv")


def test_xlsx_export_has_a_title_a_bold_header_and_the_breakdowns_values(api: Api, scenario: dict[str, Any]) -> None:
    params = {**scenario["window"], "by": "building", "grid_node": "park"}

    def same() -> tuple[Any, list[dict[str, Any]]] | None:
        r = api.get("reporting", "/v1/reports/export.xlsx", params=params)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        assert unquote(r.headers["content-disposition"].split("''")[1]).endswith(".xlsx")
        sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
        items = breakdown(api, params)
        values = [[c.value for c in row] for row in sheet.iter_rows(min_row=3)]
        return (sheet, items) if values == [[item[f] for f in HEADERS.values()] for item in items] else None

    sheet, items = eventually(same, what="XLSX equals the breakdown")
    assert sheet.title == "按楼宇统计"
    title = sheet["A1"].value
    start = scenario["since"].astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    assert "统计区间" in title and start in title and "测试园区" in title
    assert [c.value for c in sheet[2]] == list(HEADERS)
    assert all(c.font.bold for c in sheet[2])
    assert [item["key"] for item in items] == ["B1"]
    rate = sheet.cell(row=3, column=list(HEADERS).index("问题回应率") + 1)
    assert rate.value == 0.5 and "%" in rate.number_format


def test_staff_exports_their_scope_and_not_beyond(api: Api, scenario: dict[str, Any]) -> None:
    cbd_head = api.as_token(api.token_for("staff", "S03"))  # heads node cbd, which holds B2 only
    _, rows, _ = csv_rows(cbd_head, scenario["window"])
    assert [row[0] for row in rows] == ["B2"]
    for path in ("/v1/reports/export.csv", "/v1/reports/export.xlsx"):
        assert cbd_head.get("reporting", path, params={"building_id": "B1"}).status_code == 403
        assert api.get("reporting", path, params={"building_id": "nope"}).status_code == 404
        assert api.get("reporting", path, params={"by": "floor"}).status_code == 422
        assert api.as_token("").get("reporting", path).status_code == 401


def month_now() -> tuple[str, str, str]:
    """This month in Shanghai: YYYY-MM, its first day and the next month's first day."""
    today = datetime.now(SHANGHAI).date()
    first = today.replace(day=1)
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first.strftime("%Y-%m"), first.isoformat(), following.isoformat()


def test_agenda_of_a_building_for_this_month(api: Api, scenario: dict[str, Any]) -> None:
    month, first, following = month_now()
    params = {"building_id": "B1", "month": month}

    def same() -> tuple[dict[str, Any], dict[str, Any]] | None:
        r = api.get("reporting", "/v1/reports/agenda", params=params)
        assert r.status_code == 200, r.text
        summary = api.get(
            "reporting", "/v1/reports/summary", params={"building_id": "B1", "from": first, "to": following}
        ).json()
        return (r.json(), summary) if r.json()["figures"] == summary else None

    agenda, summary = eventually(same, what="the agenda's figures are the month's summary")
    assert agenda["month"] == month
    assert agenda["building"] == {
        "id": "B1",
        "name": "一号楼",
        "grid_node": "park",
        "grid_node_name": "测试园区",
        "heads": [{"id": "S04", "name": "测试人员04"}],
    }
    assert summary["total"] >= 2
    open_ids = [row["id"] for row in agenda["open"]]
    assert scenario["waiting"] in open_ids
    assert scenario["closed"] not in open_ids and scenario["other"] not in open_ids
    waiting = next(row for row in agenda["open"] if row["id"] == scenario["waiting"])
    assert waiting["building"] == "一号楼" and waiting["status"] == "assigned"
    assert waiting["assignees"] == [{"id": "S06", "name": "测试人员06"}]
    assert waiting["submitted_at"].endswith("Z")
    assert {row["id"] for row in agenda["overdue"]} <= set(open_ids)
    assert all(row["overdue"] for row in agenda["overdue"])
    assert isinstance(agenda["visits"], list)
    assert agenda["from"].endswith("Z") and agenda["to"].endswith("Z")

    r = api.get("reporting", "/v1/reports/agenda.xlsx", params=params)
    assert r.status_code == 200, r.text
    assert "大厦联席会议" in unquote(r.headers["content-disposition"].split("''")[1])
    workbook = openpyxl.load_workbook(io.BytesIO(r.content))
    assert workbook.sheetnames == ["议程"]
    sheet = workbook["议程"]
    year, number = month.split("-")
    assert sheet["A1"].value == f"一号楼 大厦联席会议 {int(year)}年{int(number)}月"
    cells = [c.value for row in sheet.iter_rows() for c in row]
    assert scenario["waiting"] in cells and "问题回应率" in cells and "未办结" in "".join(map(str, cells))
    labels = [row[0].value for row in sheet.iter_rows()]
    total_row = labels.index("问题总数") + 1
    assert sheet.cell(row=total_row, column=2).value == agenda["figures"]["total"]


def test_agenda_is_refused_in_the_contract_order(api: Api) -> None:
    month, _, _ = month_now()
    cbd_head = api.as_token(api.token_for("staff", "S03"))
    for path in ("/v1/reports/agenda", "/v1/reports/agenda.xlsx"):
        assert api.as_token("").get("reporting", path, params={"building_id": "B1"}).status_code == 401
        assert cbd_head.get("reporting", path, params={"building_id": "B1", "month": month}).status_code == 403
        assert cbd_head.get("reporting", path, params={"building_id": "B2", "month": month}).status_code == 200
        assert api.get("reporting", path, params={"building_id": "nope", "month": "2026-13"}).status_code == 404
        for bad in ("2026-13", "2026-1", "202611", "2026-11-01"):
            r = api.get("reporting", path, params={"building_id": "B1", "month": bad})
            assert r.status_code == 422, bad
            assert [e["loc"] for e in r.json()["detail"]] == [["query", "month"]]
        r = api.get("reporting", path, params={"month": month})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "building_id"]
    # Without a month: this month.
    assert api.get("reporting", "/v1/reports/agenda", params={"building_id": "B1"}).json()["month"] == month


def gauges(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = api.get("reporting", "/metrics").text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith(("louzhang_kpi_", "louzhang_issues_", "louzhang_visits_", "louzhang_enterprises"))
        or s.name.startswith("louzhang_grid_")
    }


def same_value(gauge: float | None, figure: float | None) -> bool:
    if gauge is None:
        return False
    return math.isnan(gauge) if figure is None else gauge == figure


KPI_GAUGES = {
    "louzhang_kpi_response_rate": "response_rate",
    "louzhang_kpi_on_time_response_rate": "on_time_response_rate",
    "louzhang_kpi_resolution_rate": "resolution_rate",
    "louzhang_kpi_satisfaction_rate": "satisfaction_rate",
    "louzhang_kpi_visit_coverage_rate": "visit_coverage_rate",
    "louzhang_issues_total": "total",
    "louzhang_issues_acknowledged": "acknowledged",
    "louzhang_issues_resolved": "resolved",
    "louzhang_issues_overdue_open": "overdue_open",
    "louzhang_visits_total": "visits",
    "louzhang_enterprises": "enterprises",
}


def test_metrics_show_the_kpis_of_the_whole_district(api: Api, scenario: dict[str, Any]) -> None:
    def same() -> dict[str, Any] | None:
        summary = api.get("reporting", "/v1/reports/summary").json()
        nodes = breakdown(api, {"by": "grid_node"})
        found = gauges(api)
        for name, field in KPI_GAUGES.items():
            if not same_value(found.get((name, ())), summary[field]):
                return None
        for row in nodes:
            labels = (("grid_node", row["key"]), ("name", row["name"]))
            if not same_value(found.get(("louzhang_grid_response_rate", labels)), row["response_rate"]):
                return None
            if not same_value(found.get(("louzhang_grid_resolution_rate", labels)), row["resolution_rate"]):
                return None
        return summary

    summary = eventually(same, timeout=20, every=0.3, what="the gauges equal the summary")
    assert summary["total"] >= 3
    found = gauges(api)
    assert {labels for name, labels in found if name == "louzhang_grid_response_rate"} == {
        (("grid_node", "park"), ("name", "测试园区")),
        (("grid_node", "cbd"), ("name", "商务区")),
    }
    assert found[("louzhang_kpi_refreshed_timestamp_seconds", ())] > datetime.now(UTC).timestamp() - 30
