"""CSV and XLSX exports of a breakdown, with Chinese headers, for Excel and WPS.

The rows are those of `GET /v1/reports/breakdown` with the same filter, value for value:
rates stay fractions (the workbook formats them as percentages), a null is an empty cell.
Names and ids are user data: a CSV text cell that a spreadsheet would read as a formula is
prefixed with a single quote; the workbook stores such cells as text, never as formulas.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from kernel.times import SHANGHAI
from reporting.reports.scope import Scope

Kind = Literal["text", "count", "rate", "seconds"]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    kind: Kind


# The summary fields in the contract's order, each with its Chinese header.
FIGURES: tuple[Column, ...] = (
    Column("total", "问题总数", "count"),
    Column("acknowledged", "已签收", "count"),
    Column("acknowledged_on_time", "按时签收", "count"),
    Column("resolved", "已办结", "count"),
    Column("closed", "已关闭", "count"),
    Column("reopened", "重新办理", "count"),
    Column("overdue_open", "逾期未办结", "count"),
    Column("feedback", "回访数", "count"),
    Column("satisfied", "满意", "count"),
    Column("basically_satisfied", "基本满意", "count"),
    Column("dissatisfied", "不满意", "count"),
    Column("response_rate", "问题回应率", "rate"),
    Column("on_time_response_rate", "按时签收率", "rate"),
    Column("resolution_rate", "办结率", "rate"),
    Column("satisfaction_rate", "满意度", "rate"),
    Column("median_ack_seconds", "签收用时中位数(秒)", "seconds"),
    Column("median_resolve_seconds", "办结用时中位数(秒)", "seconds"),
    Column("enterprises", "企业数", "count"),
    Column("enterprises_visited", "已走访企业数", "count"),
    Column("visit_coverage_rate", "走访覆盖率", "rate"),
    Column("visits", "走访次数", "count"),
)
COLUMNS: tuple[Column, ...] = (Column("key", "编号", "text"), Column("name", "名称", "text"), *FIGURES)
HEADERS: tuple[str, ...] = tuple(c.header for c in COLUMNS)

BY_NAMES: dict[str, str] = {"grid_node": "网格", "building": "楼宇", "service_code": "事项", "assignee": "承办人"}

# What a spreadsheet may take for the start of a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def guard(text: str) -> str:
    """A CSV text cell that Excel or WPS would read as a formula, made plain text by a leading quote."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_cell(value: Any) -> str:
    """A value as the JSON report writes it (floats as `repr`), a null as an empty cell, text guarded."""
    if value is None:
        return ""
    if isinstance(value, str):
        return guard(value)
    return str(value)


