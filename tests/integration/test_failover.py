"""A service rides the loss of its broker connection: with a URL naming several nodes it connects
to one that answers, and when the connection is cut it connects again, declares what it needs and
goes on consuming. (The three-node cluster itself: tests/integration/test_cluster.py.)"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import httpx

from ops.broker import rabbitmqctl
from tests.support.api import Api
from tests.support.servers import eventually, free_port


def with_dead_node_first(amqp_url: str) -> str:
    """The stack's broker URL with a node that never answers before the real one."""
    parts = urlsplit(amqp_url)
    userinfo, _, node = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{userinfo}@127.0.0.1:{free_port()},{node}"))


def test_a_service_skips_a_dead_node_and_rides_a_cut_connection(api: Api) -> None:
    stack = api.stack
    url = stack.start_replica(
        "intake", "intake-failover", env={"LOUZHANG_AMQP_URL": with_dead_node_first(stack.amqp_url)}
    )
    try:
        ready = eventually(lambda: (r := httpx.get(f"{url}/readyz")).status_code == 200 and r.json(), what="ready")
        node = urlsplit(stack.amqp_url)
        assert ready["broker_node"] == f"{node.hostname}:{node.port or 5672}"
        mongo = urlsplit(stack.mongo_url)
        assert ready["mongo_primary"] == f"{mongo.hostname}:{mongo.port}"

        # Every connection of this stack's vhost is cut: each service connects again and goes on.
        rabbitmqctl("close_all_connections", "-p", node.path.lstrip("/") or "/", "failover test")
        body = {"building_id": "B1", "service_code": "talent", "title": "断线之后", "description": "failover"}
        r = eventually(
            lambda: (r := httpx.post(f"{url}/v1/issues", json=body, headers=api.headers())).status_code == 201 and r,
            what="a submission after the cut",
        )
        issue_id = r.json()["id"]
        # Dispatched by routing and told to the assignee by notify: their consumers came back too.
        eventually(lambda: api.get("routing", f"/v1/workorders/{issue_id}").status_code == 200, what="dispatched")
        officer = api.as_token(api.token_for("staff", "S06"))
        eventually(
            lambda: [i for i in officer.get("notify", "/v1/inbox").json()["items"] if i["issue_id"] == issue_id],
            what="in the inbox",
        )
        assert httpx.get(f"{url}/readyz").json()["broker_node"] == ready["broker_node"]
        # Stored once.
        assert stack.database()["intake_issues"].count_documents({"title": "断线之后"}) == 1
    finally:
        stack.kill("intake-failover")
