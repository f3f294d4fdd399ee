"""Enterprises (企业档案) on the real routing: CSV, XLSX and JSON uploads with a report per row, the
`enterprise.updated` events in the outbox, search within a staff member's scope, and the CLI import.

Each test makes its own valid USCCs and tags its enterprises' names, so that tests (and other
engineers' tests on the same session stack) never see each other's enterprises.
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import httpx
import openpyxl
from typer.testing import CliRunner

from ops.cli import app
from tests.support.api import Api
from tests.support.servers import free_port
from tests.support.uscc import ALPHABET, new_uscc

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = "统一社会信用代码,企业名称,楼宇编号,楼宇名称,行业,联系人,联系电话,法定代表人"
runner = CliRunner()


def bad_uscc() -> str:
    code = new_uscc()
    return code[:-1] + next(c for c in ALPHABET if c != code[-1])


def tag() -> str:
    return f"T{uuid.uuid4().hex[:8]}"


def put_csv(api: Api, text: str, encoding: str = "utf-8") -> httpx.Response:
    return api.put("routing", "/v1/enterprises", content=text.encode(encoding), headers={"Content-Type": "text/csv"})


def put_xlsx(api: Api, rows: list[list[Any]], content_type: str = XLSX) -> httpx.Response:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return api.put("routing", "/v1/enterprises", content=buffer.getvalue(), headers={"Content-Type": content_type})


def events(api: Api, subjects: list[str]) -> list[dict[str, Any]]:
    """The enterprise.updated events queued for these enterprises, oldest first."""
    outbox = api.stack.database()["routing_outbox"]
    found = outbox.find({"name": "enterprise.updated", "event.subject": {"$in": subjects}}).sort("created_at", 1)
    return [doc["event"] for doc in found]


def search(api: Api, **params: Any) -> httpx.Response:
    return api.get("routing", "/v1/enterprises", params=params)


def names(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


def test_csv_with_good_and_bad_rows(api: Api) -> None:
    t = tag()
    a, b, bad = new_uscc(), new_uscc(), bad_uscc()
    rows = [
        f"{a},{t}甲科技有限公司,B1,,信息技术,王经理,13900000001,张三",  # line 2 (the header is line 1): created
        f"{bad},{t}乙公司,B1,,金融,,,",  # 3: the check character is wrong
        f"{new_uscc()},{t}丙公司,B9,,金融,,,",  # 4: no such building
        f"{a.lower()},{t}甲科技有限公司（重复）,B1,,信息技术,,,",  # 5: line 2's USCC again
        f"{new_uscc()},,B2,,餐饮,,,",  # 6: no name
        ",,,,,,,",  # 7: blank, skipped but counted
        f"{b},{t}丁文化传媒有限公司,,二号楼,文化创意,李总监,13900000002,",  # 8: created, building by its name
    ]
    text = "\n".join([HEADER, *rows]) + "\n"

    r = put_csv(api, "\ufeff" + text)

    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["created"], body["updated"]) == (2, 0)
    assert [(x["row"], x["id"]) for x in body["refused"]] == [
        (3, bad),
        (4, rows[2][:18]),
        (5, a.lower()),
        (6, rows[4][:18]),
    ]
    reasons = [x["reason"] for x in body["refused"]]
    # Each reason names the field and its column (letter and header) in the file.
    assert reasons[0].startswith(f"uscc (column A 统一社会信用代码): '{bad}' is not a valid 统一社会信用代码")
    assert reasons[1] == "building_id (column C 楼宇编号): unknown building 'B9' (not in the current directory)"
    assert reasons[2] == f"uscc {a} is already on row 2 of this batch"
    assert reasons[3] == "name (column B 企业名称): required"

    assert [(e["subject"], e["data"]["version"]) for e in events(api, [a, b])] == [(a, 1), (b, 1)]
    stored = api.get("routing", f"/v1/enterprises/{b}").json()
    assert stored["building_id"] == "B2" and stored["contact"] == {"name": "李总监", "phone": "13900000002"}
    assert stored["version"] == 1 and stored["plan"] == []

    # The same file again, GBK this time: nothing changes and nothing is published.
    r = put_csv(api, text, "gbk")
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["updated"]) == (0, 0)
    assert [x["row"] for x in r.json()["refused"]] == [3, 4, 5, 6]
    assert len(events(api, [a, b])) == 2

    # One row changed: one update, one event with the next version.
    r = put_csv(api, text.replace(f"{t}丁文化传媒有限公司", f"{t}丁文化传媒集团有限公司"))
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["updated"]) == (0, 1)
    published = events(api, [b])
    assert [e["data"]["version"] for e in published] == [1, 2]
    assert published[-1]["type"] == "louzhang.enterprise.updated.v1"
    assert published[-1]["data"]["enterprise"]["name"] == f"{t}丁文化传媒集团有限公司"
    assert api.get("routing", f"/v1/enterprises/{b}").json()["version"] == 2


def test_xlsx_with_good_and_bad_rows(api: Api) -> None:
    t = tag()
    a, b = new_uscc(), new_uscc()
    ids = [f"{t}-1", f"{t}-2"]
    rows: list[list[Any]] = [  # the header on Excel's row 1, the enterprises on rows 2 to 7
        ["编号", "统一社会信用代码", "企业名称", "所在楼宇", "行业", "联系人", "联系电话", "注册资本"],
        [ids[0], a, f"{t}甲医疗科技有限公司", "B1", "医疗健康", "赵主管", 13900000011, 1000.0],
        [f"{t}-3", bad_uscc(), f"{t}乙公司", "B1", None, None, None, None],
        [f"{t}-4", new_uscc(), f"{t}丙公司", "一号楼大厦", None, None, None, None],
        [f"{t}-5", a, f"{t}甲医疗科技有限公司", "B2", None, None, None, None],
        [f"{t}-6", new_uscc(), None, "B1", None, None, None, None],
        [ids[1], b, f"{t}丁餐饮管理有限公司", "二号楼", "餐饮", None, 13900000012.0, None],
    ]

    r = put_xlsx(api, rows)

    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["created"], body["updated"]) == (2, 0)
    assert [(x["row"], x["id"]) for x in body["refused"]] == [
        (3, f"{t}-3"),
        (4, f"{t}-4"),
        (5, f"{t}-5"),
        (6, f"{t}-6"),
    ]
    assert body["refused"][1]["reason"] == (
        "building_id (column D 所在楼宇): unknown building '一号楼大厦' (not in the current directory)"
    )
    assert body["refused"][2]["reason"] == f"uscc {a} is already on row 2 of this batch"
    assert body["refused"][3]["reason"] == "name (column C 企业名称): required"

    first = api.get("routing", f"/v1/enterprises/{ids[0]}").json()
    assert (first["uscc"], first["contact"]["phone"], first["industry"]) == (a, "13900000011", "医疗健康")
    assert api.get("routing", f"/v1/enterprises/{ids[1]}").json()["building_id"] == "B2"
    assert [e["data"]["enterprise"]["id"] for e in events(api, ids)] == ids

    # An application/octet-stream upload is taken for the workbook it is; unchanged, it publishes nothing.
    r = put_xlsx(api, rows, "application/octet-stream")
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["updated"], len(r.json()["refused"])) == (0, 0, 4)
    assert len(events(api, ids)) == 2


def test_rows_and_columns_are_those_excel_shows_through_the_api_and_the_cli(api: Api, tmp_path: Path) -> None:
    t = tag()
    rows: list[list[Any]] = [
        [f"{t}普陀区企业登记信息"],  # row 1: a title
        [],  # row 2: blank
        ["统一社会信用代码", "企业名称", "楼宇编号"],  # row 3: the header
        [new_uscc(), f"{t}甲公司", "B1"],  # row 4
        [],  # row 5: blank
        [new_uscc(), f"{t}乙公司", "B8"],  # row 6: no such building
    ]
    bad = bad_uscc()

    r = put_xlsx(api, rows)

    assert r.status_code == 200, r.text
    assert r.json()["created"] == 1
    assert [(x["row"], x["id"]) for x in r.json()["refused"]] == [(6, rows[5][0])]

    # A row with a bad USCC (its shape) in an unknown building (a rule): both said at once, by column.
    r = put_xlsx(api, [*rows[:5], [bad, f"{t}丙公司", "B8"]])
    assert r.status_code == 200, r.text
    [refused] = r.json()["refused"]
    assert refused["row"] == 6
    shape, rule = refused["reason"].split("; ")
    assert shape.startswith(f"uscc (column A 统一社会信用代码): '{bad}' is not a valid")
    assert rule == "building_id (column C 楼宇编号): unknown building 'B8' (not in the current directory)"

    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    path = tmp_path / "registry.xlsx"
    workbook.save(path)
    result = cli(api, str(path))
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        f"row 6 ({rows[5][0]}): building_id: unknown building 'B8' (not in the current directory)",
        f"{path}: 0 created, 0 updated, 1 unchanged, 1 refused",
    ]


def test_json_items_are_refused_row_by_row_and_plans_survive_a_registry_import(api: Api) -> None:
    t = tag()
    a = new_uscc()
    plan = [{"item": "协助申报高新技术企业认定", "owner": "S06", "due": "2026-12-31", "done": False}]
    items = [
        {"id": f"{t}-1", "name": f"{t}甲公司", "building_id": "B1", "uscc": a, "industry": "金融", "plan": plan},
        {"id": f"{t}-2", "building_id": "B1", "uscc": new_uscc()},
        {
            "id": f"{t}-3",
            "name": f"{t}丙公司",
            "building_id": "B1",
            "uscc": new_uscc(),
            "plan": [{"item": "x", "owner": "S99"}],
        },
        "not an object",
    ]

    r = api.put("routing", "/v1/enterprises", json={"items": items})

    assert r.status_code == 200, r.text
    assert r.json() == {
        "created": 1,
        "updated": 0,
        "refused": [
            {"row": 2, "id": f"{t}-2", "reason": "name (企业名称): required"},
            {"row": 3, "id": f"{t}-3", "reason": "plan[0].owner: unknown staff id 'S99'"},
            {"row": 4, "id": None, "reason": "an item must be an object holding the enterprise's fields"},
        ],
    }

    # The registry's export knows no plan and no id: the plan and the id stay.
    r = put_csv(api, f"统一社会信用代码,企业名称,楼宇编号,行业\n{a},{t}甲公司,B1,商务服务\n")
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["updated"]) == (0, 1)
    stored = api.get("routing", f"/v1/enterprises/{t}-1").json()
    assert (stored["industry"], stored["plan"], stored["version"]) == ("商务服务", plan, 2)

    # An id never changes hands.
    r = api.put("routing", "/v1/enterprises", json={"items": [{**items[0], "id": f"{t}-9"}]})
    assert r.json()["refused"] == [
        {"row": 1, "id": f"{t}-9", "reason": f"id: uscc {a} is enterprise '{t}-1'; an enterprise's id does not change"}
    ]


def test_search_by_building_and_name_with_paging(api: Api) -> None:
    t = tag()
    items = [
        {"id": f"{t}-{i}", "name": f"{t}{name}", "building_id": building, "uscc": new_uscc()}
        for i, (name, building) in enumerate([("Alpha科技", "B1"), ("alpha.*餐饮", "B1"), ("贝塔金融", "B2")], start=1)
    ]
    assert api.put("routing", "/v1/enterprises", json={"items": items}).json()["created"] == 3

    assert names(search(api, q=t)) == [f"{t}贝塔金融", f"{t}alpha.*餐饮", f"{t}Alpha科技"]  # newest first
    assert names(search(api, q=t, building_id="B1")) == [f"{t}alpha.*餐饮", f"{t}Alpha科技"]
    assert names(search(api, q=f"{t}ALPHA")) == [f"{t}alpha.*餐饮", f"{t}Alpha科技"]  # any case
    assert names(search(api, q=f"{t}alpha.*")) == [f"{t}alpha.*餐饮"]  # not a pattern

    first = search(api, q=t, limit=2).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = search(api, q=t, limit=2, cursor=first["next_cursor"]).json()
    assert [i["name"] for i in rest["items"]] == [f"{t}Alpha科技"] and rest["next_cursor"] is None
    assert search(api, cursor="not-a-cursor").status_code == 422
    assert api.get("routing", f"/v1/enterprises/{t}-404").status_code == 404


def test_staff_see_their_buildings_only(api: Api) -> None:
    t = tag()
    in_b1 = {"id": f"{t}-1", "name": f"{t}一号楼企业", "building_id": "B1", "uscc": new_uscc()}
    in_b2 = {"id": f"{t}-2", "name": f"{t}二号楼企业", "building_id": "B2", "uscc": new_uscc()}
    assert api.put("routing", "/v1/enterprises", json={"items": [in_b1, in_b2]}).json()["created"] == 2
    cbd_head = api.as_token(api.token_for("staff", "S03"))  # heads grid node cbd: B2 only
    b1_head = api.as_token(api.token_for("staff", "S04"))

    assert search(cbd_head, building_id="B1").status_code == 403
    assert names(search(cbd_head, q=t)) == [f"{t}二号楼企业"]
    assert names(search(cbd_head, q=t, building_id="B2")) == [f"{t}二号楼企业"]
    assert cbd_head.get("routing", f"/v1/enterprises/{t}-1").status_code == 403
    assert cbd_head.get("routing", f"/v1/enterprises/{t}-2").json()["name"] == f"{t}二号楼企业"
    assert cbd_head.get("routing", f"/v1/enterprises/{t}-9").status_code == 404
    assert names(search(b1_head, q=t)) == [f"{t}一号楼企业"]

    system = api.as_token(api.token_for("system", f"{t}-client"))
    assert search(system).status_code == 403
    assert system.get("routing", f"/v1/enterprises/{t}-1").status_code == 403
    assert cbd_head.put("routing", "/v1/enterprises", json={"items": []}).status_code == 403
    assert api.as_token("").get("routing", "/v1/enterprises").status_code == 401


def test_bodies_that_are_not_enterprises(api: Api) -> None:
    def put(content: bytes, content_type: str) -> httpx.Response:
        return api.put("routing", "/v1/enterprises", content=content, headers={"Content-Type": content_type})

    assert put(b"a,b", "text/plain").status_code == 415
    assert put(b"not a workbook", "application/octet-stream").status_code == 415
    assert put(b"<items/>", "application/xml").status_code == 415

    for content, content_type in [
        (b"{not json", "application/json"),
        (b"[]", "application/json"),
        ("企业名称,行业\n甲,金融\n".encode(), "text/csv"),
        (b"PK\x03\x04 not a workbook", XLSX),
    ]:
        r = put(content, content_type)
        assert r.status_code == 422, (content, r.text)
        assert r.json()["detail"][0]["loc"] == ["body"]
    r = put("企业名称,行业\n甲,金融\n".encode(), "text/csv")
    assert "missing column 统一社会信用代码/uscc" in r.json()["detail"][0]["msg"]
    assert api.put("routing", "/v1/enterprises", json={"items": []}).json() == {
        "created": 0,
        "updated": 0,
        "refused": [],
    }


def cli(api: Api, *args: str, url: str | None = None) -> Any:
    env = {"LOUZHANG_ADMIN_TOKEN": api.stack.admin_token, "LOUZHANG_JWT_SECRET": api.stack.jwt_secret}
    return runner.invoke(
        app, ["enterprises", "import", *args, "--routing-url", url or api.stack.url("routing")], env=env
    )


def test_cli_import_in_batches(api: Api, tmp_path: Path) -> None:
    t = tag()
    codes = [new_uscc() for _ in range(6)]
    bad = bad_uscc()
    rows = [
        f"{codes[0]},{t}企业0,B1,,,,,",  # line 2 (the header is line 1)
        f"{codes[1]},{t}企业1,,二号楼,,,,",  # 3
        f"{bad},{t}坏码,B1,,,,,",  # 4
        f"{codes[2]},{t}企业2,B1,,,,,",  # 5
        ",,,,,,,",  # 6
        f"{codes[3]},{t}企业3,B2,,,,,",  # 7
        f"{codes[0]},{t}企业0again,B1,,,,,",  # 8: line 2 again, in another batch
        f"{codes[4]},{t}企业4,B7,,,,,",  # 9
        f"{codes[5]},{t}企业5,B2,,,,,",  # 10
    ]
    path = tmp_path / "registry.csv"
    path.write_bytes(("\n".join([HEADER, *rows]) + "\n").encode("gbk"))

    result = cli(api, str(path), "--batch", "3")

    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"row 4 ({bad}): uscc (统一社会信用代码): '{bad}' is not a valid")
    assert lines[1:] == [
        f"row 8 ({codes[0]}): uscc {codes[0]} is already on row 2 of the file",
        f"row 9 ({codes[4]}): building_id: unknown building 'B7' (not in the current directory)",
        f"{path}: 5 created, 0 updated, 0 unchanged, 3 refused",
    ]
    assert sorted(names(search(api, q=t))) == sorted(f"{t}企业{i}" for i in (0, 1, 2, 3, 5))
    assert api.get("routing", f"/v1/enterprises/{codes[1]}").json()["building_id"] == "B2"

    good = tmp_path / "good.csv"
    good.write_text("\n".join([HEADER, rows[0].replace("企业0", "企业零"), rows[1]]) + "\n", encoding="utf-8")
    result = cli(api, str(good))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{good}: 0 created, 1 updated, 1 unchanged, 0 refused"]


def test_cli_cannot_reach_routing(api: Api, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(f"{HEADER}\n{new_uscc()},甲,B1,,,,,\n", encoding="utf-8")
    result = cli(api, str(path), url=f"http://127.0.0.1:{free_port()}")
    assert result.exit_code == 2
    assert "cannot reach routing" in result.output
