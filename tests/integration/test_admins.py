"""Named admins (issue 16): `staff[].admin: true` gives that staff member's own tokens the admin
token's rights in every service, and what they do is recorded under their id. Dropping the flag
takes the rights away as soon as a service holds the new version: same token, no restart.

The session stack relies on `small_directory()` being the current directory: each test puts it
back, without admins, and waits until no service holds a flag any more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import yaml
from typer.testing import CliRunner

from ops.cli import app
from tests.support.api import Api
from tests.support.directory import small_directory
from tests.support.reporter import submit
from tests.support.servers import eventually
from tests.support.workbook import directory_sheets, write_workbook

NAMED = "S09"  # heads nothing and serves nowhere: as plain staff they may see and do nothing
PLAIN = "S10"


def with_admins(*staff_ids: str) -> dict[str, Any]:
    doc = small_directory()
    for member in doc["staff"]:
        if member["id"] in staff_ids:
            member["admin"] = True
    return doc


def put(api: Api, doc: dict[str, Any]) -> int:
    r = api.put("routing", "/v1/directory", json=doc)
    assert r.status_code == 200, r.text
    return int(r.json()["version"])


def admin_probes(api: Api) -> dict[str, Callable[[], int]]:
    """One admin-only route per service: its status for `api`'s token."""
    return {
        "routing": lambda: api.get("routing", "/v1/directory").status_code,
        "notify": lambda: api.get("notify", "/v1/notifications", params={"limit": 1}).status_code,
        "reporting": lambda: api.request("DELETE", "reporting", f"/v1/staff/{PLAIN}/sessions").status_code,
        # Intake has no admin-only read: listing issues answers staff too (only 401 tells here); what
        # admin rights change there (an issue outside the caller's scope) is checked in the tests.
        "intake": lambda: api.get("intake", "/v1/issues", params={"limit": 1}).status_code,
    }


def until_everywhere(api: Api, allowed: bool) -> None:
    """Poll (with a deadline) until every service's admin route lets `api`'s token in, or refuses it."""
    wanted = (200, 204) if allowed else (403,)
    for service, probe in admin_probes(api).items():
        if service == "intake":
            continue  # staff may list issues too: checked apart
        eventually(lambda p=probe: p() in wanted, what=f"{service} {'admits' if allowed else 'refuses'} the token")


@pytest.fixture
def restore(api: Api) -> Iterator[None]:
    yield
    put(api, small_directory())
    token = api.token_for("staff", NAMED)
    until_everywhere(api.as_token(token), allowed=False)


