"""YAML and JSON documents read with problems said by line and column (routing/documents.py), and the
commands and routing that use them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ops.cli import app
from routing.documents import DocumentError, parse_document, parse_json, parse_yaml
from routing.enterprises.registry import RegistryError, read_file

runner = CliRunner()


def test_good_documents() -> None:
    assert parse_yaml("a: 1\nb: [x, y]\n") == {"a": 1, "b": ["x", "y"]}
    assert parse_yaml("\ufeffa: 楼".encode()) == {"a": "楼"}
    assert parse_json(b'{"a": [1]}') == {"a": [1]}
    assert parse_document(b"a: 1", "application/yaml") == {"a": 1}
    assert parse_document(b'{"a": 1}', "application/json") == {"a": 1}


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("staff:\n  - id: S1\n    name: [张三\n", 4, 1, "invalid YAML: line 4, column 1: expected ',' or ']'"),
        ("a: 1\nb: c: d\n", 2, 5, "invalid YAML: line 2, column 5: mapping values are not allowed here"),
        ("a: 1\n\tb: 2\n", 2, 1, "invalid YAML: line 2, column 1: found character '\\t' that cannot start"),
        ("a: 1\nb: \x07\n", 2, 4, "invalid YAML: line 2, column 4: special characters are not allowed"),
    ],
)
def test_yaml_problems_say_line_and_column(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(DocumentError) as caught:
        parse_yaml(text)
    assert str(caught.value).startswith(message)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert "<unicode string>" not in str(caught.value)


def test_a_yaml_problem_names_where_its_context_started() -> None:
    with pytest.raises(DocumentError, match=r"\(while parsing a flow sequence at line 3, column 11\)"):
        parse_yaml("staff:\n  - id: S1\n    name: [张三\n")


def test_json_and_encoding_problems_say_line_and_column() -> None:
    with pytest.raises(DocumentError, match=r"^invalid JSON: line 2, column 7: Expecting value$"):
        parse_json('{"a": 1,\n "b": }')
    with pytest.raises(DocumentError, match=r"^invalid YAML: line 2, column 4: not UTF-8 text$"):
        parse_yaml(b"a: 1\nb: \xff\n")


def test_the_directory_command_names_the_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    path.write_text("roles:\n  - code: safety\n    name: 安全: 员\n", encoding="utf-8")
    result = runner.invoke(app, ["directory", "import", str(path), "--dry-run"])
    assert result.exit_code == 1
    assert result.output.strip() == (f"{path}: invalid YAML: line 3, column 13: mapping values are not allowed here")


def test_the_enterprises_file_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "items.yaml"
    path.write_text("items:\n  - uscc: [1\n", encoding="utf-8")
    with pytest.raises(RegistryError, match=r"^invalid YAML: line 3, column 1: expected ',' or ']'"):
        read_file(path)
