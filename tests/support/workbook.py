"""XLSX workbooks for the tests, written with openpyxl: sheets given as rows, or a whole directory document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl

Rows = list[list[Any]]


def write_workbook(path: Path, sheets: dict[str, Rows]) -> Path:
    """One sheet per entry, in order, each row as given (the header is the first row)."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def directory_sheets(doc: dict[str, Any], *, chinese: bool = True) -> dict[str, Rows]:
    """A directory document laid out as the staff keep it (channels left out).

    The buildings' team columns are headed by the role's name for the first role and by its code for
    the others, so that both are read back.
    """
    roles = doc.get("roles", [])
    role_headers = [role["name"] if i == 0 else role["code"] for i, role in enumerate(roles)]
    grid: Rows = []
    stack: list[tuple[dict[str, Any], str | None]] = [(doc["grid"], None)]
    while stack:
        node, parent = stack.pop()
        grid.append([node["id"], node["name"], parent, "、".join(node.get("heads", []))])
        stack.extend((child, node["id"]) for child in reversed(node.get("children", [])))

    def building(b: dict[str, Any]) -> list[Any]:
        team = b.get("team", {})
        place = b.get("location") or {}
        fixed = [b["id"], b["name"], b["grid_node"], ", ".join(b["heads"]), b.get("address")]
        fixed += [place.get("lat"), place.get("long"), b.get("note")]
        return fixed + [team.get(role["code"]) for role in roles]

    def service(s: dict[str, Any]) -> list[Any]:
        sla = s["sla"]
        urgent = ("是" if s.get("urgent") else "否") if chinese else bool(s.get("urgent"))
        calendar = {"natural": "自然日", "working": "工作日"}[sla.get("calendar", "natural")] if chinese else None
        calendar = calendar or sla.get("calendar")
        return [
            s["code"],
            s["name"],
            s.get("group"),
            s["role"],
            s.get("department"),
            urgent,
            sla["acknowledge"],
            sla["resolve"],
            calendar,
        ]

    def admin(s: dict[str, Any]) -> Any:
        if not s.get("admin"):
            return None  # blank: not an admin
        return "是" if chinese else True

    if chinese:
        headers = {
            "角色": ["代码", "名称"],
            "人员": ["编号", "姓名", "电话", "邮箱", "管理员"],
            "网格": ["编号", "名称", "上级", "负责人"],
            "楼宇": ["编号", "名称", "网格", "楼长", "地址", "纬度", "经度", "备注"],
            "服务": ["代码", "名称", "分组", "角色", "部门", "紧急", "签收时限", "办结时限", "日历"],
        }
    else:
        headers = {
            "roles": ["code", "name"],
            "staff": ["id", "name", "phone", "email", "admin"],
            "grid": ["id", "name", "parent", "heads"],
            "buildings": ["id", "name", "grid_node", "heads", "address", "lat", "long", "note"],
            "services": ["code", "name", "group", "role", "department", "urgent", "acknowledge", "resolve", "calendar"],
        }
    bodies: list[Rows] = [
        [[r["code"], r["name"]] for r in roles],
        [[s["id"], s["name"], s.get("phone"), s.get("email"), admin(s)] for s in doc.get("staff", [])],
        grid,
        [building(b) for b in doc.get("buildings", [])],
        [service(s) for s in doc.get("services", [])],
    ]
    sheets: dict[str, Rows] = {}
    for (title, header), body in zip(headers.items(), bodies, strict=True):
        if title in ("楼宇", "buildings"):
            header = header + role_headers
        sheets[title] = [header, *body]
    return sheets
