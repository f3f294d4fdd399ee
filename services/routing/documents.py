"""YAML and JSON documents read for routing's imports, with problems said by line and column.

Pure: no network, no database. One place for `PUT /v1/directory`'s body, `louzhang directory import`'s
.yaml/.json file and `louzhang enterprises import`'s `{"items": [...]}` file. PyYAML's own message
names the stream `"<unicode string>"`; here a problem reads `invalid YAML: line 3, column 7: mapping
values are not allowed here`, lines and columns counted from 1 as an editor shows them, and a command
puts the file's name in front.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
MEDIA_TYPES = ("application/json", *YAML_TYPES)
SUFFIXES = {".yaml": "application/yaml", ".yml": "application/yaml", ".json": "application/json"}


class DocumentError(ValueError):
    """The text is not readable YAML or JSON; `line` and `column` (from 1) say where, when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


def _at(line: int, column: int) -> str:
    return f"line {line}, column {column}"


def _text(raw: bytes | str, kind: str) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # The line of the offending byte: count the newlines before it.
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DocumentError(f"invalid {kind}: {_at(line, column)}: not UTF-8 text", line, column) from exc


def parse_yaml(raw: bytes | str) -> Any:
    """The document as data; raises DocumentError with the line and column of the problem."""
    text = _text(raw, "YAML")
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "not readable"
        context = ""
        if exc.context and exc.problem and exc.context_mark is not None:
            context = f" ({exc.context} at {_at(exc.context_mark.line + 1, exc.context_mark.column + 1)})"
        if mark is None:
            raise DocumentError(f"invalid YAML: {problem}{context}") from exc
        line, column = mark.line + 1, mark.column + 1
        raise DocumentError(f"invalid YAML: {_at(line, column)}: {problem}{context}", line, column) from exc
    except yaml.YAMLError as exc:  # a reader error (a control character) carries a position, not a mark
        position = getattr(exc, "position", None)
        if isinstance(position, int):
            line = text.count("\n", 0, position) + 1
            column = position - (text.rfind("\n", 0, position) + 1) + 1
            reason = getattr(exc, "reason", "not readable")
            raise DocumentError(f"invalid YAML: {_at(line, column)}: {reason}", line, column) from exc
        raise DocumentError(f"invalid YAML: {exc}") from exc


def parse_json(raw: bytes | str) -> Any:
    """The document as data; raises DocumentError with the line and column of the problem."""
    text = _text(raw, "JSON")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"invalid JSON: {_at(exc.lineno, exc.colno)}: {exc.msg}", exc.lineno, exc.colno) from exc


def parse_document(raw: bytes | str, media: str) -> Any:
    """A body or file of one of MEDIA_TYPES as data; raises DocumentError naming the problem and where."""
    return parse_yaml(raw) if media in YAML_TYPES else parse_json(raw)
