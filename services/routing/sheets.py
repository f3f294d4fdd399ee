"""Reading uploaded worksheets and tables within fixed limits, row by row.

Pure: no network, no database. An XLSX file states its own used range (`<dimension>`), which an
attacker sets to a million rows by 16,384 columns in a few bytes; reading it as declared fills that
range in memory. So a workbook is opened read-only, its declared range is ignored, and rows are
taken one at a time as the file holds them, refused past `MAX_ROWS` rows or `MAX_COLUMNS` columns.
Rows keep the number Excel shows (the first row is row 1). Data that comes after a run of
`BLANK_RUN` blank rows is refused, naming its row: it is usually a stray cell far below the table,
and dropping it silently would lose what someone typed.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import openpyxl
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

MAX_ROWS = 50_000
MAX_COLUMNS = 200
BLANK_RUN = 1_000

Texts = list[str | None]


class SheetError(ValueError):
    """The workbook or table cannot be read within the limits; the message says why and where."""


def cell_text(value: object) -> str | None:
    """A cell as stripped text (None when blank); whole numbers lose Excel's ".0"."""
    if value is None:
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value)
    return text.strip() or None


def open_workbook(source: bytes | str | Path | IO[bytes]) -> Any:
    """A read-only workbook (close it when done); raises SheetError when it is no XLSX workbook."""
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        return openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise SheetError(f"not a readable XLSX workbook ({exc})") from exc


def worksheet_rows(ws: Any) -> Iterator[tuple[int, Texts]]:
    """The non-blank rows of a read-only worksheet as (row number, cell texts), within the limits."""
    ws.reset_dimensions()  # the declared range may be anything: read what the file holds
    title = str(ws.title).strip()
    return table_rows((cells for cells in ws.iter_rows(values_only=True)), where=f"sheet {title}")


def table_rows(rows: Iterable[Sequence[object]], *, where: str, first: int = 1) -> Iterator[tuple[int, Texts]]:
    """Numbered non-blank rows of cell values (as text), refused past the limits.

    `first` is the number of the first row (1 for a sheet or a CSV file with its header on line 1)."""
    return numbered_rows(enumerate(rows, start=first), where=where)


def numbered_rows(rows: Iterable[tuple[int, Sequence[object]]], *, where: str) -> Iterator[tuple[int, Texts]]:
    """`table_rows` for rows that carry their own number (a CSV record: the line it starts on)."""
    blank_since: int | None = None
    for number, cells in rows:
        if len(cells) > MAX_COLUMNS and cells[MAX_COLUMNS:].count(None) != len(cells) - MAX_COLUMNS:
            _wide(cells, number, where)
        texts = [cell_text(cell) for cell in cells[:MAX_COLUMNS]]
        while texts and texts[-1] is None:
            texts.pop()
        if not texts:
            if blank_since is None:
                blank_since = number
            continue
        if number > MAX_ROWS:
            raise SheetError(f"{where}: row {number} holds data: at most {MAX_ROWS:,} rows are read")
        if blank_since is not None and number - blank_since >= BLANK_RUN:
            raise SheetError(
                f"{where}: row {number} holds data after {number - blank_since:,} blank rows "
                f"(from row {blank_since}): move it up to the table or delete it"
            )
        blank_since = None
        yield number, texts


def _wide(cells: Sequence[object], number: int, where: str) -> None:
    """Refuse a row with text past the last column read (cells past it that are blank are fine)."""
    beyond = [i for i in range(MAX_COLUMNS, len(cells)) if cells[i] is not None and cell_text(cells[i]) is not None]
    if beyond:
        raise SheetError(
            f"{where}: cell {get_column_letter(beyond[0] + 1)}{number} is past column "
            f"{get_column_letter(MAX_COLUMNS)}: at most {MAX_COLUMNS} columns are read"
        )
