"""Fixtures on the real servers: one MongoDB and one RabbitMQ vhost per test run."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.api import Api
from tests.support.directory import ENDPOINTS, small_directory
from tests.support.endpoints import Endpoints, Mailbox
from tests.support.servers import SERVICES, Mongod, Stack, Vhost, eventually

# Second-scale clocks so that escalation, overdue and auto-close happen within a test.
TEST_ENV = {
    "LOUZHANG_AUTOCLOSE": "PT5S",
    "LOUZHANG_TIMER_LEASE_S": "2",
    # Quick retries, a small robot limit in a short window, and short leases on sends.
    "LOUZHANG_NOTIFY_MAX_ATTEMPTS": "3",
    "LOUZHANG_NOTIFY_BACKOFF_S": "0.2",
    "LOUZHANG_NOTIFY_ROBOT_LIMIT": "3",
    "LOUZHANG_NOTIFY_ROBOT_WINDOW_S": "3",
    "LOUZHANG_NOTIFY_LEASE_S": "3",
    # The suite polls hard; the rate limit has a test of its own.
    "LOUZHANG_RATE_LIMIT_PER_MIN": "0",
    # The workbench's sign-in requests come from one address here; the limit has a test of its own.
    "LOUZHANG_SIGNIN_PER_MIN": "10000",
    # The KPI gauges on reporting's /metrics refresh every second.
    "LOUZHANG_KPI_REFRESH_S": "1",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cluster: starts a local RabbitMQ cluster and MongoDB replica set (`make cluster-test`, not `make test`)",
    )


@pytest.fixture(scope="session")
def mongod() -> Iterator[Mongod]:
    server = Mongod()
    server.start()
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def vhost() -> Iterator[Vhost]:
    host = Vhost()
    host.create()
    yield host
    host.delete()


@pytest.fixture(scope="session")
def endpoints() -> Iterator[Endpoints]:
    server = Endpoints()
    server.start()
    ENDPOINTS["url"] = server.url
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    server = Mailbox()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack(mongod: Mongod, vhost: Vhost, endpoints: Endpoints, mailbox: Mailbox) -> Iterator[Stack]:
    """The four services, with the small test directory loaded and every /readyz at 200;
    notify's outside channels point at the loopback stand-ins."""
    env = {
        **TEST_ENV,
        "LOUZHANG_WECOM_BASE_URL": endpoints.url,
        "LOUZHANG_DINGTALK_BASE_URL": endpoints.url,
        "LOUZHANG_SMTP_URL": mailbox.url,
        "LOUZHANG_SMTP_FROM": "louzhang@example.org",
        # The webhook and callback stand-ins listen on loopback, which the outbound guard
        # refuses unless the operator's allow-list names them (tests/integration/test_outbound.py).
        "LOUZHANG_OUTBOUND_ALLOW": f"127.0.0.1:{endpoints.port}",
    }
    running = Stack(mongo_url=mongod.url, amqp_url=vhost.url, extra_env=env)
    running.start()
    api = Api(running)
    r = api.put("routing", "/v1/directory", json=small_directory())
    assert r.status_code == 200, r.text
    for name in SERVICES:
        eventually(lambda n=name: httpx.get(f"{running.url(n)}/readyz").status_code == 200, what=f"{name} ready")
    yield running
    running.stop()
    running.drop()


@pytest.fixture(scope="session")
def api(stack: Stack) -> Api:
    return Api(stack)
