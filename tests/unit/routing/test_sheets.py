"""Worksheets read within limits: a declared range is ignored, rows and columns are capped."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import openpyxl
import pytest

from routing.directory.spreadsheet import WorkbookError
from routing.enterprises.registry import RegistryError, read_csv, read_xlsx
from routing.sheets import BLANK_RUN, MAX_COLUMNS, MAX_ROWS, SheetError, table_rows

HEADER = ["统一社会信用代码", "企业名称", "楼宇编号"]


def workbook(rows: list[tuple[int, list[Any]]], dimension: str | None = None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for number, values in rows:
        for col, value in enumerate(values, start=1):
            ws.cell(row=number, column=col, value=value)
    out = io.BytesIO()
    wb.save(out)
    if dimension is None:
        return out.getvalue()
    # Rewrite the sheet's declared used range, as a hostile file would.
    source, patched = zipfile.ZipFile(io.BytesIO(out.getvalue())), io.BytesIO()
    with zipfile.ZipFile(patched, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{dimension}"'.encode(), data)
            target.writestr(item, data)
    return patched.getvalue()


def test_a_huge_declared_range_is_ignored() -> None:
    data = workbook([(1, HEADER), (2, ["91310000MA1FL0000X", "某公司", "B001"])], dimension="A1:BXX200000")
    assert len(data) < 10_000
    rows = read_xlsx(data)
    assert [r.row for r in rows] == [2]
    assert rows[0].item["name"] == "某公司"


def test_data_past_the_row_limit_is_refused_naming_the_limit() -> None:
    rows = [(1, HEADER), *[(n, ["x", "y", "B001"]) for n in range(2, MAX_ROWS + 2, 500)]]
    rows.append((MAX_ROWS + 1, ["late", "row", "B001"]))
    with pytest.raises(RegistryError, match=f"row {MAX_ROWS + 1} holds data: at most {MAX_ROWS:,} rows"):
        read_xlsx(workbook(rows))


def test_data_past_the_column_limit_is_refused_naming_the_cell() -> None:
    wide = ["a"] * (MAX_COLUMNS + 1)
    with pytest.raises(RegistryError, match=r"cell GS2 is past column GR: at most 200 columns"):
        read_xlsx(workbook([(1, HEADER), (2, wide)]))


def test_blank_cells_past_the_column_limit_are_fine() -> None:
    assert [n for n, _ in table_rows([["a", *([None] * (MAX_COLUMNS + 50))]], where="t")] == [1]


def test_data_after_a_run_of_blank_rows_is_refused_not_dropped() -> None:
    late = BLANK_RUN + 10
    data = workbook([(1, HEADER), (2, ["91310000MA1FL0000X", "某公司", "B001"]), (late, ["x", "y", "B001"])])
    with pytest.raises(RegistryError, match=f"row {late} holds data after"):
        read_xlsx(data)


def test_a_few_blank_rows_are_skipped_and_counted() -> None:
    data = workbook([(1, HEADER), (2, ["u1", "甲", "B001"]), (5, ["u2", "乙", "B001"])])
    assert [r.row for r in read_xlsx(data)] == [2, 5]


def test_csv_has_the_same_limits() -> None:
    text = ",".join(HEADER) + "\n" + ",".join(["a"] * (MAX_COLUMNS + 1)) + "\n"
    with pytest.raises(RegistryError, match="at most 200 columns"):
        read_csv(text.encode())


def test_the_directory_workbook_is_read_within_limits_too(tmp_path: Any) -> None:
    from routing.directory.spreadsheet import read_workbook

    wb = openpyxl.Workbook()
    wb.active.title = "角色"
    wb.active.append(["代码", "名称"])
    wb.active.cell(row=BLANK_RUN + 5, column=1, value="stray")
    path = tmp_path / "d.xlsx"
    wb.save(path)
    with pytest.raises(WorkbookError, match="sheet 角色: row"):
        read_workbook(path)


def test_sheet_error_is_a_value_error() -> None:
    assert issubclass(SheetError, ValueError)
