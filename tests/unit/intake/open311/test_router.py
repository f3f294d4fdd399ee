"""The Open311 routes on a stand-in runtime (no database): formats, error shapes, api_key checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import xmltodict
from bson import ObjectId
from fastapi import FastAPI

from chassis.auth import Principal, Tokens
from chassis.outage import Unavailable
from intake.issues.models import IssueCreate
from intake.open311.mapping import DEFAULT_PUBLIC_FIELDS
from intake.open311.router import router
from kernel.directory import DirectoryIndex
from kernel.times import utcnow

FORM = {"service_code": "fire-safety", "attribute[building_id]": "B1", "description": "消防通道堆物"}


class FakeIssues:
    def __init__(self) -> None:
        self.submitted: list[tuple[Principal, IssueCreate]] = []
        self.issues = SimpleNamespace()

    async def submit(
        self, who: Principal, body: IssueCreate, index: DirectoryIndex, version: int, *, extra: Any = None
    ) -> dict[str, Any]:
        self.submitted.append((who, body))
        return {"_id": ObjectId(), "created_at": utcnow(), **body.model_dump(mode="json"), **(extra or {})}


@pytest.fixture
def tokens() -> Tokens:
    return Tokens("admin-token", "a-jwt-secret-long-enough-for-hs256-keys")


@pytest.fixture
def fake(index: DirectoryIndex, tokens: Tokens) -> SimpleNamespace:
    return SimpleNamespace(
        settings=SimpleNamespace(
            open311_public_read=False,
            open311_public=DEFAULT_PUBLIC_FIELDS,
            public_url="http://public.example",
            open311_jurisdiction="putuo",
            open311_radius_m=300.0,
        ),
        tokens=tokens,
        directory=SimpleNamespace(index=index, version=3, require=lambda: index),
        issues=FakeIssues(),
    )


@pytest.fixture
async def client(fake: SimpleNamespace) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.state.runtime = fake
    app.include_router(router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as c:
        yield c


async def post(client: httpx.AsyncClient, form: dict[str, str], fmt: str = "json") -> httpx.Response:
    return await client.post(f"/open311/v2/requests.{fmt}", data=form)


async def test_services_in_both_formats(client: httpx.AsyncClient) -> None:
    r = await client.get("/open311/v2/services.json")
    assert r.status_code == 200 and [s["service_code"] for s in r.json()] == ["fire-safety", "talent"]
    r = await client.get("/open311/v2/services.xml")
    assert r.headers["content-type"].startswith("text/xml")
    assert [s["service_code"] for s in xmltodict.parse(r.content)["services"]["service"]] == ["fire-safety", "talent"]


async def test_unknown_format_service_and_path_are_404_error_arrays(client: httpx.AsyncClient) -> None:
    r = await client.get("/open311/v2/services.csv")
    assert r.status_code == 404 and r.json()[0]["code"] == 404
    r = await client.get("/open311/v2/services/nope.xml")
    assert r.status_code == 404
    assert xmltodict.parse(r.content)["errors"]["error"] == {"code": "404", "description": "no service 'nope'"}
    r = await client.get("/open311/v2/nothing.xml")
    assert r.status_code == 404 and xmltodict.parse(r.content)["errors"]["error"]["code"] == "404"


async def test_the_discovery_document_is_public_in_both_formats(client: httpx.AsyncClient) -> None:
    r = await client.get("/open311/v2/discovery.json")
    assert r.status_code == 200, r.text
    [endpoint] = r.json()["endpoints"]
    assert endpoint["url"] == "http://intake/open311/v2" and endpoint["type"] == "production"
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    r = await client.get("/open311/v2/discovery.xml")
    assert r.headers["content-type"].startswith("text/xml")
    found = xmltodict.parse(r.content)["discovery"]["endpoints"]["endpoint"]
    assert found["formats"]["format"] == ["text/xml", "application/json"]
    assert found["url"] == "http://intake/open311/v2"


async def test_post_creates_through_issues_submit(
    client: httpx.AsyncClient, fake: SimpleNamespace, tokens: Tokens
) -> None:
    key = tokens.issue("system", "hotline")
    r = await post(client, {**FORM, "api_key": key, "first_name": "明", "last_name": "李"}, "xml")
    assert r.status_code == 201, r.text
    request = xmltodict.parse(r.content)["service_requests"]["request"]
    assert request["account_id"] is None and request["service_notice"]
    [(who, body)] = fake.issues.submitted
    assert who == Principal("system", "hotline") and body.source == "open311" and body.reporter.name == "李明"
    assert request["service_request_id"]
    token = request["follow_url"].removeprefix("http://public.example/r/")
    assert tokens.followed_issue(token) == request["service_request_id"]


@pytest.mark.parametrize("kind", ["missing", "bad", "staff"])
async def test_post_needs_a_system_or_admin_key(
    client: httpx.AsyncClient, fake: SimpleNamespace, tokens: Tokens, kind: str
) -> None:
    form = dict(FORM)
    if kind == "bad":
        form["api_key"] = "nonsense"
    elif kind == "staff":
        form["api_key"] = tokens.issue("staff", "S1")
    r = await post(client, form)
    assert r.status_code == 403
    [err] = r.json()
    assert err["code"] == 403 and "api_key" in err["description"]
    assert fake.issues.submitted == []
    assert (await post(client, {**FORM, "api_key": "admin-token"})).status_code == 201


async def test_post_form_errors_are_400_arrays(client: httpx.AsyncClient, fake: SimpleNamespace) -> None:
    r = await post(client, {"api_key": "admin-token", "service_code": "nope"})
    assert r.status_code == 400
    assert {e["code"] for e in r.json()} == {400} and len(r.json()) == 3
    r = await client.post("/open311/v2/requests.json", json={"api_key": "admin-token"})
    assert r.status_code == 400 and "x-www-form-urlencoded" in r.json()[0]["description"]
    assert fake.issues.submitted == []


async def test_bad_query_parameters_are_400_arrays(client: httpx.AsyncClient) -> None:
    params = {"start_date": "2026-11-01T00:00:00", "api_key": "admin-token"}
    r = await client.get("/open311/v2/requests.xml", params=params)
    assert r.status_code == 400
    assert "start_date" in xmltodict.parse(r.content)["errors"]["error"]["description"]


async def test_request_reads_need_a_key_and_services_do_not(client: httpx.AsyncClient, fake: SimpleNamespace) -> None:
    """Public read is off by default: every read of requests needs a key, checked before its
    parameters; the service catalogue stays public (a key there is not looked at)."""
    for path in ("requests.json", "requests/0123456789abcdef01234567.json", "tokens/x.json"):
        r = await client.get(f"/open311/v2/{path}", params={"start_date": "nonsense"})
        assert r.status_code == 403 and r.json() == [{"code": 403, "description": "api_key is required"}], path
        r = await client.get(f"/open311/v2/{path}", params={"api_key": "bad"})
        assert r.status_code == 403 and r.json()[0]["description"].startswith("invalid api_key"), path
    for params in ({}, {"api_key": "bad"}):
        assert (await client.get("/open311/v2/services.json", params=params)).status_code == 200
        assert (await client.get("/open311/v2/services/talent.xml", params=params)).status_code == 200


async def test_public_read_still_checks_a_key_that_is_given(client: httpx.AsyncClient, fake: SimpleNamespace) -> None:
    fake.settings.open311_public_read = True
    r = await client.get("/open311/v2/requests.xml", params={"api_key": "bad"})
    assert r.status_code == 403 and "invalid api_key" in xmltodict.parse(r.content)["errors"]["error"]["description"]


async def test_no_directory_is_503_in_georeport_shape(client: httpx.AsyncClient, fake: SimpleNamespace) -> None:
    def missing() -> DirectoryIndex:
        raise Unavailable("no directory received yet")

    fake.directory.require = missing
    r = await client.get("/open311/v2/services.xml")
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert xmltodict.parse(r.content)["errors"]["error"]["code"] == "503"
