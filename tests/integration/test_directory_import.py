"""`louzhang directory import` and `export` against the real routing service.

The session stack relies on `small_directory()` being the current directory: only that document is
imported, and refused ones.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import httpx
import yaml
from typer.testing import CliRunner

from kernel.datum import wgs84_to_gcj02
from kernel.directory import Directory
from ops.cli import app
from tests.support.api import Api
from tests.support.directory import small_directory
from tests.support.workbook import directory_sheets, write_workbook

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


def channels_of(api: Api) -> dict[str, list[dict[str, Any]]]:
    r = api.get("routing", "/v1/directory")
    assert r.status_code == 200, r.text
    return {member["id"]: member["channels"] for member in r.json()["staff"]}


def test_a_spreadsheet_import_keeps_the_channels(api: Api, tmp_path: Path) -> None:
    before, channels = version(api), channels_of(api)
    assert channels["S05"] and channels["S01"]  # the test would see nothing without them
    path = write_workbook(tmp_path / "directory.xlsx", directory_sheets(small_directory()))

    result = cli(api, "import", str(path))

    assert result.exit_code == 0, result.output
    assert f"directory version {before + 1}: " in result.output
    assert "channels kept for 4 staff" in result.output
    assert version(api) == before + 1
    assert channels_of(api) == channels


def test_a_dry_run_lists_the_changes_and_changes_nothing(api: Api, tmp_path: Path) -> None:
    before = version(api)
    doc = small_directory()
    doc["staff"].append({"id": "S13", "name": "新人"})
    doc["buildings"][0]["team"]["safety"] = "S13"
    doc["buildings"][1]["grid_node"] = "park"
    doc["services"] = [s for s in doc["services"] if s["code"] != "talent"]
    for member in doc["staff"]:
        member.pop("channels", None)

    r = api.put("routing", "/v1/directory", json=doc, params={"channels": "keep", "dry_run": "1"})

    assert r.status_code == 200, r.text
    body = r.json()
    assert body["dry_run"] is True
    assert body["version"] == before
    assert body["channels_kept"] == 4
    assert body["changes"]["added"] == [{"kind": "staff", "id": "S13", "name": "新人"}]
    assert body["changes"]["removed"] == [{"kind": "service", "id": "talent", "name": "人才公寓申请"}]
    moved = {(m["kind"], m["id"], m["field"]): (m["from"], m["to"]) for m in body["changes"]["moved"]}
    assert moved == {
        ("staff", "S05", "posts"): (["building B1: safety"], []),
        ("building", "B2", "grid_node"): ("cbd", "park"),
    }
    assert version(api) == before

    result = cli(api, "import", str(write_workbook(tmp_path / "d.xlsx", directory_sheets(doc))), "--dry-run")

    assert result.exit_code == 0, result.output
    assert f"changes against directory version {before} (channels kept for 4 staff):" in result.output
    assert "  moved building B2 (二号楼): grid_node cbd → park" in result.output.splitlines()
    assert version(api) == before


def test_without_keep_the_document_is_taken_as_given(api: Api) -> None:
    doc = small_directory()
    doc["staff"][0]["channels"] = []
    r = api.put("routing", "/v1/directory", json=doc, params={"dry_run": "true"})
    assert r.status_code == 200, r.text
    assert r.json()["channels_kept"] == 0

    r = api.put("routing", "/v1/directory", json=doc, params={"channels": "merge"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "channels"]


def test_bad_phones_and_emails_are_refused(api: Api) -> None:
    before = version(api)
    doc = small_directory()
    doc["staff"][1]["phone"] = "138-bad-phone"
    doc["staff"][2]["email"] = "not-an-email"
    doc["staff"][3]["phone"] = "021-6234 5678"  # a landline is a phone

    r = api.put("routing", "/v1/directory", json=doc, params={"dry_run": "1"})

    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["detail"]] == [["body", "staff", 1, "phone"], ["body", "staff", 2, "email"]]
    assert version(api) == before


def test_shape_and_rule_problems_come_in_one_answer(api: Api, tmp_path: Path) -> None:
    before = version(api)
    doc = small_directory()
    doc["staff"][1]["phone"] = "138-bad-phone"  # the shape
    doc["buildings"][1]["heads"] = ["S07", "S99"]  # a rule

    r = api.put("routing", "/v1/directory", json=doc)

    assert r.status_code == 422, r.text
    assert [(e["loc"], e["type"]) for e in r.json()["detail"]] == [
        (["body", "staff", 1, "phone"], "value_error"),
        (["body", "buildings", 1, "heads", 1], "unknown_staff"),
    ]
    assert version(api) == before

    # The command line says the same, each line with its place, before it sends anything.
    result = cli(api, "import", str(write_yaml(tmp_path / "directory.yaml", doc)))
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        "buildings[1].heads[1] (building B2): unknown staff id 'S99'",
        "2 problems: nothing imported",
    ]
    assert version(api) == before


def test_a_yaml_body_that_does_not_parse_names_line_and_column(api: Api) -> None:
    before = version(api)
    body = yaml.safe_dump(small_directory(), allow_unicode=True).replace("name: 一号楼", "name: 一号楼: 东", 1)

    r = api.put("routing", "/v1/directory", content=body.encode(), headers={"Content-Type": "application/yaml"})

    assert r.status_code == 422, r.text
    [error] = r.json()["detail"]
    line = next(i for i, text in enumerate(body.splitlines(), start=1) if "一号楼: 东" in text)
    column = body.splitlines()[line - 1].index("楼: 东") + 2
    assert error["loc"] == ["body"]
    assert error["msg"] == f"invalid YAML: line {line}, column {column}: mapping values are not allowed here"
    assert version(api) == before


def test_a_gcj02_location_is_stored_and_served_as_wgs84(api: Api) -> None:
    doc = small_directory()
    wgs = doc["buildings"][0]["location"]
    lat, long = wgs84_to_gcj02(wgs["lat"], wgs["long"])  # what 高德 shows for 一号楼
    doc["buildings"][0]["location"] = {"lat": lat, "long": long, "datum": "GCJ-02"}
    try:
        r = api.put("routing", "/v1/directory", json=doc)
        assert r.status_code == 200, r.text
        served = api.get("routing", "/v1/directory").json()["buildings"][0]["location"]
        assert set(served) == {"lat", "long"}
        assert abs(served["lat"] - wgs["lat"]) < 1e-8 and abs(served["long"] - wgs["long"]) < 1e-8
        # Open311's lat/long (WGS-84) placed by the stored point: about 14 m from it.
        key = api.token_for("system", "datum-client")
        form = {"service_code": "talent", "description": "测试坐标系", "api_key": key}
        r = httpx.post(
            f"{api.stack.url('intake')}/open311/v2/requests.json",
            data={**form, "lat": "31.2351", "long": "121.4101"},
            timeout=10,
        )
        assert r.status_code == 201, r.text

        bad = {**doc["buildings"][0]["location"], "datum": "BD-09"}
        doc["buildings"][0]["location"] = bad
        r = api.put("routing", "/v1/directory", json=doc, params={"dry_run": "1"})
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["body", "buildings", 0, "location", "datum"]
    finally:
        assert api.put("routing", "/v1/directory", json=small_directory()).status_code == 200
