"""The visit routes on a stand-in runtime (no database): who may record, and the order of refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from bson import ObjectId
from fastapi import FastAPI

from chassis.auth import Principal, Tokens
from intake.visits.models import VisitCreate
from intake.visits.router import router
from intake.visits.service import to_ms
from kernel.directory import DirectoryIndex

VISIT = {"building_id": "B1", "visited_at": "2026-11-20T10:00:00+08:00", "kind": "meeting"}


class FakeVisits:
    def __init__(self) -> None:
        self.recorded: list[tuple[Principal, VisitCreate]] = []

    async def record(self, who: Principal, body: VisitCreate, index: DirectoryIndex, version: int) -> dict[str, Any]:
        self.recorded.append((who, body))
        now = datetime(2026, 11, 20, 3, tzinfo=UTC)
        return {
            "_id": ObjectId(),
            **body.model_dump(exclude={"issues"}),
            "visited_at": to_ms(body.visited_at),
            "issue_ids": [],
            "recorded_by": {"kind": who.kind, "subject": who.subject},
            "created_at": now,
        }


@pytest.fixture
def tokens() -> Tokens:
    return Tokens("admin-token", "a-jwt-secret-long-enough-for-hs256-keys")


@pytest.fixture
def fake(index: DirectoryIndex, tokens: Tokens) -> SimpleNamespace:
    return SimpleNamespace(
        tokens=tokens,
        directory=SimpleNamespace(index=index, version=3, require=lambda: index),
        visits=FakeVisits(),
    )


@pytest.fixture
async def client(fake: SimpleNamespace) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.state.runtime = fake
    app.state.tokens = fake.tokens
    app.include_router(router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_staff_record_in_their_buildings(client: httpx.AsyncClient, tokens: Tokens, fake: Any) -> None:
    r = await client.post("/v1/visits", json=VISIT, headers=bearer(tokens.issue("staff", "S6")))
    assert r.status_code == 201, r.text
    assert r.json()["visited_at"] == "2026-11-20T02:00:00Z" and r.json()["recorded_by"]["subject"] == "S6"
    assert fake.visits.recorded[0][0] == Principal("staff", "S6")


async def test_refusals_in_the_contract_order(client: httpx.AsyncClient, tokens: Tokens, fake: Any) -> None:
    outsider = bearer(tokens.issue("staff", "S8"))  # heads `side`: B3 only
    invalid = {**VISIT, "kind": "party", "issues": [{"title": ""}]}
    assert (await client.post("/v1/visits", json=invalid)).status_code == 401
    system = await client.post("/v1/visits", json=VISIT, headers=bearer(tokens.issue("system", "hotline")))
    assert system.status_code == 403
    # Outside their scope: 403 even though the body is invalid too.
    assert (await client.post("/v1/visits", json=invalid, headers=outsider)).status_code == 403
    # An unknown building is body data: 422 (for the outsider as for anyone).
    unknown = await client.post("/v1/visits", json={**invalid, "building_id": "B9"}, headers=outsider)
    assert unknown.status_code == 422
    # In scope, an invalid body: 422 naming the fields.
    bad = await client.post("/v1/visits", json=invalid, headers=bearer(tokens.issue("staff", "S6")))
    assert bad.status_code == 422
    assert [e["loc"] for e in bad.json()["detail"]] == [
        ["body", "kind"],
        ["body", "issues", 0, "service_code"],
        ["body", "issues", 0, "title"],
        ["body", "issues", 0, "description"],
    ]
    broken = await client.post("/v1/visits", content=b"{", headers=bearer("admin-token"))
    assert broken.status_code == 422 and broken.json()["detail"][0]["loc"] == ["body"]
    assert fake.visits.recorded == []


async def test_admin_records_anywhere(client: httpx.AsyncClient, fake: Any) -> None:
    r = await client.post("/v1/visits", json={**VISIT, "building_id": "B3"}, headers=bearer("admin-token"))
    assert r.status_code == 201 and r.json()["recorded_by"] == {"kind": "admin", "subject": "admin"}


async def test_reads_are_staff_and_admin_only(client: httpx.AsyncClient, tokens: Tokens) -> None:
    system = bearer(tokens.issue("system", "hotline"))
    assert (await client.get("/v1/visits", headers=system)).status_code == 403
    assert (await client.get(f"/v1/visits/{ObjectId()}", headers=system)).status_code == 403
    assert (await client.get("/v1/visits")).status_code == 401
    bad = await client.get(
        "/v1/visits", params={"from": "2026-11-02", "to": "2026-11-01"}, headers=bearer("admin-token")
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "from"]
