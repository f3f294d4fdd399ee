"""Dates at the edges are refused naming the parameter, on /v1 and on Open311, never a 500.

Every date parameter of every service is found in its OpenAPI document at run time (see
tests/support/dates.py), so a new endpoint with a date parameter is covered without being listed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.api import Api
from tests.support.dates import INSIDE, MALFORMED, OUT_OF_RANGE, DateParameter, date_parameters
from tests.support.servers import SERVICES

# What the documents must show at least: a parameter the detection misses is untested.
KNOWN = {
    ("intake", "/v1/visits", "from"),
    ("intake", "/v1/visits", "to"),
    ("intake", "/open311/v2/requests.{fmt}", "start_date"),
    ("intake", "/open311/v2/requests.{fmt}", "end_date"),
    ("reporting", "/v1/reports/summary", "from"),
    ("reporting", "/v1/reports/summary", "to"),
    ("reporting", "/v1/reports/timeseries", "from"),
    ("reporting", "/v1/reports/export.xlsx", "to"),
}


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def parameters_of(api: Api, service: str) -> list[DateParameter]:
    r = httpx.get(f"{api.stack.url(service)}/openapi.json")
    assert r.status_code == 200
    return date_parameters(r.json())


def call(
    http: httpx.Client, api: Api, service: str, parameter: DateParameter, params: dict[str, str]
) -> httpx.Response:
    if parameter.open311:  # Open311 reads need an api_key by default; /v1 a bearer token
        params = {**params, "api_key": api.stack.admin_token}
    return http.get(parameter.url(api.stack.url(service)), params=params, headers=api.headers())


def names_the_parameter(r: httpx.Response, parameter: DateParameter) -> bool:
    body: Any = r.json()
    if parameter.open311:
        return any(e["description"].startswith(parameter.name) for e in body)
    detail = body["detail"]
    if isinstance(detail, str):
        return parameter.name in detail
    return any(d["loc"] == ["query", parameter.name] for d in detail)


def test_the_openapi_documents_show_the_date_parameters(api: Api) -> None:
    found = {(service, p.path, p.name) for service in SERVICES for p in parameters_of(api, service)}
    assert found >= KNOWN, KNOWN - found
    assert all(p.method == "GET" for service in SERVICES for p in parameters_of(api, service))


@pytest.mark.parametrize("service", SERVICES)
def test_every_date_parameter_at_the_edges(api: Api, http: httpx.Client, service: str) -> None:
    """Out of range: 422 at ["query", name] on /v1, Open311's 400 `<name>: out of range`.
    Malformed (leap seconds included): the same codes, naming the parameter. Inside the range at
    its edges, and both bounds at once at the range's ends: never a server error."""
    failures: list[str] = []
    parameters = parameters_of(api, service)
    for parameter in parameters:
        refused = 400 if parameter.open311 else 422
        for value in OUT_OF_RANGE + MALFORMED + INSIDE:
            r = call(http, api, service, parameter, {parameter.name: value})
            where = f"{parameter.method} {parameter.path}?{parameter.name}={value!r}: {r.status_code} {r.text[:300]}"
            if value in INSIDE:
                if r.status_code >= 500:
                    failures.append(where)
            elif r.status_code != refused or not names_the_parameter(r, parameter):
                failures.append(where)
            elif value in OUT_OF_RANGE:
                if parameter.open311:
                    if r.json() != [{"code": 400, "description": f"{parameter.name}: out of range"}]:
                        failures.append(where)
                elif "out of range" not in r.json()["detail"][0]["msg"]:
                    failures.append(where)
    # The widest window there is, where an endpoint takes both bounds.
    pairs = {(p.path, p.name) for p in parameters}
    widest = [("from", "to"), ("start_date", "end_date")]
    for parameter in parameters:
        for start, end in widest:
            if parameter.name == start and (parameter.path, end) in pairs:
                window = {start: "1970-01-01T00:00:00Z", end: "2099-12-31T23:59:59.999999Z"}
                r = call(http, api, service, parameter, window)
                if r.status_code >= 500:
                    failures.append(f"{parameter.path} {window}: {r.status_code} {r.text[:300]}")
    assert not failures, "\n".join(failures)


def test_a_visit_dated_in_year_one_is_422_at_its_field(api: Api) -> None:
    body = {"building_id": "B1", "visited_at": "0001-01-01T00:00:00+14:00", "kind": "visit"}
    r = api.post("intake", "/v1/visits", json=body)
    assert r.status_code == 422, r.text
    assert any(d["loc"][:2] == ["body", "visited_at"] for d in r.json()["detail"])
