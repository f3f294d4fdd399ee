"""Tokens: issued for staff the directory holds, listed per subject, revoked everywhere within
seconds (also in a service that starts after the revocation), recorded on first sight when issued
before records were kept; the CLI needs only the admin token."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from chassis.auth import Tokens
from tests.support.api import Api
from tests.support.servers import SERVICES, eventually

# A read every service answers for a staff or system token (200, or 403 for a kind it refuses:
# not 401, which is what a revoked token gets).
PROBES = {
    "intake": "/v1/issues",
    "routing": "/v1/workorders",
    "notify": "/v1/inbox",
    "reporting": "/v1/reports/summary",
}


def answer(api: Api, service: str, token: str) -> int:
    return httpx.get(
        f"{api.stack.url(service)}{PROBES[service]}", headers={"Authorization": f"Bearer {token}"}
    ).status_code


def listed(api: Api, subject: str) -> list[dict[str, Any]]:
    r = api.get("routing", "/v1/tokens", params={"subject": subject})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_a_staff_token_needs_a_staff_member_of_the_directory(api: Api) -> None:
    r = api.post("routing", "/v1/tokens", json={"kind": "staff", "subject": "NOBODY"})
    assert r.status_code == 404 and "NOBODY" in r.json()["detail"]
    assert listed(api, "NOBODY") == []


def test_expires_in_sets_the_expiry_of_either_kind(api: Api) -> None:
    r = api.post("routing", "/v1/tokens", json={"kind": "system", "subject": "hotline-90d", "expires_in": "P90D"})
    assert r.status_code == 201, r.text
    expires = datetime.fromisoformat(r.json()["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=90))) < timedelta(minutes=5)
    assert r.json()["signing_secret"]
    forever = api.post("routing", "/v1/tokens", json={"kind": "system", "subject": "hotline-forever"}).json()
    assert "expires_at" not in forever or forever["expires_at"] is None
    [item] = listed(api, "hotline-90d")
    assert item["jti"] == r.json()["jti"] and item["kind"] == "system"
    assert datetime.fromisoformat(item["expires_at"]) == expires
    for bad in ("90 days", "P0D", "P99999D"):
        r = api.post("routing", "/v1/tokens", json={"kind": "staff", "subject": "S05", "expires_in": bad})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "expires_in"], (bad, r.text)


def test_a_revoked_token_is_refused_by_every_service_within_seconds(api: Api) -> None:
    issued = api.post("routing", "/v1/tokens", json={"kind": "staff", "subject": "S05"}).json()
    token, jti = issued["token"], issued["jti"]
    other = api.token_for("staff", "S05")
    for service in SERVICES:
        assert answer(api, service, token) != 401, service
    assert jti in [t["jti"] for t in listed(api, "S05")]

    assert api.request("DELETE", "routing", f"/v1/tokens/{jti}").status_code == 204
    assert answer(api, "routing", token) == 401  # at once where it was revoked
    for service in SERVICES:
        eventually(lambda s=service: answer(api, s, token) == 401, timeout=10, what=f"{service} refuses it")
    r = httpx.get(f"{api.stack.url('intake')}/v1/issues", headers={"Authorization": f"Bearer {token}"})
    assert r.json()["detail"] == "token revoked"
    # Only that token: the same person's other token still works, and it is listed alone.
    assert all(answer(api, service, other) != 401 for service in SERVICES)
    assert jti not in [t["jti"] for t in listed(api, "S05")]
    # Revoking again changes nothing; a jti never issued nor seen is unknown.
    assert api.request("DELETE", "routing", f"/v1/tokens/{jti}").status_code == 204
    assert api.request("DELETE", "routing", "/v1/tokens/no-such-jti").status_code == 404

    # A replica that starts after the revocation refuses it from its first answer.
    url = api.stack.start_replica("notify", "notify-after-revocation")
    try:
        eventually(lambda: httpx.get(f"{url}/readyz").status_code == 200, what="late notify ready")
        r = httpx.get(f"{url}/v1/inbox", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and r.json()["detail"] == "token revoked"
    finally:
        api.stack.kill("notify-after-revocation")


def test_a_token_issued_before_records_is_recorded_when_first_seen_and_can_be_revoked(api: Api) -> None:
    # Signed with the stack's secret as routing did before it recorded tokens: no record of it.
    old = Tokens(api.stack.admin_token, api.stack.jwt_secret).issue("system", "legacy-bridge")
    assert listed(api, "legacy-bridge") == []
    assert answer(api, "intake", old) == 200
    [item] = eventually(lambda: listed(api, "legacy-bridge"), timeout=10, what="recorded on first sight")
    assert item["kind"] == "system" and item["expires_at"] is None and item["issued_at"] is not None
    assert api.request("DELETE", "routing", f"/v1/tokens/{item['jti']}").status_code == 204
    eventually(lambda: answer(api, "intake", old) == 401, timeout=10, what="intake refuses the old token")


def test_only_the_admin_lists_and_revokes(api: Api) -> None:
    staff = api.as_token(api.token_for("staff", "S04"))
    assert staff.get("routing", "/v1/tokens").status_code == 403
    assert staff.request("DELETE", "routing", "/v1/tokens/whatever").status_code == 403


@pytest.fixture
def cli_env(api: Api, tmp_path: Any) -> dict[str, str]:
    """The CLI's environment: the admin token and routing's URL, and no JWT secret."""
    return {
        "PATH": "/usr/bin:/bin",
        "LOUZHANG_ADMIN_TOKEN": api.stack.admin_token,
        "LOUZHANG_ROUTING_URL": api.stack.url("routing"),
        "HOME": str(tmp_path),
    }


def cli(env: dict[str, str], cwd: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops.cli", "token", *args], env=env, cwd=cwd, capture_output=True, text=True
    )


def test_the_cli_needs_only_the_admin_token_and_prints_plain_lines_when_piped(
    api: Api, cli_env: dict[str, str], tmp_path: Any
) -> None:
    staff = cli(cli_env, tmp_path, "create", "--kind", "staff", "--subject", "S06")
    assert staff.returncode == 0, staff.stderr
    [token] = staff.stdout.splitlines()
    assert answer(api, "routing", token) == 200
    system = cli(cli_env, tmp_path, "create", "--kind", "system", "--subject", "cli-client", "--expires-in", "P30D")
    assert system.returncode == 0, system.stderr
    token, secret = system.stdout.splitlines()
    assert answer(api, "intake", token) == 200 and len(secret) == 64
    [item] = listed(api, "cli-client")
    shown = cli(cli_env, tmp_path, "list", "--subject", "cli-client")
    assert shown.returncode == 0 and shown.stdout.split("\t")[0] == item["jti"]
    assert cli(cli_env, tmp_path, "revoke", item["jti"]).returncode == 0
    eventually(lambda: answer(api, "intake", token) == 401, timeout=10, what="revoked from the CLI")
    refused = cli(cli_env, tmp_path, "create", "--kind", "staff", "--subject", "NOBODY")
    assert refused.returncode == 1 and "404" in refused.stderr
    # From `make run`'s data/secrets.env when the environment has none.
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "secrets.env").write_text(f"LOUZHANG_ADMIN_TOKEN={api.stack.admin_token}\n")
    env = {k: v for k, v in cli_env.items() if k != "LOUZHANG_ADMIN_TOKEN"}
    assert cli(env, tmp_path, "create", "--kind", "staff", "--subject", "S06").returncode == 0
    (tmp_path / "data" / "secrets.env").unlink()
    missing = cli(env, tmp_path, "create", "--kind", "staff", "--subject", "S06")
    assert missing.returncode == 2 and "LOUZHANG_ADMIN_TOKEN" in missing.stderr
