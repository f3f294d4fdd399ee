"""`louzhang directory import`: the file checked locally, every problem reported with where it is."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from kernel.directory import Directory
from ops.cli import app
from routing.directory.importer import describe, dotted, export_yaml
from routing.directory.service import DEMO_FILE
from routing.directory.spreadsheet import read_workbook
from tests.support.workbook import directory_sheets, write_workbook

runner = CliRunner()
SECRETS = {"LOUZHANG_ADMIN_TOKEN": "admin-token", "LOUZHANG_JWT_SECRET": "jwt-secret"}


def import_(*args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, ["directory", "import", *args], env=env)


def write_yaml(path: Path, doc: Any) -> Path:
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_dry_run_on_a_good_yaml(tmp_path: Path, doc: dict[str, Any]) -> None:
    result = import_(str(write_yaml(tmp_path / "d.yaml", doc)), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "no problems (9 staff, 4 grid nodes, 4 buildings, 2 services); dry run, nothing imported" in result.output


def test_dry_run_on_a_good_json(tmp_path: Path, doc: dict[str, Any]) -> None:
    (tmp_path / "d.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert import_(str(tmp_path / "d.json"), "--dry-run").exit_code == 0


def test_every_problem_is_listed_with_its_place(tmp_path: Path, doc: dict[str, Any]) -> None:
    doc["staff"].append({"id": "S2", "name": "重名"})
    doc["buildings"][3]["heads"] = ["S4", "S99"]
    doc["buildings"][0]["team"]["cleaning"] = "S6"
    doc["grid"]["children"][0]["children"][0]["heads"] = []
    doc["services"][1]["role"] = "talent_scout"

    result = import_(str(write_yaml(tmp_path / "d.yaml", doc)), "--dry-run")

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "document: duplicate staff id 'S2'",
        "grid.children[0].children[0].heads (grid node leaf): grid node 'leaf' has no head",
        "buildings[0].team.cleaning (building B1): unknown role 'cleaning'",
        "buildings[3].heads[1] (building B4): unknown staff id 'S99'",
        "services[1].role (service talent): unknown role 'talent_scout'",
        "5 problems: nothing imported",
    ]


def test_shape_errors_are_listed_with_their_place(tmp_path: Path, doc: dict[str, Any]) -> None:
    del doc["staff"][2]["name"]
    doc["services"][0]["urgent"] = "也许"
    doc["services"][1]["sla"] = {**doc["services"][1]["sla"], "resolve": "30 days"}

    result = import_(str(write_yaml(tmp_path / "d.yaml", doc)), "--dry-run")

    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "staff[2].name (staff S3): Field required"
    assert lines[1] == (
        "services[0].urgent (service fire-safety): Input should be a valid boolean, unable to interpret input "
        "(got '也许')"
    )
    assert lines[2].startswith("services[1].sla.resolve (service talent): '30 days' is not an ISO 8601 duration")
    assert lines[3] == "3 problems: nothing imported"


def test_shape_and_rule_problems_come_in_one_report(tmp_path: Path, doc: dict[str, Any]) -> None:
    del doc["staff"][2]["name"]  # S3 is still known by its id: B-heads naming S3 are no problem
    doc["staff"][3]["phone"] = "138-bad-phone"
    doc["buildings"][3]["heads"] = ["S3", "S99"]
    doc["buildings"][0]["grid_node"] = 7  # a shape problem: not also an unknown grid node
    doc["services"][1]["role"] = "talent_scout"

    result = import_(str(write_yaml(tmp_path / "d.yaml", doc)), "--dry-run")

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "staff[2].name (staff S3): Field required",
        "staff[3].phone (staff S4): a phone number is digits, with spaces, -, ( ) and a leading + allowed "
        "(got '138-bad-phone')",
        "buildings[0].grid_node (building B1): Input should be a valid string (got 7)",
        "buildings[3].heads[1] (building B4): unknown staff id 'S99'",
        "services[1].role (service talent): unknown role 'talent_scout'",
        "5 problems: nothing imported",
    ]


def test_a_redacted_secret_is_refused(tmp_path: Path, doc: dict[str, Any]) -> None:
    doc["staff"][0]["channels"][1]["key"] = "***"
    result = import_(str(write_yaml(tmp_path / "d.yaml", doc)), "--dry-run")
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        "staff[0].channels[1].key (staff S1): wecom key is '***', as exported: "
        "put the real one back or remove the channel"
    )


def test_a_spreadsheet_problem_names_its_row(tmp_path: Path, doc: dict[str, Any]) -> None:
    sheets = directory_sheets(doc)
    sheets["楼宇"][4][3] = "S4, S99"  # B4
    sheets["网格"].append(["stray", "游离网格", "nowhere", "S1"])
    path = write_workbook(tmp_path / "d.xlsx", sheets)

    result = import_(str(path), "--dry-run")

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "网格 row 6: grid node 'stray': its parent (上级) 'nowhere' is not in the sheet",
        "buildings[3].heads[1] (building B4; 楼宇 row 5, column D 楼长): unknown staff id 'S99'",
        "2 problems: nothing imported",
    ]


def test_a_workbook_without_a_column(tmp_path: Path, doc: dict[str, Any]) -> None:
    sheets = directory_sheets(doc)
    sheets["人员"] = [row[1:] for row in sheets["人员"]]
    result = import_(str(write_workbook(tmp_path / "d.xlsx", sheets)), "--dry-run")
    assert result.exit_code == 1
    assert "sheet 人员: missing column 编号/id" in result.output


@pytest.mark.parametrize(
    ("name", "content", "error"), [("d.csv", "id\n", "cannot read .csv"), ("d.yaml", "a: [", "invalid YAML")]
)
def test_an_unreadable_file(tmp_path: Path, name: str, content: str, error: str) -> None:
    (tmp_path / name).write_text(content)
    result = import_(str(tmp_path / name), "--dry-run")
    assert result.exit_code == 1
    assert error in result.output


def test_the_demo_directory_round_trips_through_a_workbook(tmp_path: Path) -> None:
    demo = yaml.safe_load(DEMO_FILE.read_text(encoding="utf-8"))
    path = write_workbook(tmp_path / "putuo.xlsx", directory_sheets(demo))

    result = import_(str(path), "--dry-run")

    assert result.exit_code == 0, result.output
    assert "no problems (142 staff, 15 grid nodes, 103 buildings, 28 services)" in result.output
    assert "no contact channels" in result.output
    expected = Directory.model_validate(demo).without_channels()
    assert any(member.channels for member in Directory.model_validate(demo).staff)  # the test drops something
    assert Directory.model_validate(read_workbook(path).document).model_dump() == expected.model_dump()


class FakeRouting:
    """Stands in for `httpx.put`, recording what was sent."""

    def __init__(self, response: httpx.Response | Exception) -> None:
        self.response = response
        self.sent: list[dict[str, Any]] = []

    def __call__(self, url: str, **kwargs: Any) -> httpx.Response:
        self.sent.append({"url": url, **kwargs})
        if isinstance(self.response, Exception):
            raise self.response
        return self.response


def test_import_sends_the_document(tmp_path: Path, doc: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    routing = FakeRouting(
        httpx.Response(200, json={"version": 7, "counts": {"staff": 9, "grid_nodes": 4, "buildings": 4, "services": 2}})
    )
    monkeypatch.setattr(httpx, "put", routing)

    result = import_(str(write_yaml(tmp_path / "d.yaml", doc)), "--routing-url", "http://routing.test/", env=SECRETS)

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "directory version 7: 9 staff, 4 grid nodes, 4 buildings, 2 services"
    [sent] = routing.sent
    assert sent["url"] == "http://routing.test/v1/directory"
    assert sent["headers"] == {"Authorization": "Bearer admin-token"}
    assert Directory.model_validate(sent["json"]) == Directory.model_validate(doc)


def test_routing_refusal_is_reported_the_same_way(
    tmp_path: Path, doc: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    detail = [{"loc": ["body", "buildings", 1, "heads", 0], "msg": "unknown staff id 'S7'", "type": "unknown_staff"}]
    monkeypatch.setattr(httpx, "put", FakeRouting(httpx.Response(422, json={"detail": detail})))
    path = write_workbook(tmp_path / "d.xlsx", directory_sheets(doc))

    result = import_(str(path), env=SECRETS)

    assert result.exit_code == 1
    assert (
        "buildings[1].heads[0] (building B2; 楼宇 row 3, column D 楼长): unknown staff id 'S7'"
        in result.output.splitlines()
    )
    assert "1 problem found by routing: nothing imported" in result.output


def test_other_refusals(tmp_path: Path, doc: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(httpx, "put", FakeRouting(httpx.Response(401, json={"detail": "invalid token"})))
    result = import_(str(write_yaml(tmp_path / "d.yaml", doc)), env=SECRETS)
    assert result.exit_code == 1
    assert "refused (401)" in result.output


def test_routing_out_of_reach(tmp_path: Path, doc: dict[str, Any]) -> None:
    result = import_(str(write_yaml(tmp_path / "d.yaml", doc)), "--routing-url", "http://127.0.0.1:9", env=SECRETS)
    assert result.exit_code == 2
    assert "cannot reach routing at http://127.0.0.1:9" in result.output


def test_describe() -> None:
    data = {"buildings": [{"id": "B1"}], "grid": {"id": "root", "children": [{"id": "mid"}]}, "staff": "oops"}
    assert dotted(["buildings", 0, "team", "safety"]) == "buildings[0].team.safety"
    assert describe({"loc": ["body", "grid", "children", 0, "name"], "msg": "m"}, data) == (
        "grid.children[0].name (grid node mid): m"
    )
    assert describe({"loc": ["body", "grid", "heads"], "msg": "m"}, data) == "grid.heads (grid node root): m"
    assert describe({"loc": ["body", "staff", 0], "msg": "m"}, data) == "staff[0]: m"  # a shape gone wrong
    assert describe({"loc": ["body", "buildings", 5], "msg": "m"}, data) == "buildings[5]: m"
    assert describe({"loc": ["body"], "msg": "m"}, data, lambda loc: None) == "document: m"
    assert describe({"loc": ["body", "buildings", 0], "msg": "m"}, data, lambda loc: "楼宇 row 2") == (
        "buildings[0] (building B1; 楼宇 row 2): m"
    )


def test_export_yaml(doc: dict[str, Any]) -> None:
    body = {"version": 3, **Directory.model_validate(copy.deepcopy(doc)).redacted().model_dump(mode="json")}
    version, text = export_yaml(body)
    assert version == 3
    assert text.startswith("# Louzhang directory, version 3.")
    assert yaml.safe_load(text) == {k: v for k, v in body.items() if k != "version"}


def test_bad_phones_and_emails_name_their_row_and_column(tmp_path: Path, doc: dict[str, Any]) -> None:
    sheets = directory_sheets(doc)
    sheets["人员"][2][2] = "138-bad-phone"  # S2, row 3
    sheets["人员"][3][3] = "not-an-email"  # S3, row 4
    path = write_workbook(tmp_path / "d.xlsx", sheets)

    result = import_(str(path), "--dry-run")

    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == (
        "staff[1].phone (staff S2; 人员 row 3, column C 电话): a phone number is digits, with spaces, -, ( ) "
        "and a leading + allowed (got '138-bad-phone')"
    )
    assert lines[1].startswith("staff[2].email (staff S3; 人员 row 4, column D 邮箱): value is not a valid email")
    assert lines[2] == "2 problems: nothing imported"


def test_a_sheet_with_shape_and_rule_problems_reports_both_at_once(tmp_path: Path, doc: dict[str, Any]) -> None:
    sheets = directory_sheets(doc)
    sheets["人员"][2][2] = "138-bad-phone"  # S2, row 3: the shape
    sheets["楼宇"][4][3] = "S4, S99"  # B4, row 5: a rule
    path = write_workbook(tmp_path / "d.xlsx", sheets)

    result = import_(str(path), "--dry-run")

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "staff[1].phone (staff S2; 人员 row 3, column C 电话): a phone number is digits, with spaces, -, ( ) "
        "and a leading + allowed (got '138-bad-phone')",
        "buildings[3].heads[1] (building B4; 楼宇 row 5, column D 楼长): unknown staff id 'S99'",
        "2 problems: nothing imported",
    ]


def test_a_spreadsheet_keeps_channels_and_a_dry_run_lists_the_changes(
    tmp_path: Path, doc: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    changes = {
        "added": [{"kind": "staff", "id": "S10", "name": "新人"}],
        "removed": [{"kind": "building", "id": "B4", "name": "四号楼"}],
        "moved": [
            {"kind": "building", "id": "B1", "name": "一号楼", "field": "grid_node", "from": "leaf", "to": "side"},
            {"kind": "staff", "id": "S5", "name": "员工5", "field": "posts", "from": ["building B1: safety"], "to": []},
        ],
    }
    body = {"dry_run": True, "version": 3, "counts": {}, "channels_kept": 1, "changes": changes}
    routing = FakeRouting(httpx.Response(200, json=body))
    monkeypatch.setattr(httpx, "put", routing)
    path = write_workbook(tmp_path / "d.xlsx", directory_sheets(doc))

    result = import_(str(path), "--dry-run", "--routing-url", "http://routing.test", env=SECRETS)

    assert result.exit_code == 0, result.output
    [sent] = routing.sent
    assert sent["params"] == {"channels": "keep", "dry_run": "1"}
    assert result.output.splitlines()[-6:] == [
        f"{path}: no problems (9 staff, 4 grid nodes, 4 buildings, 2 services); dry run, nothing imported",
        "changes against directory version 3 (channels kept for 1 staff):",
        "  added staff S10 (新人)",
        "  removed building B4 (四号楼)",
        "  moved building B1 (一号楼): grid_node leaf → side",
        "  moved staff S5 (员工5): posts building B1: safety → nowhere",
    ]


def test_a_yaml_file_is_sent_whole(tmp_path: Path, doc: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    body = {"dry_run": True, "version": None, "counts": {}, "channels_kept": 0, "changes": {}}
    routing = FakeRouting(httpx.Response(200, json=body))
    monkeypatch.setattr(httpx, "put", routing)

    result = import_(str(write_yaml(tmp_path / "d.yaml", doc)), "--dry-run", env=SECRETS)

    assert result.exit_code == 0, result.output
    assert routing.sent[0]["params"] == {"dry_run": "1"}
    assert result.output.splitlines()[-2:] == ["changes against no directory yet:", "  no changes"]


def test_a_dry_run_without_routing_still_checks_the_file(tmp_path: Path, doc: dict[str, Any]) -> None:
    result = import_(
        str(write_yaml(tmp_path / "d.yaml", doc)), "--dry-run", "--routing-url", "http://127.0.0.1:9", env=SECRETS
    )
    assert result.exit_code == 0, result.output
    assert "dry run, nothing imported" in result.output
    assert "cannot reach routing at http://127.0.0.1:9" in result.output


def test_a_bad_admin_value_names_its_row_and_column(tmp_path: Path, doc: dict[str, Any]) -> None:
    sheets = directory_sheets(doc)
    assert sheets["人员"][0][4] == "管理员"
    sheets["人员"][1][4] = "是"  # S1, row 2: fine
    sheets["人员"][3][4] = "也许"  # S3, row 4
    path = write_workbook(tmp_path / "d.xlsx", sheets)

    result = import_(str(path), "--dry-run")

    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith(
        "staff[2].admin (staff S3; 人员 row 4, column E 管理员): Input should be a valid boolean"
    ), lines
    assert lines[1] == "1 problem: nothing imported"


def test_the_admin_flag_round_trips_through_yaml_and_a_workbook(tmp_path: Path, doc: dict[str, Any]) -> None:
    doc["staff"][0]["admin"] = True
    _, text = export_yaml({"version": 4, **Directory.model_validate(doc).redacted().model_dump(mode="json")})
    exported = yaml.safe_load(text)
    assert exported["staff"][0]["admin"] is True and "admin" not in exported["staff"][1]
    assert (
        read_workbook(write_workbook(tmp_path / "d.xlsx", directory_sheets(exported))).document["staff"][0]["admin"]
        is True
    )