@pytest.mark.usefixtures("restore")
def test_a_named_admin_acts_under_their_own_id_and_loses_the_rights_with_the_flag(api: Api) -> None:
    issue = submit(api, "人才公寓 named admin")  # B1, outside S09's scope
    put(api, with_admins(NAMED))
    named = api.as_token(api.token_for("staff", NAMED))
    listed = api.get("routing", "/v1/directory").json()["staff"]
    assert [m.get("admin") for m in listed if m["id"] == NAMED] == [True]
    assert all("admin" not in m for m in listed if m["id"] != NAMED)

    # Admin rights in every service, as soon as each holds the version.
    until_everywhere(named, allowed=True)
    eventually(
        lambda: named.get("intake", f"/v1/issues/{issue['id']}").status_code == 200, what="intake reads all issues"
    )

    # A work-order action: the timeline names them (routing's and, through the events, intake's).
    r = named.post("routing", f"/v1/workorders/{issue['id']}/acknowledge", json={})
    assert r.status_code == 200, r.text
    assert r.json()["timeline"][-1]["actor"] == NAMED
    eventually(
        lambda: api.get("intake", f"/v1/issues/{issue['id']}").json()["timeline"][-1]["actor"] == NAMED,
        what="intake's timeline names the named admin",
    )

    # A visit outside their scope, recorded as theirs (a staff member's record).
    r = named.post(
        "intake",
        "/v1/visits",
        json={"building_id": "B2", "visited_at": "2026-01-05T10:00:00+08:00", "kind": "call"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["recorded_by"] == {"kind": "staff", "subject": NAMED}

    # Tokens they issue and revoke are recorded as theirs.
    r = named.post("routing", "/v1/tokens", json={"kind": "staff", "subject": PLAIN})
    assert r.status_code == 201, r.text
    jti = r.json()["jti"]
    items = named.get("routing", "/v1/tokens", params={"subject": PLAIN}).json()["items"]
    assert [t["issued_by"] for t in items if t["jti"] == jti] == [NAMED]
    assert named.request("DELETE", "routing", f"/v1/tokens/{jti}").status_code == 204
    revoked = api.stack.database()["routing_tokens"].find_one({"jti": jti})
    assert revoked is not None and revoked["revoked_by"] == NAMED

    # The named admin puts the next version themselves: its author is their id. Without their
    # own flag, the same token is refused everywhere once each service holds that version.
    version = put(named, small_directory())
    stored = api.stack.database()["routing_directory_versions"].find_one({"_id": version})
    assert stored is not None and stored["author"] == NAMED
    until_everywhere(named, allowed=False)
    assert named.put("routing", "/v1/directory", json=with_admins(NAMED)).status_code == 403
    assert named.post("routing", f"/v1/workorders/{issue['id']}/progress", json={"note": "x"}).status_code == 403
    # Still a valid staff token: a plain staff member's answers.
    assert named.get("routing", "/v1/workorders").status_code == 200
    eventually(
        lambda: named.get("intake", f"/v1/issues/{issue['id']}").status_code == 404, what="outside scope in intake"
    )


def test_the_bootstrap_admin_token_keeps_actor_admin(api: Api) -> None:
    issue = submit(api, "人才公寓 bootstrap admin")
    r = api.post("routing", f"/v1/workorders/{issue['id']}/acknowledge", json={})
    assert r.status_code == 200, r.text
    assert r.json()["timeline"][-1]["actor"] == "admin"
    version = put(api, small_directory())
    stored = api.stack.database()["routing_directory_versions"].find_one({"_id": version})
    assert stored is not None and stored["author"] == "admin"


def test_a_plain_staff_token_gets_403_on_admin_routes(api: Api) -> None:
    plain = api.as_token(api.token_for("staff", PLAIN))
    refused = [
        plain.put("routing", "/v1/directory", json=with_admins(PLAIN)),
        plain.get("routing", "/v1/directory"),
        plain.post("routing", "/v1/tokens", json={"kind": "staff", "subject": PLAIN}),
        plain.get("routing", "/v1/tokens"),
        plain.request("DELETE", "routing", "/v1/tokens/0123"),
        plain.get("routing", "/v1/photos/0123"),
        plain.put("routing", "/v1/enterprises", json={"items": []}),
        plain.get("notify", "/v1/notifications"),
        plain.post("reporting", f"/v1/staff/{PLAIN}/signin-links"),
        plain.request("DELETE", "reporting", f"/v1/staff/{PLAIN}/sessions"),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused), [(r.url, r.text) for r in refused]
    # Its own name in a system token's subject gives nothing either.
    system = api.as_token(api.token_for("system", NAMED))
    assert system.get("routing", "/v1/directory").status_code == 403


@pytest.mark.usefixtures("restore")
def test_a_named_admins_token_is_revoked_like_any_staff_token(api: Api) -> None:
    put(api, with_admins(NAMED))
    r = api.post("routing", "/v1/tokens", json={"kind": "staff", "subject": NAMED, "expires_in": "PT1H"})
    assert r.status_code == 201, r.text
    named = api.as_token(r.json()["token"])
    until_everywhere(named, allowed=True)

    assert api.request("DELETE", "routing", f"/v1/tokens/{r.json()['jti']}").status_code == 204
    for service, probe in admin_probes(named).items():
        eventually(lambda p=probe: p() == 401, what=f"{service} refuses the revoked token")


@pytest.mark.usefixtures("restore")
def test_the_admin_column_of_a_workbook_names_admins(api: Api, tmp_path: Path) -> None:
    sheets = directory_sheets(with_admins(NAMED))
    assert sheets["人员"][0][4] == "管理员" and sheets["人员"][9][4] == "是"  # S09, row 10
    env = {"LOUZHANG_ADMIN_TOKEN": api.stack.admin_token, "LOUZHANG_JWT_SECRET": api.stack.jwt_secret}
    routing = ["--routing-url", api.stack.url("routing")]
    runner = CliRunner()

    result = runner.invoke(
        app, ["directory", "import", str(write_workbook(tmp_path / "d.xlsx", sheets)), *routing], env=env
    )
    assert result.exit_code == 0, result.output
    named = api.as_token(api.token_for("staff", NAMED))
    until_everywhere(named, allowed=True)

    # The export keeps the flag, and imports again as it was.
    exported = tmp_path / "current.yaml"
    result = runner.invoke(app, ["directory", "export", str(exported), *routing], env=env)
    assert result.exit_code == 0, result.output
    staff = yaml.safe_load(exported.read_text(encoding="utf-8"))["staff"]
    assert [m["id"] for m in staff if m.get("admin")] == [NAMED]

    # A bad value is refused with its row and column; nothing is sent.
    sheets["人员"][9][4] = "也许"
    result = runner.invoke(
        app, ["directory", "import", str(write_workbook(tmp_path / "bad.xlsx", sheets)), *routing], env=env
    )
    assert result.exit_code == 1
    assert "staff[8].admin (staff S09; 人员 row 10, column E 管理员): Input should be a valid boolean" in result.output


def test_a_token_cannot_claim_admin_rights_itself(api: Api) -> None:
    """Even signed with the real secret, a token of kind `admin` is no token: only the directory names admins."""
    claims = {"sub": PLAIN, "kind": "admin", "jti": "x", "iss": "louzhang", "exp": 4102444000}
    forged = jwt.encode(claims, api.stack.jwt_secret, algorithm="HS256")
    r = httpx.get(f"{api.stack.url('routing')}/v1/directory", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401


@pytest.mark.usefixtures("restore")
def test_a_named_admins_workbench_session_reads_the_whole_district(api: Api) -> None:
    link = api.post("reporting", f"/v1/staff/{NAMED}/signin-links")
    assert link.status_code == 201, link.text
    with httpx.Client(base_url=api.stack.url("reporting")) as session:
        assert session.get(link.json()["url"]).status_code == 303
        outside = {"building_id": "B1"}
        assert session.get("/v1/reports/summary", params=outside).status_code == 403  # plain staff: no scope

        put(api, with_admins(NAMED))
        eventually(lambda: session.get("/v1/reports/summary", params=outside).status_code == 200, what="admin reads")
        # A cookie alone still never changes anything through the API.
        assert session.request("DELETE", f"/v1/staff/{PLAIN}/sessions").status_code == 401

        put(api, small_directory())
        eventually(lambda: session.get("/v1/reports/summary", params=outside).status_code == 403, what="staff again")
