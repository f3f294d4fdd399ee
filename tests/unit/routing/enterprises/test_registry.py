"""The registry export read as items: headers in Chinese or English, UTF-8 (BOM or not) or GBK CSV, XLSX."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from routing.enterprises.registry import (
    RegistryError,
    RegistryRow,
    building_names,
    read_csv,
    read_file,
    read_xlsx,
)

CHINESE = "统一社会信用代码,企业名称,楼宇编号,行业,联系人,联系电话,法定代表人\n"
USCC = "91310107MA1DEM0018"


def rows_of(found: list[RegistryRow]) -> list[tuple[int, dict[str, Any]]]:
    return [(r.row, r.item) for r in found]


def write_xlsx(path: Path, rows: list[list[Any]], title: str = "企业") -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_chinese_headers_utf8() -> None:
    text = CHINESE + f"{USCC},示例科技有限公司,B1,信息技术,王经理,13900000001,张三\n"
    assert rows_of(read_csv(text.encode("utf-8"))) == [
        (
            2,
            {
                "uscc": USCC,
                "name": "示例科技有限公司",
                "building_id": "B1",
                "industry": "信息技术",
                "contact": {"name": "王经理", "phone": "13900000001"},
            },
        )
    ]


def test_utf8_with_bom_and_gbk_read_alike() -> None:
    text = CHINESE + f"{USCC},示例科技有限公司,B1,信息技术,王经理,13900000001,张三\r\n"
    plain = read_csv(text.encode("utf-8"))
    assert read_csv(b"\xef\xbb\xbf" + text.encode("utf-8")) == plain
    assert read_csv(text.encode("gbk")) == plain


def test_english_headers_any_case_with_id_and_blank_optional_cells() -> None:
    text = "ID, USCC ,Name,building_id,industry,contact_name,contact_phone\nE1,91310107ma1dem0018,Acme,B2,,,\n"
    assert rows_of(read_csv(text.encode())) == [
        (
            2,
            {
                "id": "E1",
                "uscc": "91310107ma1dem0018",
                "name": "Acme",
                "building_id": "B2",
                "industry": None,
                "contact": None,
            },
        )
    ]


def test_absent_optional_columns_leave_their_fields_out() -> None:
    text = "统一社会信用代码,企业名称,所在楼宇\n" + f"{USCC},甲公司,B1\n"
    assert rows_of(read_csv(text.encode())) == [(2, {"uscc": USCC, "name": "甲公司", "building_id": "B1"})]


def test_csv_rows_are_line_numbers_the_first_line_being_1_blank_lines_counted() -> None:
    text = "统一社会信用代码,企业名称,楼宇编号\n" + f"{USCC},甲,B1\n,,\n\n{USCC},乙,B2\n"
    assert [r.row for r in read_csv(text.encode())] == [2, 5]
    # A blank line above the header is counted too, as an editor shows it.
    assert [r.row for r in read_csv(("\n" + text).encode())] == [3, 6]


def test_a_csv_cell_spanning_lines_puts_its_record_where_it_starts() -> None:
    text = "统一社会信用代码,企业名称,楼宇编号\n" + f'{USCC},"甲\n公司",B1\n{USCC},乙,B2\n'
    assert [(r.row, r.item["name"]) for r in read_csv(text.encode())] == [(2, "甲\n公司"), (4, "乙")]


def test_a_title_row_above_the_header_is_skipped_and_counted() -> None:
    text = "普陀区企业登记信息,,\n导出日期 2026-12-01,,\n统一社会信用代码,企业名称,楼宇编号\n" + f"{USCC},甲,B1\n"
    assert rows_of(read_csv(text.encode())) == [(4, {"uscc": USCC, "name": "甲", "building_id": "B1"})]


def test_a_header_naming_no_column_is_named_with_its_row() -> None:
    with pytest.raises(RegistryError, match=r"missing column .*the header \(row 1\) has: 名字、地方"):
        read_csv("名字,地方\n甲,乙\n".encode())


def test_a_blank_required_cell_leaves_the_field_out() -> None:
    text = "统一社会信用代码,企业名称,楼宇编号\n" + f"{USCC},,B1\n"
    assert rows_of(read_csv(text.encode())) == [(2, {"uscc": USCC, "building_id": "B1"})]


def test_building_names_become_ids() -> None:
    names = {"一号楼": "B1", "二号楼": "B2"}
    text = "统一社会信用代码,企业名称,楼宇名称\n" + f"{USCC},甲,二号楼\n{USCC},乙,无名楼\n"
    assert [r.item["building_id"] for r in read_csv(text.encode(), names)] == ["B2", "无名楼"]


def test_a_name_in_the_building_id_column_is_resolved_and_an_id_kept() -> None:
    names = {"一号楼": "B1"}
    text = "统一社会信用代码,企业名称,所在楼宇\n" + f"{USCC},甲,一号楼\n{USCC},乙,B1\n"
    assert [r.item["building_id"] for r in read_csv(text.encode(), names)] == ["B1", "B1"]


def test_the_id_column_wins_over_the_name_column() -> None:
    text = "统一社会信用代码,企业名称,楼宇编号,楼宇名称\n" + f"{USCC},甲,B9,一号楼\n{USCC},乙,,一号楼\n"
    assert [r.item["building_id"] for r in read_csv(text.encode(), {"一号楼": "B1"})] == ["B9", "B1"]


def test_building_names_skip_names_two_buildings_share() -> None:
    assert building_names([("B1", "一号楼"), ("B2", "二号楼"), ("B3", "一号楼")]) == {"二号楼": "B2"}


def test_tab_separated() -> None:
    text = "统一社会信用代码\t企业名称\t楼宇编号\n" + f"{USCC}\t甲, 乙合伙\tB1\n"
    assert rows_of(read_csv(text.encode())) == [(2, {"uscc": USCC, "name": "甲, 乙合伙", "building_id": "B1"})]


def test_a_missing_required_column_is_named() -> None:
    with pytest.raises(
        RegistryError, match=r"missing column 统一社会信用代码/uscc, 楼宇编号/building_id \(or 楼宇名称/building\)"
    ):
        read_csv("企业名称,行业\n甲,金融\n".encode())


def test_a_repeated_column_is_refused() -> None:
    with pytest.raises(RegistryError, match="both 企业名称/name"):
        read_csv("统一社会信用代码,企业名称,name,楼宇编号\n".encode())


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(RegistryError, match="empty"):
        read_csv(b"\n\n")


def test_binary_is_not_csv() -> None:
    with pytest.raises(RegistryError):
        read_csv(b"\x00\x01\x02\xff\xfe")


def test_xlsx_first_sheet_with_numeric_cells(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "registry.xlsx",
        [
            ["编号", "统一社会信用代码", "企业名称", "楼宇编号", "联系人", "联系电话", "注册资本"],
            [101, USCC, "甲公司", "B1", "王经理", 13900000001, 500.0],
            [None, None, None, None, None, None, None],
            [102.0, USCC, "乙公司", "B2", None, 13900000002.0, None],
        ],
    )
    workbook = openpyxl.load_workbook(path)
    workbook.create_sheet("其他").append(["不读", "这一页"])
    workbook.save(path)

    assert rows_of(read_xlsx(path)) == [
        (
            2,
            {
                "id": "101",
                "uscc": USCC,
                "name": "甲公司",
                "building_id": "B1",
                "contact": {"name": "王经理", "phone": "13900000001"},
            },
        ),
        (
            4,
            {
                "id": "102",
                "uscc": USCC,
                "name": "乙公司",
                "building_id": "B2",
                "contact": {"name": None, "phone": "13900000002"},
            },
        ),
    ]
    assert read_xlsx(path.read_bytes()) == read_xlsx(path)


def test_xlsx_rows_are_the_rows_excel_shows_below_a_title(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "registry.xlsx",
        [
            ["普陀区企业登记信息"],  # row 1: a title
            [None],  # row 2: blank
            ["统一社会信用代码", "企业名称", "楼宇编号"],  # row 3: the header
            [USCC, "甲公司", "B1"],  # row 4
            [None, None, None],
            [USCC, "乙公司", "B2"],  # row 6
        ],
    )
    assert [(r.row, r.item["name"]) for r in read_xlsx(path)] == [(4, "甲公司"), (6, "乙公司")]


def test_xlsx_missing_column(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", [["uscc", "building_id"], [USCC, "B1"]])
    with pytest.raises(RegistryError, match="missing column 企业名称/name"):
        read_xlsx(path)


def test_not_a_workbook() -> None:
    with pytest.raises(RegistryError, match="not a readable XLSX workbook"):
        read_xlsx(b"PK\x03\x04 not really")


def test_read_file_by_suffix(tmp_path: Path) -> None:
    csv_path = tmp_path / "r.csv"
    csv_path.write_bytes((CHINESE + f"{USCC},甲,B1,,,,\n").encode("gbk"))
    assert [r.item["name"] for r in read_file(csv_path)] == ["甲"]

    json_path = tmp_path / "r.json"
    json_path.write_text(json.dumps({"items": [{"uscc": USCC}, "x"]}), encoding="utf-8")
    assert rows_of(read_file(json_path)) == [(1, {"uscc": USCC}), (2, "x")]

    yaml_path = tmp_path / "r.yaml"
    yaml_path.write_text("items:\n- {uscc: X, plan: [{item: a, due: 2026-05-01}]}\n", encoding="utf-8")
    assert read_file(yaml_path)[0].item["plan"][0]["item"] == "a"

    with pytest.raises(RegistryError, match=r"hold \{\"items\""):
        json_path.write_text("[]", encoding="utf-8")
        read_file(json_path)
    with pytest.raises(RegistryError, match=r"use \.csv, \.xlsx"):
        read_file(tmp_path / "r.xls")


def test_rows_carry_the_files_columns_for_messages() -> None:
    text = "法定代表人,统一社会信用代码,企业名称,楼宇名称,联系电话\n" + f"张三,{USCC},甲,一号楼,139\n"
    [row] = read_csv(text.encode())
    assert row.columns == {
        "uscc": "B 统一社会信用代码",
        "name": "C 企业名称",
        "building": "D 楼宇名称",
        "building_id": "D 楼宇名称",  # the name is turned into the id
        "contact_phone": "E 联系电话",
    }
