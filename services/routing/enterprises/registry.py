"""The market-supervision registry's export (企业登记信息) read as enterprise items.

Pure: no network, no database. A CSV file (UTF-8 with or without a BOM, else GBK; commas, or tabs
when the header has no comma) or an XLSX workbook (its first sheet). The first non-blank row is the
header, Chinese or English:

| field | headers accepted |
|---|---|
| uscc (required) | 统一社会信用代码, 社会信用代码, 信用代码, uscc |
| name (required) | 企业名称, 名称, name |
| building_id (this or building) | 楼宇编号, 所在楼宇, building_id: an id, or a name found in the mapping given |
| building | 楼宇名称, building: the building's name, turned into its id through the mapping given |
| industry | 行业, 所属行业, industry |
| contact_name | 联系人, contact_name |
| contact_phone | 联系电话, 电话, 手机, contact_phone |
| id | 编号, 企业编号, id: optional; routing uses the USCC when there is none |

Other columns (the export has many: 法定代表人, 注册资本, …) are ignored. A header may carry a
trailing `*`; case and spaces do not matter. Rows above the header that name none of these columns
(a title such as 普陀区企业登记信息, a date) are skipped, up to `MAX_TITLE_ROWS` of them.

Rows keep **the number the user sees**: in a workbook the row number Excel shows (the header is
usually row 1, its first data row row 2); in a CSV file the line number, the first line being line 1
(a quoted cell spanning lines puts its record at the line where it starts). Blank rows are skipped
but counted. These are the `row` numbers of the upload's report.

Each row becomes an item in the shape of `PUT /v1/enterprises`' JSON items. A blank required cell
leaves its field out (the report then says it is required). A blank cell of an optional column gives
null: the file speaks to that field, which is cleared. A column that is absent leaves the field out,
and routing keeps what it holds.

`read_file` (for the command line) also reads a .json/.yaml `{"items": [...]}` document, its items
numbered from 1.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from openpyxl.utils import get_column_letter

from routing.documents import SUFFIXES, DocumentError, parse_document
from routing.sheets import SheetError, numbered_rows, open_workbook, worksheet_rows

XLSX_MAGIC = b"PK\x03\x04"
MAX_TITLE_ROWS = 10


class RegistryError(ValueError):
    """The file cannot be read as a registry export: not CSV/XLSX, no header, a required column missing."""


@dataclass(frozen=True)
class Column:
    field: str
    headers: tuple[str, ...]  # accepted besides `field`; the first is the one documented

    @property
    def label(self) -> str:
        return f"{self.headers[0]}/{self.field}"


COLUMNS = (
    Column("uscc", ("统一社会信用代码", "社会信用代码", "信用代码")),
    Column("name", ("企业名称", "名称")),
    Column("building_id", ("楼宇编号", "所在楼宇")),
    Column("building", ("楼宇名称",)),
    Column("industry", ("行业", "所属行业")),
    Column("contact_name", ("联系人",)),
    Column("contact_phone", ("联系电话", "电话", "手机")),
    Column("id", ("编号", "企业编号")),
)
BY_FIELD = {c.field: c for c in COLUMNS}
LABELS = {c.field: c.headers[0] for c in COLUMNS}  # field → its Chinese header, for messages
_LOOKUP = {_key: c.field for c in COLUMNS for _key in (c.field.casefold(), *(h.casefold() for h in c.headers))}


@dataclass(frozen=True)
class RegistryRow:
    row: int  # as the user sees it: Excel's row number, or a CSV file's line number
    item: dict[str, Any]
    # The file's columns by the item field they fill, for messages: {"building_id": "D 所在楼宇", ...}
    # (contact's fields as contact_name, contact_phone). The same for every row of a file; empty for JSON.
    columns: Mapping[str, str] = dataclasses.field(default_factory=dict, compare=False)


def building_names(buildings: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Name → id from (id, name) pairs, for the names only one building has (others need their id)."""
    found: dict[str, list[str]] = {}
    for building_id, name in buildings:
        found.setdefault(name, []).append(building_id)
    return {name: ids[0] for name, ids in found.items() if len(ids) == 1}


def _normal(header: str) -> str:
    return "".join(header.replace("\ufeff", "").split()).rstrip("*＊").casefold()


def _known(cells: Sequence[str | None]) -> bool:
    """Whether a row names any of the columns read (else it is a title above the header)."""
    return any(text is not None and _normal(text) in _LOOKUP for text in cells)


def _header(cells: Sequence[str | None], number: int) -> dict[str, int]:
    """Field → column index; raises RegistryError for a repeated or a missing required column."""
    columns: dict[str, int] = {}
    for i, text in enumerate(cells):
        if text is None:
            continue
        field = _LOOKUP.get(_normal(text))
        if field is None:
            continue  # the export's other columns
        if field in columns:
            raise RegistryError(f"columns {columns[field] + 1} and {i + 1} are both {BY_FIELD[field].label}: keep one")
        columns[field] = i
    missing = [BY_FIELD[f].label for f in ("uscc", "name") if f not in columns]
    if "building_id" not in columns and "building" not in columns:
        missing.append(f"{BY_FIELD['building_id'].label} (or {BY_FIELD['building'].label})")
    if missing:
        have = "、".join(t for t in cells if t) or "nothing"
        raise RegistryError(f"missing column {', '.join(missing)}; the header (row {number}) has: {have}")
    return columns


