"""Schemathesis fuzzes every service's OpenAPI, with valid and invalid requests, on a stack
of its own (a fuzzed PUT may replace its directory): no request may get a server error.

Date parameters (found in the documents, tests/support/dates.py) are drawn from edge values:
years 1 and 9999 with ±14:00 offsets, 2100 and later, leap seconds, malformed dates. Open311
reads, which need an api_key by default, are fuzzed with the admin's key and without one."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from tests.support.api import Api
from tests.support.dates import FORMAT, date_parameters, instants, with_instant_format
from tests.support.directory import receivers_allow, small_directory
from tests.support.servers import SERVICES, Mongod, Stack, Vhost, eventually

EXAMPLES = int(os.environ.get("LOUZHANG_FUZZ_EXAMPLES", "30"))
# The same requests on every run (CI stays repeatable); LOUZHANG_FUZZ_RANDOM=1 explores new ones.
DERANDOMIZE = os.environ.get("LOUZHANG_FUZZ_RANDOM") != "1"
SKIP = ("/v1/inbox/stream",)  # a stream never ends: fuzzed by test_the_inbox_stream_under_fuzzing

schemathesis.openapi.format(FORMAT, instants())


@pytest.fixture(scope="module")
def fuzz_stack(mongod: Mongod) -> Iterator[Stack]:
    vhost = Vhost()
    vhost.create()
    stack = Stack(
        mongo_url=mongod.url,
        amqp_url=vhost.url,
        extra_env={"LOUZHANG_RATE_LIMIT_PER_MIN": "0", "LOUZHANG_OUTBOUND_ALLOW": receivers_allow()},
    )
    try:
        stack.start()
        assert Api(stack).put("routing", "/v1/directory", json=small_directory()).status_code == 200
        for name in SERVICES:
            eventually(lambda n=name: httpx.get(f"{stack.url(n)}/readyz").status_code == 200, what=f"{name} ready")
        yield stack
    finally:
        stack.stop()
        stack.drop()
        vhost.delete()


@pytest.mark.parametrize("service", SERVICES)
def test_no_server_errors_under_fuzzing(fuzz_stack: Stack, service: str) -> None:
    base = fuzz_stack.url(service)
    document = httpx.get(f"{base}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(with_instant_format(document))
    dated: dict[tuple[str, str], set[str]] = {}
    for parameter in date_parameters(document):
        dated.setdefault((parameter.path, parameter.method), set()).add(parameter.name)
    headers = {"Authorization": f"Bearer {fuzz_stack.admin_token}"}
    calls = 0
    dates_sent = 0
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIP:
            continue
        cases = st.one_of(*(operation.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)))
        keyed = operation.path.startswith("/open311/") and operation.method.upper() == "GET"
        names = dated.get((operation.path, operation.method.upper()), set())

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=DERANDOMIZE,
        )
        @given(case=cases, with_key=st.booleans() if keyed else st.just(False))
        def run(case: schemathesis.Case, with_key: bool) -> None:
            nonlocal calls, dates_sent
            calls += 1
            if with_key:
                case.query = {**(case.query or {}), "api_key": fuzz_stack.admin_token}
            if names & set(case.query or {}):  # noqa: B023
                dates_sent += 1
            case.call_and_validate(base_url=base, headers=headers, checks=[not_a_server_error], timeout=15)

        try:
            run()
        except Exception as exc:  # noqa: BLE001 (every operation's failure is collected, then the test fails once)
            failures.append(f"{operation.method.upper()} {operation.path}:\n{exc}")
    assert not failures, "\n\n".join(failures)
    assert calls >= EXAMPLES, f"only {calls} requests were made"
    assert not dated or dates_sent, f"no request reached the date parameters of {sorted(dated)}"


def test_the_inbox_stream_under_fuzzing(fuzz_stack: Stack) -> None:
    """The stream's generated requests, as admin and as a staff member, read only as far as
    the status and headers (a stream that starts never ends): no server error, and every
    refusal (a bad Last-Event-ID, a staff_id naming nobody) comes before a stream starts."""
    base = fuzz_stack.url("notify")
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operation = schema["/v1/inbox/stream"]["GET"]
    staff = Api(fuzz_stack).token_for("staff", "S05")
    cases = st.one_of(*(operation.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)))
    codes: set[int] = set()

    @settings(
        max_examples=EXAMPLES * 2,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=DERANDOMIZE,
    )
    @given(case=cases, token=st.sampled_from([fuzz_stack.admin_token, staff]))
    def run(case: schemathesis.Case, token: str) -> None:
        kwargs = case.as_transport_kwargs(base_url=base, headers={"Authorization": f"Bearer {token}"})
        try:
            stream = httpx.stream(
                "GET", kwargs["url"], headers=kwargs.get("headers"), params=kwargs.get("params"), timeout=15
            )
        except httpx.LocalProtocolError:
            return  # a header httpx itself will not send
        with stream as r:
            codes.add(r.status_code)
            assert r.status_code < 500, (kwargs, r.status_code, r.read())
            if r.status_code == 200:
                # Only a request the stream can serve starts one: an item id to resume after, or none.
                resume = {k.lower(): v for k, v in (kwargs.get("headers") or {}).items()}.get("last-event-id")
                assert not resume or re.fullmatch("[0-9a-fA-F]{24}", resume), (kwargs, "streamed")
                assert r.headers["content-type"].startswith("text/event-stream")
            else:
                assert r.headers["content-type"].startswith("application/json"), r.headers
                assert "detail" in json.loads(r.read()), kwargs

    run()
    assert {200, 400, 404} <= codes, codes
