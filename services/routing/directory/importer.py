"""A directory file checked before it is sent, with every problem said where it is (`louzhang directory import`).

Pure: reading the file, checking it as routing would, and the report lines. No network.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kernel.directory import REDACTED, Directory
from kernel.strict import INPUT
from routing.directory.spreadsheet import SheetDocument, read_workbook
from routing.directory.validation import Problem, problems, problems_despite_shape
from routing.documents import SUFFIXES, parse_document

_ITEMS = {
    "roles": ("role", "code"),
    "staff": ("staff", "id"),
    "buildings": ("building", "id"),
    "services": ("service", "code"),
}
_SECRETS = ("secret", "key", "access_token")

Locate = Callable[[Sequence[str | int]], str | None]


@dataclass
class Loaded:
    """A file's document as data, and for a workbook where each part of it came from."""

    data: Any
    sheets: SheetDocument | None = None
    problems: list[Problem] = field(default_factory=list)  # found while reading (the grid sheet's tree)

    @property
    def locate(self) -> Locate | None:
        return None if self.sheets is None else self.sheets.locate


def load(path: Path) -> Loaded:
    """Read a .yaml/.yml/.json/.xlsx file; raises ValueError (WorkbookError for a workbook) saying what is wrong."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        sheets = read_workbook(path)
        return Loaded(sheets.document, sheets, list(sheets.problems))
    if suffix not in SUFFIXES:
        raise ValueError(
            f"cannot read {suffix or 'a file without a suffix'}: use .yaml, .yml, .json or .xlsx "
            "(save an .xls or .csv workbook as .xlsx)"
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(str(exc)) from exc
    return Loaded(parse_document(raw, SUFFIXES[suffix]))


def check(loaded: Loaded) -> tuple[Directory | None, list[Problem]]:
    """The document and every problem routing would refuse it for (none: it may be sent)."""
    found = list(loaded.problems)
    try:
        doc = Directory.model_validate(loaded.data, context=INPUT)
    except ValidationError as exc:
        shape = [_shape_problem(error) for error in exc.errors()]
        if any(p["loc"][:2] == ["body", "grid"] for p in found):
            # The grid sheet's own problems already say why there is no tree.
            shape = [p for p in shape if p["loc"] != ["body", "grid"]]
        return None, found + shape + problems_despite_shape(loaded.data, shape)
    return doc, found + problems(doc) + redacted_secrets(doc)


def _shape_problem(error: Any) -> Problem:
    msg = str(error["msg"]).removeprefix("Value error, ")
    given = error.get("input")
    if error["type"] != "missing" and isinstance(given, str | int | float | bool) and repr(given) not in msg:
        msg = f"{msg} (got {given!r})"
    return {"loc": ["body", *error["loc"]], "msg": msg, "type": error["type"]}


def redacted_secrets(doc: Directory) -> list[Problem]:
    """Channel secrets left as `directory export` writes them, which would replace the real ones."""
    found: list[Problem] = []
    for s_i, member in enumerate(doc.staff):
        for c_i, channel in enumerate(member.channels):
            for name in _SECRETS:
                if getattr(channel, name, None) == REDACTED:
                    found.append(
                        {
                            "loc": ["body", "staff", s_i, "channels", c_i, name],
                            "msg": f"{channel.type} {name} is {REDACTED!r}, as exported: "
                            "put the real one back or remove the channel",
                            "type": "redacted_secret",
                        }
                    )
    return found


def dotted(loc: Sequence[str | int]) -> str:
    """`["buildings", 3, "heads", 0]` → `buildings[3].heads[0]`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f"{'.' if out else ''}{part}"
    return out


def concerning(loc: Sequence[str | int], data: Any) -> str | None:
    """The item a location is in, by its id: "building B004", "grid node tiandi"."""
    if not loc or not isinstance(data, dict):
        return None
    if loc[0] in _ITEMS and len(loc) > 1 and isinstance(loc[1], int):
        what, key = _ITEMS[str(loc[0])]
        items = data.get(str(loc[0]))
        if isinstance(items, list) and 0 <= loc[1] < len(items) and isinstance(items[loc[1]], dict):
            ident = items[loc[1]].get(key)
            return None if ident is None else f"{what} {ident}"
        return None
    if loc[0] == "grid":
        node = data.get("grid")
        i = 1
        while i + 1 < len(loc) and loc[i] == "children" and isinstance(loc[i + 1], int) and isinstance(node, dict):
            children = node.get("children")
            index = int(loc[i + 1])
            node = children[index] if isinstance(children, list) and 0 <= index < len(children) else None
            i += 2
        if isinstance(node, dict) and node.get("id") is not None:
            return f"grid node {node['id']}"
    return None


def describe(problem: Problem, data: Any, locate: Locate | None = None) -> str:
    """One line: where (dotted path, the item's id, the sheet row), then what.

    `buildings[3].heads[0] (building B004; 楼宇 row 5): unknown staff id 'S99'`
    """
    loc = list(problem.get("loc") or [])
    if loc and loc[0] == "body":
        loc = loc[1:]
    if "sheet" in problem:  # found while reading a sheet: the row says it all
        row = problem.get("row")
        return f"{problem['sheet']}{'' if row is None else f' row {row}'}: {problem.get('msg', '')}"
    context = [text for text in (concerning(loc, data), locate(loc) if locate else None) if text]
    where = dotted(loc)
    if context:
        where = f"{where} ({'; '.join(context)})" if where else "; ".join(context)
    return f"{where or 'document'}: {problem.get('msg', '')}"


def report(found: Sequence[Problem], data: Any, locate: Locate | None = None) -> list[str]:
    return [describe(problem, data, locate) for problem in found]


def summary(counts: dict[str, int]) -> str:
    """`{"staff": 12, "grid_nodes": 3}` → `12 staff, 3 grid nodes`."""
    return ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items())


def _named(change: dict[str, Any]) -> str:
    kind = str(change.get("kind", "")).replace("_", " ")
    name = change.get("name")
    return f"{kind} {change.get('id')}{f' ({name})' if name else ''}"


def _place(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value) or "nowhere"
    return "none (the root)" if value is None else str(value)


def change_lines(changes: dict[str, Any]) -> list[str]:
    """A dry run's `changes` as one line each: `added staff S13 (王五)`, `moved building B1 (一号楼):
    grid_node park → cbd`; `["no changes"]` when there are none."""
    lines = [f"added {_named(c)}" for c in changes.get("added", [])]
    lines += [f"removed {_named(c)}" for c in changes.get("removed", [])]
    lines += [
        f"moved {_named(c)}: {c.get('field')} {_place(c.get('from'))} → {_place(c.get('to'))}"
        for c in changes.get("moved", [])
    ]
    return lines or ["no changes"]


def export_yaml(body: dict[str, Any]) -> tuple[int, str]:
    """`GET /v1/directory`'s body as a YAML file to edit and import again: its version, and the text."""
    document = dict(body)
    version = int(document.pop("version"))
    head = (
        f"# Louzhang directory, version {version}.\n"
        f"# Channel secrets are shown as {REDACTED}: `louzhang directory import` refuses the file\n"
        "# until the real ones are put back, or those channels removed.\n"
    )
    return version, head + yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
