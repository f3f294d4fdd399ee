"""routing.directory.spreadsheet: the directory document read from an XLSX workbook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from kernel.directory import Directory
from routing.directory.spreadsheet import SheetDocument, WorkbookError, datum, flag, read_workbook, split_ids
from routing.directory.validation import problems
from routing.sheets import cell_text
from tests.support.workbook import Rows, directory_sheets, write_workbook

SLA = ["PT30M", "PT24H"]


def chinese_sheets() -> dict[str, Rows]:
    """Chinese names and headers, Excel's numbers, rows out of tree order, a blank row and padded cells."""
    return {
        "角色": [["代码", "名称"], ["safety", "安全保障员"], ["enterprise_service", "企业服务员"]],
        "人员": [
            ["编号", "姓名", "电话", "邮箱", "#备注"],
            [1001, " 张楼长 ", 13800000001.0, "a@example.org", "总楼长"],
            [1002.0, "李分楼长", "13800000002", None, None],
            [None, None, None, None, None],
            ["S3", "王员", None, None, "不算"],
            ["S4", "赵员", None, None, None],
        ],
        "网格": [
            ["编号", "名称", "上级", "负责人"],
            ["leaf", "天地软件园", "mid", "S3"],
            ["root", "长征镇", None, 1001],
            ["mid", "分网格", "root", "1002，S4"],
            ["side", "星云经济区", "root", "1001 ; S3、S4"],
        ],
        "楼宇": [
            ["编号", "名称", "网格", "楼长", "地址", "备注", "安全保障员", "enterprise_service"],
            ["B1", "电科大厦", "leaf", "S3, S4", "示例路1号", None, "S4", 1002],
            ["B2", "春之声大厦", "root", 1001, None, "示例", None, None],
        ],
        "服务": [
            ["代码", "名称", "分组", "角色", "部门", "紧急", "签收时限", "办结时限", "日历"],
            ["fire-safety", "消防安全隐患", "安全", "安全保障员", "区消防救援支队", "是", *SLA, "自然日"],
            ["talent", "人才服务", None, "enterprise_service", None, "否", "pt4h", "P10D", "工作日"],
            ["lift", "电梯困人", None, "safety", None, None, *SLA, None],
        ],
    }


def read(tmp_path: Path, sheets: dict[str, Rows]) -> SheetDocument:
    return read_workbook(write_workbook(tmp_path / "directory.xlsx", sheets))


def test_chinese_workbook(tmp_path: Path) -> None:
    sheet = read(tmp_path, chinese_sheets())
    doc = sheet.document

    assert sheet.problems == []
    assert doc["roles"] == [
        {"code": "safety", "name": "安全保障员"},
        {"code": "enterprise_service", "name": "企业服务员"},
    ]
    assert doc["staff"] == [
        {"id": "1001", "name": "张楼长", "phone": "13800000001", "email": "a@example.org"},
        {"id": "1002", "name": "李分楼长", "phone": "13800000002"},
        {"id": "S3", "name": "王员"},
        {"id": "S4", "name": "赵员"},
    ]
    assert doc["grid"] == {
        "id": "root",
        "name": "长征镇",
        "heads": ["1001"],
        "children": [
            {
                "id": "mid",
                "name": "分网格",
                "heads": ["1002", "S4"],
                "children": [{"id": "leaf", "name": "天地软件园", "heads": ["S3"], "children": []}],
            },
            {"id": "side", "name": "星云经济区", "heads": ["1001", "S3", "S4"], "children": []},
        ],
    }
    assert doc["buildings"] == [
        {
            "id": "B1",
            "name": "电科大厦",
            "grid_node": "leaf",
            "address": "示例路1号",
            "heads": ["S3", "S4"],
            "team": {"safety": "S4", "enterprise_service": "1002"},  # by the role's name, and by its code
        },
        {"id": "B2", "name": "春之声大厦", "grid_node": "root", "note": "示例", "heads": ["1001"], "team": {}},
    ]
    fire, talent, lift = doc["services"]
    assert fire == {
        "code": "fire-safety",
        "name": "消防安全隐患",
        "group": "安全",
        "department": "区消防救援支队",
        "role": "safety",
        "urgent": True,
        "sla": {"acknowledge": "PT30M", "resolve": "PT24H", "calendar": "natural"},
    }
    assert (talent["role"], talent["urgent"], talent["sla"]) == (
        "enterprise_service",
        False,
        {"acknowledge": "PT4H", "resolve": "P10D", "calendar": "working"},
    )
    assert "urgent" not in lift and "calendar" not in lift["sla"]
    assert problems(Directory.model_validate(doc)) == []


