"""The breakdown as a download: `GET /v1/reports/export.csv` and `export.xlsx` (see `reports.exports`)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response

from reporting.api.filters import ReportScope, Runtime
from reporting.reports.exports import BY_NAMES, XLSX, attachment, breakdown_workbook, csv_bytes, file_stem, title_text
from reporting.reports.grid import breakdown

router = APIRouter(prefix="/v1/reports", tags=["reports"])

By = Literal["grid_node", "building", "service_code", "assignee"]


@router.get(
    "/export.csv",
    summary="The breakdown as CSV (UTF-8 with BOM, Chinese headers, no title row)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_csv(scope: ReportScope, reporting: Runtime, by: By = "building") -> Response:
    rows = await breakdown(reporting.reports, scope, by)
    return Response(
        csv_bytes(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": attachment(file_stem(scope, by) + ".csv")},
    )


@router.get(
    "/export.xlsx",
    summary="The breakdown as an XLSX workbook: a title row with the window and filter, then the table",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
async def export_xlsx(request: Request, scope: ReportScope, reporting: Runtime, by: By = "building") -> Response:
    rows = await breakdown(reporting.reports, scope, by)
    title = title_text(scope, by, request.query_params.get("building_id"))
    body = breakdown_workbook(title, f"按{BY_NAMES[by]}统计", rows)
    return Response(body, media_type=XLSX, headers={"Content-Disposition": attachment(file_stem(scope, by) + ".xlsx")})
