"""The directory document read from an XLSX workbook, laid out as the staff who keep it in a spreadsheet do.

Pure: no network, no database. One sheet per part of the document (English or Chinese sheet names),
the header row first (English or Chinese headers), one row per item:

| sheet | columns |
|---|---|
| roles / 角色 | code 代码, name 名称 |
| staff / 人员 | id 编号, name 姓名, phone 电话, email 邮箱, admin 管理员 (是/否; empty: no) |
| grid / 网格 | id 编号, name 名称, parent 上级 (empty for the one root), heads 负责人 |
| buildings / 楼宇 | id 编号, name 名称, grid_node 网格, heads 楼长, address 地址, lat 纬度, long 经度, |
|  | note 备注, then one column per role (lat and long: WGS-84 degrees) |
| services / 服务 | code 代码, name 名称, group 分组, role 角色, department 部门, urgent 紧急, acknowledge 签收时限, |
|  | resolve 办结时限, calendar 日历 |

Buildings may also have a datum 坐标系 column: lat and long are then in the datum it names, WGS-84
when blank, or GCJ-02 (what Chinese map apps show: `datum`), converted by the model.

Contact channels carry secrets and are not read from spreadsheets. A workbook that cannot be read as
such (a sheet or a required column missing, an unknown column) raises `WorkbookError`; problems of
the grid tree (two roots, a missing parent, a cycle) are returned with their sheet row; everything
else is left to `Directory.model_validate` and `problems()`, whose locations `SheetDocument.locate`
turns into sheet rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from openpyxl.utils import get_column_letter

from routing.sheets import SheetError, open_workbook, worksheet_rows

Loc = tuple[str | int, ...]
Problem = dict[str, Any]

IGNORED_PREFIX = "#"
_SEPARATORS = re.compile(r"[,，;；、\s]+")
_TRUE = {"是", "true", "1", "yes", "y", "√", "✓"}
_FALSE = {"否", "false", "0", "no", "n", "×"}
_CALENDARS = {"natural": "natural", "自然日": "natural", "working": "working", "工作日": "working"}
# 坐标系: how a keeper may name the datum of 纬度/经度 (case, spaces, "-" and a trailing 坐标(系)
# ignored). The map apps that show GCJ-02 are named for it; anything else is left for validation
# to refuse.
_DATUMS = {
    "wgs84": "WGS-84",
    "gps": "WGS-84",
    "gcj02": "GCJ-02",
    "火星": "GCJ-02",
    "国测局": "GCJ-02",
    "高德": "GCJ-02",
    "腾讯": "GCJ-02",
}
_LOCATION = ("lat", "long", "datum")  # building columns that land in its `location`


class WorkbookError(ValueError):
    """The workbook cannot be read as a directory: a sheet or a required column is missing, a header is unknown."""


@dataclass(frozen=True)
class Column:
    field: str
    headers: tuple[str, ...]  # accepted besides `field`; the first is the one documented
    required: bool = False

    @property
    def label(self) -> str:
        return f"{self.headers[0]}/{self.field}"


@dataclass(frozen=True)
class SheetSpec:
    key: str
    chinese: str
    columns: tuple[Column, ...]
    role_columns: bool = False  # any other header is a role (buildings' team)

    @property
    def label(self) -> str:
        return f"{self.chinese}/{self.key}"


ROLES = SheetSpec("roles", "角色", (Column("code", ("代码", "编码"), True), Column("name", ("名称",), True)))
STAFF = SheetSpec(
    "staff",
    "人员",
    (
        Column("id", ("编号",), True),
        Column("name", ("姓名", "名称"), True),
        Column("phone", ("电话", "手机")),
        Column("email", ("邮箱", "电子邮箱")),
        Column("admin", ("管理员",)),
    ),
)
GRID = SheetSpec(
    "grid",
    "网格",
    (
        Column("id", ("编号",), True),
        Column("name", ("名称",), True),
        Column("parent", ("上级",), True),
        Column("heads", ("负责人",), True),
    ),
)
BUILDINGS = SheetSpec(
    "buildings",
    "楼宇",
    (
        Column("id", ("编号",), True),
        Column("name", ("名称",), True),
        Column("grid_node", ("网格",), True),
        Column("heads", ("楼长",), True),
        Column("address", ("地址",)),
        Column("lat", ("纬度",)),
        Column("long", ("经度",)),
        Column("datum", ("坐标系",)),
        Column("note", ("备注",)),
    ),
    role_columns=True,
)
SERVICES = SheetSpec(
    "services",
    "服务",
    (
        Column("code", ("代码", "编码"), True),
        Column("name", ("名称",), True),
        Column("group", ("分组",)),
        Column("role", ("角色",), True),
        Column("department", ("部门",)),
        Column("urgent", ("紧急",)),
        Column("acknowledge", ("签收时限",), True),
        Column("resolve", ("办结时限",), True),
        Column("calendar", ("日历",)),
    ),
)
SHEETS = (ROLES, STAFF, GRID, BUILDINGS, SERVICES)


@dataclass
class Row:
    number: int  # as the spreadsheet shows it (the header is usually row 1)
    values: dict[str, str]  # field → text, blank cells left out
    roles: dict[str, str] = field(default_factory=dict)  # buildings: role column header → text


@dataclass
class Table:
    title: str  # the sheet's name as the workbook spells it
    rows: list[Row]
    role_headers: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # field or role header → "C 电话" (letter, header)


@dataclass
class SheetDocument:
    """The document read from a workbook, where each part of it came from, and the grid's own problems."""

    document: dict[str, Any]
    rows: dict[Loc, tuple[str, int]] = field(default_factory=dict)  # location in the document → (sheet, row)
    columns: dict[Loc, str] = field(default_factory=dict)  # location of a value → its column, "C 电话"
    problems: list[Problem] = field(default_factory=list)  # each with `sheet` and `row` (None: the whole sheet)

    def row_of(self, loc: Sequence[str | int]) -> tuple[str, int] | None:
        """The sheet and row of the item a problem location points into (a leading "body" is skipped)."""
        parts = tuple(loc[1:] if loc and loc[0] == "body" else loc)
        for end in range(len(parts), 0, -1):
            hit = self.rows.get(parts[:end])
            if hit is not None:
                return hit
        return None

    def column_of(self, loc: Sequence[str | int]) -> str | None:
        """The column ("C 电话") of the cell a problem location points into, if it is one."""
        parts = tuple(loc[1:] if loc and loc[0] == "body" else loc)
        for end in range(len(parts), 0, -1):
            hit = self.columns.get(parts[:end])
            if hit is not None:
                return hit
        return None

    def locate(self, loc: Sequence[str | int]) -> str | None:
        """`loc` as "楼宇 row 5, column D 楼长" (the column when it points into a cell), or None when it
        points at no row."""
        hit = self.row_of(loc)
        if hit is None:
            return None
        column = self.column_of(loc)
        return f"{hit[0]} row {hit[1]}{'' if column is None else f', column {column}'}"


