"""Visit coverage (走访覆盖率) end to end: enterprises uploaded to routing, visits recorded at
intake, and the exact figures in reporting's summary and breakdowns."""

from __future__ import annotations

import random
import uuid
from typing import Any

from tests.support.api import Api
from tests.support.servers import eventually
from tests.support.uscc import new_uscc


def summary(api: Api, **params: str) -> dict[str, Any]:
    return dict(api.get("reporting", "/v1/reports/summary", params=params).json())


def test_exact_visit_coverage_figures(api: Api) -> None:
    before = summary(api, building_id="B2")["enterprises"]
    tag = uuid.uuid4().hex[:6]
    items = [
        {"id": f"C{tag}{i}", "name": f"覆盖率测试企业{i}", "building_id": "B2", "uscc": new_uscc()} for i in range(4)
    ]
    report = api.put("routing", "/v1/enterprises", json={"items": items}).json()
    assert report["created"] == 4 and report["refused"] == []
    eventually(lambda: summary(api, building_id="B2")["enterprises"] == before + 4, what="reporting holds them")

    # A day of its own, in the past, that no other test visits.
    day = f"2025-{random.randint(1, 12):02}-{random.randint(10, 28):02}"
    window = {"from": day, "to": f"{day}T23:59:59+08:00", "building_id": "B2"}
    officer = api.as_token(api.token_for("staff", "S07"))  # a head of B2
    visits = [(items[0]["id"], "visit"), (items[0]["id"], "call"), (items[1]["id"], "meeting"), (None, "activity")]
    for hour, (enterprise_id, kind) in enumerate(visits, start=9):
        body = {
            "building_id": "B2",
            "visited_at": f"{day}T{hour:02}:00:00+08:00",
            "kind": kind,
            "participants": ["S07"],
        }
        if enterprise_id:
            body["enterprise_id"] = enterprise_id
        r = eventually(
            lambda b=body: (r := officer.post("intake", "/v1/visits", json=b)).status_code == 201 and r,
            what="intake knows the enterprises",
        )
        assert r.json()["issue_ids"] == []

    figures = eventually(lambda: (s := summary(api, **window))["visits"] == 4 and s, what="reporting counts the visits")
    enterprises = before + 4
    assert figures["enterprises"] == enterprises
    assert figures["enterprises_visited"] == 2
    assert figures["visit_coverage_rate"] == 2 / enterprises
    assert figures["total"] == 0 and figures["response_rate"] is None

    rows = api.get("reporting", "/v1/reports/breakdown", params={**window, "by": "building"}).json()["items"]
    assert [(r["key"], r["visits"], r["enterprises_visited"]) for r in rows] == [("B2", 4, 2)]
    nodes = api.get("reporting", "/v1/reports/breakdown", params={**window, "by": "grid_node"}).json()["items"]
    assert {r["key"]: r["visits"] for r in nodes} == {"cbd": 4}
    town = {k: v for k, v in window.items() if k != "building_id"}
    by_node = api.get("reporting", "/v1/reports/breakdown", params={**town, "by": "grid_node"}).json()["items"]
    assert {r["key"]: (r["visits"], r["enterprises_visited"]) for r in by_node} == {"park": (0, 0), "cbd": (4, 2)}
