"""Exports: the CSV injection guard, the Chinese headers against the summary fields, the CSV and XLSX layout."""

from __future__ import annotations

import csv
import io
import math
from urllib.parse import unquote

import openpyxl
import pytest

from reporting.kpis import summary
from reporting.reports.exports import (
    COLUMNS,
    FIGURES,
    HEADERS,
    attachment,
    breakdown_workbook,
    csv_bytes,
    csv_cell,
    guard,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+86 138", "'+86 138"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("一号楼", "一号楼"),
        ("B1", "B1"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_guard_prefixes_what_a_spreadsheet_would_take_for_a_formula(text: str, expected: str) -> None:
    assert guard(text) == expected


def test_cells_are_written_as_the_json_report_writes_them() -> None:
    assert csv_cell(None) == ""
    assert csv_cell(0) == "0"
    assert csv_cell(2 / 3) == repr(2 / 3)
    assert float(csv_cell(2 / 3)) == 2 / 3
    assert csv_cell(-3) == "-3"  # numbers are not text: never prefixed
    assert csv_cell("=1+1") == "'=1+1"


def test_headers_cover_exactly_the_summary_fields_in_chinese() -> None:
    fields = [c.field for c in FIGURES]
    assert sorted(fields) == sorted(summary({}))
    assert len(set(fields)) == len(fields)
    assert [c.field for c in COLUMNS[:2]] == ["key", "name"]
    assert HEADERS[:4] == ("编号", "名称", "问题总数", "已签收")
    assert "走访覆盖率" in HEADERS and "办结用时中位数(秒)" in HEADERS
    assert len(set(HEADERS)) == len(HEADERS)
    assert {c.kind for c in FIGURES if c.field.endswith("_rate")} == {"rate"}


ROW = {"key": "=B1", "name": "@一号楼", **summary({"total": 3, "acknowledged": 2}), "median_ack_seconds": 12.5}


def test_csv_has_a_bom_one_header_row_and_guarded_text() -> None:
    body = csv_bytes([ROW])
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body[3:].decode("utf-8"))))
    assert rows[0] == list(HEADERS)
    assert rows[1][:4] == ["'=B1", "'@一号楼", "3", "2"]
    values = dict(zip(HEADERS, rows[1], strict=True))
    assert values["问题回应率"] == repr(2 / 3)
    assert values["满意度"] == ""  # null: nothing to divide by
    assert values["签收用时中位数(秒)"] == "12.5"
    assert len(rows) == 2


def test_workbook_title_header_percentages_and_text_never_formulas() -> None:
    body = breakdown_workbook("楼长制统计（按楼宇）　统计区间：…", "按楼宇统计", [ROW])
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    assert sheet.title == "按楼宇统计"
    assert sheet["A1"].value.startswith("楼长制统计")
    assert [c.value for c in sheet[2]] == list(HEADERS)
    assert all(c.font.bold for c in sheet[2])
    values = {h: c for h, c in zip(HEADERS, sheet[3], strict=True)}
    assert values["编号"].value == "=B1" and values["编号"].data_type == "s"
    assert values["名称"].value == "@一号楼" and values["名称"].data_type == "s"
    assert math.isclose(values["问题回应率"].value, 2 / 3) and "%" in values["问题回应率"].number_format
    assert values["满意度"].value is None
    assert values["问题总数"].value == 3
    assert sheet.column_dimensions["B"].width >= 8


def test_attachment_names_the_file_in_chinese_with_an_ascii_fallback() -> None:
    header = attachment("楼长制统计_按楼宇_2026-11-01_2026-12-01.csv")
    assert header.startswith('attachment; filename="')
    fallback = header.split('filename="')[1].split('"')[0]
    assert fallback.isascii() and fallback.endswith(".csv")
    encoded = header.split("filename*=UTF-8''")[1]
    assert unquote(encoded) == "楼长制统计_按楼宇_2026-11-01_2026-12-01.csv"
    assert "/" not in unquote(attachment('a/b\\c"d.xlsx').split("''")[1])


def test_control_characters_do_not_break_a_workbook() -> None:
    from openpyxl import Workbook

    from reporting.reports.exports import put

    sheet = Workbook().active
    assert put(sheet, 1, 1, "事项\x18\x0c名").value == "事项\ufffd\ufffd名"