def test_english_workbook_round_trips_the_unit_document(tmp_path: Path, doc: dict[str, Any]) -> None:
    sheets = directory_sheets(doc, chinese=False)
    sheets = {title.capitalize(): rows for title, rows in sheets.items()}  # sheet names are matched without case
    sheets["Staff"][0] = ["ID", "Name", "Phone", "EMAIL"]
    sheet = read(tmp_path, sheets)

    assert sheet.problems == []
    assert Directory.model_validate(sheet.document) == Directory.model_validate(doc).without_channels()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        ("  ", None),
        (" S1\u3000", "S1"),
        (1001, "1001"),
        (1001.0, "1001"),
        (13800000001.0, "13800000001"),
        (1.5, "1.5"),
        (True, "true"),
    ],
)
def test_cell_text(value: object, text: str | None) -> None:
    assert cell_text(value) == text


def test_split_ids() -> None:
    assert split_ids("S1,S2，S3;S4；S5、S6 S7\u3000S8 ,, ") == [f"S{i}" for i in range(1, 9)]
    assert split_ids(None) == []


@pytest.mark.parametrize(
    ("cell", "urgent"),
    [("是", True), ("否", False), ("TRUE", True), ("false", False), (1, True), (0, False), (True, True)],
)
def test_urgent(tmp_path: Path, cell: object, urgent: bool) -> None:
    sheets = chinese_sheets()
    sheets["服务"][1][5] = cell
    assert read(tmp_path, sheets).document["services"][0]["urgent"] is urgent


def test_an_unknown_urgent_value_is_left_for_validation() -> None:
    assert flag("也许") == "也许"


def test_problems_are_located_by_sheet_row(tmp_path: Path) -> None:
    sheets = chinese_sheets()
    sheets["楼宇"].insert(1, [None] * 8)  # a blank row: the buildings now start on row 3
    sheets["楼宇"].append(["B3", "港鸿大厦", "side", "S9", None, None, None, None])  # row 5
    sheets["网格"][3][3] = "S8"  # mid, row 4
    sheet = read(tmp_path, sheets)

    found = problems(Directory.model_validate(sheet.document))
    assert [(p["loc"], sheet.locate(p["loc"])) for p in found] == [
        (["body", "grid", "children", 0, "heads", 0], "网格 row 4, column D 负责人"),
        (["body", "buildings", 2, "heads", 0], "楼宇 row 5, column D 楼长"),
    ]
    assert sheet.locate(["body", "buildings", 0, "team", "safety"]) == "楼宇 row 3, column G 安全保障员"
    assert sheet.locate(["body", "grid", "children", 0, "children", 0, "name"]) == "网格 row 2, column B 名称"
    assert sheet.locate(["body", "grid", "children", 0, "children", 0]) == "网格 row 2"
    assert sheet.locate(["body", "staff", 2]) == "人员 row 5"
    assert sheet.locate(["body"]) is None


@pytest.mark.parametrize(
    ("sheet", "header", "column"),
    [("楼宇", "楼长", "楼长/heads"), ("服务", "签收时限", "签收时限/acknowledge"), ("网格", "上级", "上级/parent")],
)
def test_a_missing_column_is_named(tmp_path: Path, sheet: str, header: str, column: str) -> None:
    sheets = chinese_sheets()
    at = sheets[sheet][0].index(header)
    sheets[sheet] = [row[:at] + row[at + 1 :] for row in sheets[sheet]]
    with pytest.raises(WorkbookError, match=f"sheet {sheet}: missing column {column}"):
        read(tmp_path, sheets)