def _places(columns: Mapping[str, int], header: Sequence[str | None]) -> dict[str, str]:
    """Item field → "D 所在楼宇": the column's letter and its header as the file spells it."""
    places = {f: f"{get_column_letter(i + 1)} {(header[i] or '').strip()}" for f, i in columns.items()}
    if "building_id" not in places and "building" in places:
        places["building_id"] = places["building"]  # the name, turned into the id
    return places


def _item(
    columns: Mapping[str, int], cells: Sequence[str | None], buildings: Mapping[str, str], known_ids: set[str]
) -> dict[str, Any]:
    def cell(field: str) -> str | None:
        i = columns.get(field)
        return cells[i] if i is not None and i < len(cells) else None

    item: dict[str, Any] = {}
    for field in ("id", "uscc", "name"):
        value = cell(field)
        if value is not None:
            item[field] = value
    building_id, building = cell("building_id"), cell("building")
    if building_id is not None:
        # 所在楼宇 often holds the name: an id is kept, a known name becomes its id.
        item["building_id"] = building_id if building_id in known_ids else buildings.get(building_id, building_id)
    elif building is not None:
        # An unknown name is kept as the id: routing refuses it, naming it.
        item["building_id"] = buildings.get(building, building)
    if "industry" in columns:
        item["industry"] = cell("industry")
    if "contact_name" in columns or "contact_phone" in columns:
        contact = {
            key: cell(field)
            for key, field in (("name", "contact_name"), ("phone", "contact_phone"))
            if field in columns
        }
        item["contact"] = contact if any(v is not None for v in contact.values()) else None
    return item


def rows_from_table(
    table: Iterable[tuple[int, Sequence[str | None]]], buildings: Mapping[str, str] | None = None
) -> list[RegistryRow]:
    """Numbered non-blank rows of cell texts (blank: None), title rows and the header first, as items
    keeping their numbers."""
    names = buildings or {}
    known_ids = set(names.values())
    columns: dict[str, int] | None = None
    first: tuple[int, Sequence[str | None]] | None = None  # the first non-blank row
    titles = 0
    places: dict[str, str] = {}
    rows: list[RegistryRow] = []
    for number, cells in table:
        if columns is None:
            first = first or (number, cells)
            if not _known(cells) and titles < MAX_TITLE_ROWS:
                titles += 1  # a title above the header
                continue
            # Past the titles allowed, the first row is taken as the header, to say what it lacks.
            columns = _header(cells, number) if _known(cells) else _header(first[1], first[0])
            places = _places(columns, cells)
            continue
        rows.append(RegistryRow(number, _item(columns, cells, names, known_ids), places))
    if columns is None and first is not None:
        _header(first[1], first[0])  # raises: no row names the columns
    if columns is None:
        raise RegistryError(
            "the file is empty: its first row must be the header (统一社会信用代码, 企业名称, 楼宇编号, …)"
        )
    return rows


def decode_csv(data: bytes) -> str:
    """The text of a CSV file: UTF-8 (a BOM is dropped), else GBK (as GB18030, its superset)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise RegistryError("the CSV file is neither UTF-8 nor GBK text") from exc


def read_csv(data: bytes, buildings: Mapping[str, str] | None = None) -> list[RegistryRow]:
    text = decode_csv(data)
    if "\x00" in text:
        raise RegistryError("not a CSV file: it holds binary data")
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    try:
        line = 0  # the lines read so far: a record starts on the next one
        for record in reader:
            records.append((line + 1, record))
            line = reader.line_num
    except csv.Error as exc:
        raise RegistryError(f"not a readable CSV file (line {reader.line_num}): {exc}") from exc
    try:
        table = list(numbered_rows(records, where="the CSV file"))
    except SheetError as exc:
        raise RegistryError(str(exc)) from exc
    return rows_from_table(table, buildings)


def read_xlsx(source: bytes | str | Path | IO[bytes], buildings: Mapping[str, str] | None = None) -> list[RegistryRow]:
    """The first sheet of a workbook, read row by row within the limits of `routing.sheets`."""
    try:
        workbook = open_workbook(source)
    except SheetError as exc:
        raise RegistryError(str(exc)) from exc
    try:
        if not workbook.worksheets:
            raise RegistryError("the workbook has no sheet")
        try:
            table = list(worksheet_rows(workbook.worksheets[0]))
        except SheetError as exc:
            raise RegistryError(str(exc)) from exc
    finally:
        workbook.close()
    return rows_from_table(table, buildings)


def is_xlsx(data: bytes) -> bool:
    return data.startswith(XLSX_MAGIC)


def read_items(data: Any) -> list[RegistryRow]:
    """The items of a `{"items": [...]}` document (parsed JSON or YAML), numbered from 1."""
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise RegistryError('a JSON or YAML file must hold {"items": [...]}')
    return [RegistryRow(i, item) for i, item in enumerate(data["items"], start=1)]


def read_file(path: Path, buildings: Mapping[str, str] | None = None) -> list[RegistryRow]:
    """A .csv or .xlsx export, or a .json/.yaml/.yml `{"items": [...]}` document; raises RegistryError
    saying what is wrong."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".json", ".yaml", ".yml"):
        raise RegistryError(
            f"cannot read {suffix or 'a file without a suffix'}: use .csv, .xlsx, .json or .yaml "
            "(save an .xls as .xlsx)"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RegistryError(str(exc)) from exc
    if suffix == ".xlsx":
        return read_xlsx(data, buildings)
    if suffix == ".csv":
        return read_csv(data, buildings)
    try:
        document = parse_document(data, SUFFIXES[suffix])
    except DocumentError as exc:
        raise RegistryError(str(exc)) from exc
    return read_items(document)
