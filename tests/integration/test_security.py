"""Every /v1 operation refuses a missing or forged token; rate limits per caller."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.support.api import Api
from tests.support.servers import SERVICES, eventually

FORGED = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImtpbmQiOiJzdGFmZiIsImp0aSI6IngifQ.Zm9yZ2Vk"


def operations(base: str) -> list[tuple[str, str]]:
    spec = httpx.get(f"{base}/openapi.json").json()
    found = []
    for path, methods in spec["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method in methods:
            if method in ("get", "post", "put", "patch", "delete"):
                found.append((method.upper(), re.sub(r"\{[^}]+\}", "x", path)))
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_every_v1_operation_refuses_a_missing_or_forged_token(api: Api, service: str) -> None:
    base = api.stack.url(service)
    ops = operations(base)
    assert len(ops) >= 2, f"{service} lists {ops}"
    for method, path in ops:
        for headers in ({}, {"Authorization": f"Bearer {FORGED}"}, {"Authorization": "Basic YWRtaW46YWRtaW4="}):
            r = httpx.request(method, f"{base}{path}", headers=headers, json={}, timeout=10)
            assert r.status_code == 401, (service, method, path, headers, r.status_code, r.text)
            assert r.headers.get("www-authenticate") == "Bearer"


def test_rate_limit_per_token_answers_429_with_retry_after(api: Api) -> None:
    url = api.stack.start_replica("intake", "intake-limited", env={"LOUZHANG_RATE_LIMIT_PER_MIN": "5"})
    try:
        one = {"Authorization": f"Bearer {api.stack.admin_token}"}
        other = {"Authorization": f"Bearer {api.token_for('system', 'another-client')}"}
        codes = [httpx.get(f"{url}/v1/issues", headers=one).status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
        refused = httpx.get(f"{url}/v1/issues", headers=one)
        assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60
        assert "requests a minute" in refused.json()["detail"]
        assert httpx.get(f"{url}/v1/issues", headers=other).status_code == 200
        assert httpx.get(f"{url}/healthz").status_code == 200
        # Another spelling of the same header, or another token of the same caller, is no fresh budget.
        token = api.stack.admin_token
        for header in (f"bearer {token}", f"BEARER {token}", f"Bearer  {token}"):
            assert httpx.get(f"{url}/v1/issues", headers={"Authorization": header}).status_code == 429, header
    finally:
        api.stack.kill("intake-limited")


def test_rate_limit_throttles_invalid_tokens_by_address(api: Api) -> None:
    url = api.stack.start_replica("intake", "intake-limited-2", env={"LOUZHANG_RATE_LIMIT_PER_MIN": "3"})
    try:
        codes = [
            httpx.get(f"{url}/v1/issues", headers={"Authorization": f"Bearer forged-{i}"}).status_code for i in range(4)
        ]
        assert codes == [401, 401, 401, 429]
    finally:
        api.stack.kill("intake-limited-2")


def test_the_rate_limit_is_shared_by_the_replicas_of_a_service(api: Api) -> None:
    env = {"LOUZHANG_RATE_LIMIT_PER_MIN": "6"}
    one = api.stack.start_replica("intake", "intake-shared-1", env=env)
    two = api.stack.start_replica("intake", "intake-shared-2", env=env)
    windows = api.stack.database()["intake_rate_windows"]
    caller = {"Authorization": f"Bearer {api.token_for('system', 'shared-client')}"}

    def shared_count() -> int:
        doc = windows.find_one({"_id": "system:shared-client"})
        return int(doc["count"]) if doc else 0

    try:
        assert [httpx.get(f"{one}/v1/issues", headers=caller).status_code for _ in range(4)] == [200] * 4
        eventually(lambda: shared_count() == 4, timeout=5, what="the first replica shares its count")
        assert httpx.get(f"{two}/v1/issues", headers=caller).status_code == 200
        eventually(lambda: shared_count() == 5, timeout=5, what="the second replica adds its own")
        # Six in all: the second replica refuses after its second request, not its sixth.
        codes = [httpx.get(f"{two}/v1/issues", headers=caller).status_code for _ in range(3)]
        assert codes == [200, 429, 429]
    finally:
        api.stack.kill("intake-shared-1")
        api.stack.kill("intake-shared-2")


def test_secrets_and_tokens_never_reach_the_logs(api: Api, endpoints: Any) -> None:
    staff_token = api.token_for("staff", "S05")
    # Everything that handles secrets: every channel of S05 (one of them failing), a forged and a real token.
    endpoints.scripts["/cgi-bin/webhook/send"].for_robot["wecom-S05"].append((500, {"errcode": -1}))
    body = {"building_id": "B1", "service_code": "quick-urgent", "title": "日志检查", "description": "secrets"}
    issue_id = api.post("intake", "/v1/issues", json=body).json()["id"]

    def sent() -> set[str]:
        records = api.get("notify", "/v1/notifications", params={"issue_id": issue_id}).json()["items"]
        return {r["channel"] for r in records if r["status"] == "sent"}

    eventually(lambda: sent() >= {"webhook", "wecom", "dingtalk", "email"}, timeout=20, what="every channel sent")
    httpx.get(f"{api.stack.url('intake')}/v1/issues", headers={"Authorization": f"Bearer {FORGED}"})
    api.as_token(staff_token).get("notify", "/v1/inbox")
    logs = "".join(api.stack.log(name) for name in SERVICES)
    assert "started" in logs, "the services' logs were read"
    for secret in (
        api.stack.admin_token,
        api.stack.jwt_secret,
        staff_token,
        FORGED,
        "s05-secret",
        "wecom-S05",
        "ding-S05",
        "SECs05",
        "hush",
    ):
        assert secret not in logs, f"a secret reached the logs: {secret[:6]}…"