def test_a_missing_sheet_is_named(tmp_path: Path) -> None:
    sheets = chinese_sheets()
    sheets["服务目录"] = sheets.pop("服务")
    with pytest.raises(WorkbookError, match=r"no sheet 服务 \(or services\); the workbook has: .*服务目录"):
        read(tmp_path, sheets)


def test_an_unknown_column_is_named(tmp_path: Path) -> None:
    sheets = chinese_sheets()
    sheets["人员"][0][4] = "职务"
    with pytest.raises(WorkbookError, match=r"sheet 人员: unknown column '职务' \(E1\)"):
        read(tmp_path, sheets)


def test_a_value_without_a_header_is_refused(tmp_path: Path) -> None:
    sheets = chinese_sheets()
    sheets["角色"][2].append("多余")
    with pytest.raises(WorkbookError, match="sheet 角色: cell C3 has a value but its column has no header"):
        read(tmp_path, sheets)


def test_two_columns_for_one_role_are_refused(tmp_path: Path) -> None:
    sheets = chinese_sheets()
    sheets["楼宇"][0][7] = "safety"  # and 安全保障员 is column G
    with pytest.raises(WorkbookError, match="sheet 楼宇: columns '安全保障员' and 'safety' are both role safety"):
        read(tmp_path, sheets)


def test_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "directory.xlsx"
    path.write_text("编号,名称\n")
    with pytest.raises(WorkbookError, match="not a readable XLSX workbook"):
        read_workbook(path)


def grid_problems(tmp_path: Path, rows: Rows) -> list[tuple[int | None, str, str]]:
    sheets = chinese_sheets()
    sheets["网格"] = [sheets["网格"][0], *rows]
    sheet = read(tmp_path, sheets)
    assert all(p["sheet"] == "网格" and p["loc"] == ["body", "grid"] for p in sheet.problems)
    return [(p["row"], p["type"], p["msg"]) for p in sheet.problems]


def test_two_roots(tmp_path: Path) -> None:
    rows: Rows = [["root", "长征镇", None, 1001], ["other", "真如镇", None, 1001], ["leaf", "园区", "other", "S3"]]
    assert grid_problems(tmp_path, rows) == [
        (
            3,
            "grid_root",
            "grid node 'other' has no parent (上级), but 'root' (row 2) is already the root: the grid is one tree",
        )
    ]


def test_no_root(tmp_path: Path) -> None:
    assert grid_problems(tmp_path, [["a", "甲", "b", 1001], ["b", "乙", "a", 1001]])[0] == (
        None,
        "grid_root",
        "the grid has no root: one node must have an empty parent (上级)",
    )


def test_a_missing_parent(tmp_path: Path) -> None:
    rows: Rows = [["root", "长征镇", None, 1001], ["leaf", "园区", "nowhere", "S3"], ["under", "楼群", "leaf", "S3"]]
    assert grid_problems(tmp_path, rows) == [
        (3, "unknown_parent", "grid node 'leaf': its parent (上级) 'nowhere' is not in the sheet")
    ]


def test_a_cycle(tmp_path: Path) -> None:
    rows: Rows = [
        ["root", "长征镇", None, 1001],
        ["c", "丙", "a", "S3"],
        ["a", "甲", "b", "S3"],
        ["b", "乙", "c", "S3"],
        ["below", "楼群", "b", "S3"],
        ["self", "自己", "self", "S3"],
    ]
    assert grid_problems(tmp_path, rows) == [
        (
            3,
            "grid_cycle",
            "grid nodes form a cycle through their parents (上级): c (row 3) → a (row 4) → b (row 5) → c",
        ),
        (7, "grid_cycle", "grid nodes form a cycle through their parents (上级): self (row 7) → self"),
    ]


