"""Dates out of range are refused naming the parameter, on /v1 and on Open311, never a 500."""

from __future__ import annotations

import httpx
import pytest

from tests.support.api import Api

EDGES = ("0001-01-01", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2200-01-01")


@pytest.mark.parametrize("value", EDGES)
@pytest.mark.parametrize(
    ("service", "path", "name"),
    [
        ("reporting", "/v1/reports/summary", "from"),
        ("reporting", "/v1/reports/summary", "to"),
        ("reporting", "/v1/reports/timeseries", "from"),
        ("intake", "/v1/visits", "from"),
        ("intake", "/v1/visits", "to"),
    ],
)
def test_v1_date_out_of_range_is_422_at_the_query_parameter(
    api: Api, service: str, path: str, name: str, value: str
) -> None:
    r = api.get(service, path, params={name: value})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail[0]["loc"] == ["query", name]
    assert "out of range" in detail[0]["msg"]


@pytest.mark.parametrize("value", EDGES)
@pytest.mark.parametrize("name", ["start_date", "end_date"])
def test_open311_date_out_of_range_is_its_400(api: Api, name: str, value: str) -> None:
    params = {name: value, "api_key": api.stack.admin_token}
    r = httpx.get(f"{api.stack.url('intake')}/open311/v2/requests.json", params=params)
    assert r.status_code == 400, r.text
    assert r.json() == [{"code": 400, "description": f"{name}: out of range"}]


def test_a_visit_dated_in_year_one_is_422_at_its_field(api: Api) -> None:
    body = {"building_id": "B1", "visited_at": "0001-01-01T00:00:00+14:00", "kind": "visit"}
    r = api.post("intake", "/v1/visits", json=body)
    assert r.status_code == 422, r.text
    assert any(d["loc"][:2] == ["body", "visited_at"] for d in r.json()["detail"])