def split_ids(text: str | None) -> list[str]:
    """Several ids in one cell, separated by commas, semicolons, 、 or spaces (half or full width)."""
    return [part for part in _SEPARATORS.split(text or "") if part]


def datum(text: str) -> str:
    """WGS-84 or GCJ-02 from a 坐标系 cell (`GCJ02`, `gcj-02`, `高德`, ...); other text as given."""
    key = "".join(text.split()).replace("-", "").replace("_", "").casefold()
    return _DATUMS.get(key.removesuffix("坐标系").removesuffix("坐标"), text)


def flag(text: str) -> bool | str:
    """是/否, true/false, 1/0; anything else is returned as given, for validation to refuse."""
    folded = text.casefold()
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    return text


def read_workbook(source: str | Path | IO[bytes]) -> SheetDocument:
    """Read the directory document from an XLSX workbook; raises WorkbookError naming the sheet and column."""
    try:
        workbook = open_workbook(source)
    except SheetError as exc:
        raise WorkbookError(str(exc)) from exc
    try:
        tables = {spec.key: _read_table(_sheet(workbook, spec), spec) for spec in SHEETS}
    except SheetError as exc:
        raise WorkbookError(str(exc)) from exc
    finally:
        workbook.close()
    return _Builder(tables).build()


def _sheet(workbook: Any, spec: SheetSpec) -> Any:
    names = {spec.key.casefold(), spec.chinese}
    found = [ws for ws in workbook.worksheets if str(ws.title).strip().casefold() in names]
    if not found:
        have = "、".join(str(ws.title) for ws in workbook.worksheets)
        raise WorkbookError(f"no sheet {spec.chinese} (or {spec.key}); the workbook has: {have}")
    if len(found) > 1:
        raise WorkbookError(f"two sheets for {spec.label}: {found[0].title} and {found[1].title}; keep one")
    return found[0]


