"""`louzhang directory import` and `export` against the real routing service.

The session stack relies on `small_directory()` being the current directory: only that document is
imported, and refused ones.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from louzhang.cli import app
from louzhang.directory import Directory
from tests.support.api import Api
from tests.support.directory import small_directory

runner = CliRunner()


def cli(api: Api, *args: str) -> Any:
    env = {"LOUZHANG_ADMIN_TOKEN": api.stack.admin_token, "LOUZHANG_JWT_SECRET": api.stack.jwt_secret}
    return runner.invoke(app, ["directory", *args, "--routing-url", api.stack.url("routing")], env=env)


def version(api: Api) -> int:
    r = api.get("routing", "/v1/directory")
    assert r.status_code == 200, r.text
    return int(r.json()["version"])


def write_yaml(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_import_makes_a_new_version(api: Api, tmp_path: Path) -> None:
    before = version(api)

    result = cli(api, "import", str(write_yaml(tmp_path / "directory.yaml", small_directory())))

    assert result.exit_code == 0, result.output
    assert version(api) == before + 1
    assert result.output.strip() == (f"directory version {before + 1}: 12 staff, 3 grid nodes, 2 buildings, 4 services")


def test_a_refused_document_leaves_the_version(api: Api, tmp_path: Path) -> None:
    doc = small_directory()
    doc["buildings"][1]["heads"] = ["S07", "S99"]
    before = version(api)

    result = cli(api, "import", str(write_yaml(tmp_path / "directory.yaml", doc)))

    assert result.exit_code == 1
    assert "buildings[1].heads[1] (building B2): unknown staff id 'S99'" in result.output.splitlines()
    assert version(api) == before


def test_export_then_import_refuses_redacted_secrets(api: Api, tmp_path: Path) -> None:
    before = version(api)
    exported = tmp_path / "exported.yaml"

    result = cli(api, "export", str(exported))

    assert result.exit_code == 0, result.output
    expected = Directory.model_validate(copy.deepcopy(small_directory())).redacted()
    assert Directory.model_validate(yaml.safe_load(exported.read_text(encoding="utf-8"))) == expected

    result = cli(api, "import", str(exported))
    assert result.exit_code == 1
    assert "staff[0].channels[0].secret (staff S01): webhook secret is '***'" in result.output
    assert version(api) == before