def csv_bytes(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """UTF-8 with a BOM (so that Excel reads it as UTF-8), one header row, CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow([csv_cell(row.get(c.field)) for c in COLUMNS])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


# ---- describing a report's window and filter ----------------------------------


def local(instant: datetime) -> datetime:
    """The instant in Asia/Shanghai, without a zone (Excel has none)."""
    return instant.astimezone(SHANGHAI).replace(tzinfo=None)


def moment(instant: datetime) -> str:
    t = local(instant)
    if t.second or t.microsecond:
        return t.strftime("%Y-%m-%d %H:%M:%S")
    return t.strftime("%Y-%m-%d %H:%M")


def window_text(scope: Scope) -> str:
    f = scope.filter
    start = moment(f.start) if f.start is not None else "最早"
    return f"{start} 至 {moment(f.end)}（北京时间，不含结束时刻）"


def filter_text(scope: Scope, building_id: str | None) -> str:
    """范围: the grid node, building and service asked for; else the whole district, or the staff member's buildings."""
    index = scope.index
    parts = []
    if scope.grid_node is not None:
        parts.append(f"网格 {index.nodes[scope.grid_node].name}（{scope.grid_node}）")
    if building_id is not None and building_id in index.buildings:
        parts.append(f"楼宇 {index.buildings[building_id].name}（{building_id}）")
    code = scope.filter.service_code
    if code is not None:
        service = index.services.get(code)
        parts.append(f"事项 {service.name}（{code}）" if service else f"事项 {code}")
    if parts:
        return "，".join(parts)
    if scope.who.kind == "staff":
        return f"本人辖区（{len(scope.filter.buildings or ())} 栋楼宇）"
    return "全区"


def title_text(scope: Scope, by: str, building_id: str | None) -> str:
    return f"楼长制统计（按{BY_NAMES[by]}）　统计区间：{window_text(scope)}　范围：{filter_text(scope, building_id)}"


def file_stem(scope: Scope, by: str) -> str:
    f = scope.filter
    start = local(f.start).date().isoformat() if f.start is not None else "最早"
    return f"楼长制统计_按{BY_NAMES[by]}_{start}_{local(f.end).date().isoformat()}"


_UNSAFE_IN_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def attachment(filename: str) -> str:
    """`Content-Disposition` for a download named in Chinese (RFC 6266, RFC 5987), with an ASCII
    fallback for clients that ignore `filename*`."""
    name = _UNSAFE_IN_NAMES.sub("_", filename).strip() or "louzhang"
    stem, dot, ext = name.rpartition(".")
    fallback = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "_", fallback).strip("_") or "louzhang"
    return f"attachment; filename=\"{fallback}{dot}{ext}\"; filename*=UTF-8''{quote(name, safe='')}"


# ---- XLSX -------------------------------------------------------------------------

BOLD = Font(bold=True)
TITLE = Font(bold=True, size=13)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
FORMATS: dict[str, str] = {"rate": "0.0%", "seconds": "#,##0", "count": "0"}


def display_width(value: Any, number_format: str = "") -> int:
    """Roughly how many character widths a value takes (CJK characters count double)."""
    if value is None:
        return 0
    if isinstance(value, float) and "%" in number_format:
        text = f"{value * 100:.1f}%"
    elif isinstance(value, float):
        text = f"{value:,.0f}"
    elif isinstance(value, datetime):
        text = "2026-01-01 00:00"
    else:
        text = str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def put(sheet: Worksheet, row: int, column: int, value: Any, kind: Kind = "text") -> Cell:
    """Write a value; text is always stored as text (a name like `=1+1` never becomes a formula),
    and characters a workbook cannot hold (control characters) are replaced, not fatal."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
        if value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True
    elif kind in FORMATS and value is not None:
        cell.number_format = FORMATS[kind]
    return cell


def fit_columns(sheet: Worksheet, widths: Sequence[int], lo: int = 6, hi: int = 48) -> None:
    for index, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(index)].width = max(lo, min(hi, width + 2))


def header_row(sheet: Worksheet, row: int, headers: Sequence[str]) -> None:
    for column, text in enumerate(headers, 1):
        cell = put(sheet, row, column, text)
        cell.font = BOLD
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def workbook_bytes(workbook: Workbook) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def breakdown_workbook(title: str, sheet_name: str, rows: Sequence[Mapping[str, Any]]) -> bytes:
    """One sheet: the title row (merged across the table), the bold header row, one row per item."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = sheet_name
    put(sheet, 1, 1, title).font = TITLE
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(COLUMNS))
    sheet.row_dimensions[1].height = 22
    header_row(sheet, 2, HEADERS)
    # Headers wrap, so a long one needs less than its full width.
    widths = [min(display_width(h), 12) for h in HEADERS]
    for r, item in enumerate(rows, 3):
        for c, column in enumerate(COLUMNS, 1):
            cell = put(sheet, r, c, item.get(column.field), column.kind)
            widths[c - 1] = max(widths[c - 1], display_width(cell.value, cell.number_format))
    fit_columns(sheet, widths)
    sheet.freeze_panes = "C3"
    if rows:
        sheet.auto_filter.ref = f"A2:{get_column_letter(len(COLUMNS))}{len(rows) + 2}"
    return workbook_bytes(workbook)