def _read_table(ws: Any, spec: SheetSpec) -> Table:
    title = str(ws.title).strip()
    slots: list[tuple[str, str] | None] | None = None  # per column: ("field", name), ("role", header), ("skip", "")
    rows: list[Row] = []
    header: list[str | None] = []
    for number, texts in worksheet_rows(ws):
        if slots is None:
            slots = _header(title, spec, texts)
            header = texts
            continue
        row = Row(number, {})
        for i, text in enumerate(texts):
            if text is None:
                continue
            slot = slots[i] if i < len(slots) else None
            if slot is None:
                raise WorkbookError(
                    f"sheet {title}: cell {get_column_letter(i + 1)}{number} has a value but its column has no header"
                )
            kind, name = slot
            if kind == "field":
                row.values[name] = text
            elif kind == "role":
                row.roles[name] = text
        rows.append(row)
    if slots is None:
        expected = ", ".join(c.label for c in spec.columns)
        raise WorkbookError(f"sheet {title} is empty: its first row must be the header ({expected})")
    columns = {
        slot[1]: f"{get_column_letter(i + 1)} {header[i]}" for i, slot in enumerate(slots) if slot and slot[0] != "skip"
    }
    return Table(title, rows, [slot[1] for slot in slots if slot and slot[0] == "role"], columns)


def _header(title: str, spec: SheetSpec, texts: list[str | None]) -> list[tuple[str, str] | None]:
    lookup = {alias.casefold(): c.field for c in spec.columns for alias in (c.field, *c.headers)}
    slots: list[tuple[str, str] | None] = []
    seen: dict[tuple[str, str], str] = {}
    for i, text in enumerate(texts):
        letter = get_column_letter(i + 1)
        if text is None:
            slots.append(None)
            continue
        if text.startswith(IGNORED_PREFIX):
            slots.append(("skip", ""))
            continue
        name = lookup.get(text.casefold())
        if name is not None:
            slot = ("field", name)
        elif spec.role_columns:
            slot = ("role", text)
        else:
            expected = ", ".join(c.label for c in spec.columns)
            raise WorkbookError(
                f"sheet {title}: unknown column {text!r} ({letter}1); the columns are {expected} "
                f"(a column whose header starts with {IGNORED_PREFIX} is ignored)"
            )
        if slot in seen:
            raise WorkbookError(f"sheet {title}: columns {seen[slot]} and {letter} are both {text!r}")
        seen[slot] = letter
        slots.append(slot)
    missing = [c.label for c in spec.columns if c.required and ("field", c.field) not in seen]
    if missing:
        raise WorkbookError(f"sheet {title}: missing column {', '.join(missing)}")
    return slots