def test_a_duplicate_grid_node(tmp_path: Path) -> None:
    rows: Rows = [["root", "长征镇", None, 1001], ["root", "又一个", None, 1001]]
    assert grid_problems(tmp_path, rows) == [(3, "duplicate_id", "duplicate grid node id 'root' (also row 2)")]


@pytest.mark.parametrize(
    ("cell", "admin"),
    [
        ("是", True),
        ("否", False),
        ("yes", True),
        ("NO", False),
        ("TRUE", True),
        ("false", False),
        (1, True),
        (0, False),
        (True, True),
        (None, None),
    ],
)
def test_the_admin_column(tmp_path: Path, cell: object, admin: bool | None) -> None:
    sheets = chinese_sheets()
    sheets["人员"][0].append("管理员")
    for row in sheets["人员"][1:]:
        row.append(None)
    sheets["人员"][1][-1] = cell
    doc = read(tmp_path, sheets).document
    assert doc["staff"][0].get("admin") is admin  # blank: no key, so not an admin
    assert "admin" not in doc["staff"][1]
    assert Directory.model_validate(doc).staff[0].admin is bool(admin)


def test_the_admin_column_in_english(tmp_path: Path) -> None:
    sheets = chinese_sheets()
    sheets["人员"][0].append("admin")
    sheets["人员"][1].append("y")
    assert read(tmp_path, sheets).document["staff"][0]["admin"] is True


def test_a_bad_admin_value_is_refused_with_its_row_and_column(tmp_path: Path) -> None:
    sheets = chinese_sheets()
    sheets["人员"][0].append("管理员")
    sheets["人员"][2].append("也许")  # staff 1002, row 3; column F (after #备注 in E)
    sheet = read(tmp_path, sheets)
    assert sheet.document["staff"][1]["admin"] == "也许"
    assert sheet.locate(["body", "staff", 1, "admin"]) == "人员 row 3, column F 管理员"


@pytest.mark.parametrize(
    ("text", "named"),
    [("GCJ-02", "GCJ-02"), ("gcj02", "GCJ-02"), ("高德坐标", "GCJ-02"), ("火星坐标系", "GCJ-02"), ("WGS84", "WGS-84")],
)
def test_datum_names(text: str, named: str) -> None:
    assert datum(text) == named
    assert datum("BD-09") == "BD-09"  # left for validation to refuse


def test_a_datum_column_converts_gcj02_locations_and_names_a_bad_one(tmp_path: Path) -> None:
    sheets = chinese_sheets()
    sheets["楼宇"] = [
        ["编号", "名称", "网格", "楼长", "纬度", "经度", "坐标系", "安全保障员"],
        ["B1", "电科大厦", "leaf", "S3", 31.17530398364597, 121.531541859215, "GCJ-02", None],  # row 2: 高德's point
        ["B2", "春之声大厦", "root", 1001, 31.1774276, 121.5272106, None, None],  # row 3: WGS-84
        ["B3", "港鸿大厦", "root", 1001, 31.2, 121.4, "百度", None],  # row 4: not a datum taken
    ]
    sheet = read(tmp_path, sheets)
    with pytest.raises(ValidationError) as caught:
        Directory.model_validate(sheet.document)
    [error] = caught.value.errors()
    assert error["loc"] == ("buildings", 2, "location", "datum")
    assert sheet.locate(["body", *error["loc"]]) == "楼宇 row 4, column G 坐标系"
    assert sheet.locate(["body", "buildings", 0, "location", "lat"]) == "楼宇 row 2, column E 纬度"

    sheets["楼宇"].pop()
    doc = Directory.model_validate(read(tmp_path, sheets).document)
    b1, b2 = (b.location for b in doc.buildings)
    assert b1 is not None and b2 is not None
    assert (b1.lat, b1.long) == pytest.approx((31.1774276, 121.5272106), abs=1e-8)  # kept as WGS-84
    assert (b2.lat, b2.long) == (31.1774276, 121.5272106)
    assert doc.model_dump(mode="json")["buildings"][0]["location"] == {"lat": b1.lat, "long": b1.long}