class _Builder:
    def __init__(self, tables: dict[str, Table]) -> None:
        self.tables = tables
        self.rows: dict[Loc, tuple[str, int]] = {}
        self.columns: dict[Loc, str] = {}
        self.problems: list[Problem] = []
        self.role_codes: set[str] = set()
        self.role_names: dict[str, str] = {}

    def build(self) -> SheetDocument:
        document: dict[str, Any] = {"roles": self._roles(), "staff": self._staff()}
        grid = self._grid()
        if grid is not None:
            document["grid"] = grid
        document["buildings"] = self._buildings()
        document["services"] = self._services()
        return SheetDocument(document, self.rows, self.columns, self.problems)

    def _items(self, key: str, make: Callable[[Row], dict[str, Any]]) -> list[dict[str, Any]]:
        table = self.tables[key]
        items = []
        for i, row in enumerate(table.rows):
            self.rows[(key, i)] = (table.title, row.number)
            self._columns(key, (key, i))
            items.append(make(row))
        return items

    def _columns(self, key: str, at: Loc) -> None:
        """Where each column's cell of the item at `at` lands in the document."""
        table = self.tables[key]
        for name, label in table.columns.items():
            if name in table.role_headers:
                self.columns[(*at, "team", self.role(name))] = label
            elif key == "buildings" and name in _LOCATION:
                self.columns[(*at, "location", name)] = label
            elif key == "services" and name in ("acknowledge", "resolve", "calendar"):
                self.columns[(*at, "sla", name)] = label
            else:
                self.columns[(*at, name)] = label

    def _roles(self) -> list[dict[str, Any]]:
        roles = self._items("roles", lambda row: _pick(row.values, "code", "name"))
        self.role_codes = {r["code"] for r in roles if "code" in r}
        self.role_names = {r["name"]: r["code"] for r in roles if "code" in r and "name" in r}
        return roles

    def role(self, text: str) -> str:
        """A role code, from its code or its (Chinese) name; unknown text is kept for validation to name."""
        if text in self.role_codes:
            return text
        return self.role_names.get(text, text)

    def _staff(self) -> list[dict[str, Any]]:
        def make(row: Row) -> dict[str, Any]:
            member = _pick(row.values, "id", "name", "phone", "email")
            if "admin" in row.values:
                member["admin"] = flag(row.values["admin"])
            return member

        return self._items("staff", make)

    def _buildings(self) -> list[dict[str, Any]]:
        table = self.tables["buildings"]
        codes: dict[str, str] = {}
        for header in table.role_headers:
            code = self.role(header)
            if code in codes:
                raise WorkbookError(f"sheet {table.title}: columns {codes[code]!r} and {header!r} are both role {code}")
            codes[code] = header

        def make(row: Row) -> dict[str, Any]:
            building = _pick(row.values, "id", "name", "grid_node", "address", "note")
            if any(name in row.values for name in _LOCATION):  # the model names a bad or half location
                building["location"] = _pick(row.values, "lat", "long")
                if "datum" in row.values:
                    building["location"]["datum"] = datum(row.values["datum"])
            building["heads"] = split_ids(row.values.get("heads"))
            building["team"] = {self.role(header): staff for header, staff in row.roles.items()}
            return building

        return self._items("buildings", make)

    def _services(self) -> list[dict[str, Any]]:
        def make(row: Row) -> dict[str, Any]:
            v = row.values
            service = _pick(v, "code", "name", "group", "department")
            if "role" in v:
                service["role"] = self.role(v["role"])
            if "urgent" in v:
                service["urgent"] = flag(v["urgent"])
            sla: dict[str, Any] = {k: v[k].upper() for k in ("acknowledge", "resolve") if k in v}
            if "calendar" in v:
                sla["calendar"] = _CALENDARS.get(v["calendar"].casefold(), v["calendar"])
            service["sla"] = sla
            return service

        return self._items("services", make)

    def _grid_problem(self, row: int | None, msg: str, kind: str) -> None:
        self.problems.append(
            {"loc": ["body", "grid"], "msg": msg, "type": kind, "sheet": self.tables["grid"].title, "row": row}
        )

    def _grid(self) -> dict[str, Any] | None:
        """The nested tree from the rows' parents; problems for what cannot be placed in one tree."""
        nodes: dict[str, _Node] = {}
        for row in self.tables["grid"].rows:
            v = row.values
            node_id = v.get("id")
            if node_id is None:
                self._grid_problem(row.number, "a grid node needs an id (编号/id)", "missing")
                continue
            if node_id in nodes:
                first = nodes[node_id].row
                self._grid_problem(row.number, f"duplicate grid node id {node_id!r} (also row {first})", "duplicate_id")
                continue
            data: dict[str, Any] = _pick(v, "id", "name")
            data["heads"] = split_ids(v.get("heads"))
            data["children"] = []
            nodes[node_id] = _Node(row.number, node_id, v.get("parent"), data)

        children: dict[str, list[_Node]] = {}
        roots: list[_Node] = []
        for node in nodes.values():
            if node.parent is None:
                roots.append(node)
            elif node.parent not in nodes:
                self._grid_problem(
                    node.row,
                    f"grid node {node.id!r}: its parent (上级) {node.parent!r} is not in the sheet",
                    "unknown_parent",
                )
            else:
                children.setdefault(node.parent, []).append(node)

        if not roots:
            self._grid_problem(None, "the grid has no root: one node must have an empty parent (上级)", "grid_root")
        for extra in roots[1:]:
            self._grid_problem(
                extra.row,
                f"grid node {extra.id!r} has no parent (上级), but {roots[0].id!r} (row {roots[0].row}) is "
                "already the root: the grid is one tree",
                "grid_root",
            )

        reachable: set[str] = set()
        for root_index, root in enumerate(roots):
            stack: list[tuple[_Node, Loc]] = [(root, ("grid",))]
            while stack:
                node, path = stack.pop()
                reachable.add(node.id)
                if root_index == 0:
                    self.rows[path] = (self.tables["grid"].title, node.row)
                    self._columns("grid", path)
                for i, child in enumerate(children.get(node.id, [])):
                    if root_index == 0:
                        node.data["children"].append(child.data)
                    stack.append((child, (*path, "children", i)))
        self._cycles(nodes, reachable)
        return roots[0].data if roots else None

    def _cycles(self, nodes: dict[str, _Node], reachable: set[str]) -> None:
        """One problem per cycle of parents among the nodes no root reaches."""
        done = set(reachable)
        for start in nodes.values():
            trail: list[_Node] = []
            node: _Node | None = start
            while node is not None and node.id not in done:
                if node in trail:
                    cycle = trail[trail.index(node) :]
                    first = min(range(len(cycle)), key=lambda i: cycle[i].row)
                    cycle = cycle[first:] + cycle[:first]
                    chain = " → ".join(f"{n.id} (row {n.row})" for n in cycle)
                    self._grid_problem(
                        cycle[0].row,
                        f"grid nodes form a cycle through their parents (上级): {chain} → {cycle[0].id}",
                        "grid_cycle",
                    )
                    break
                trail.append(node)
                node = nodes.get(node.parent) if node.parent is not None else None
            done.update(n.id for n in trail)


@dataclass(eq=False)
class _Node:
    row: int
    id: str
    parent: str | None
    data: dict[str, Any]


def _pick(values: dict[str, str], *fields: str) -> dict[str, Any]:
    return {name: values[name] for name in fields if name in values}
