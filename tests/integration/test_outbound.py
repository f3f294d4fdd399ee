"""The outbound URL guard on the real servers, with a real listener on a loopback port that the
allow-list does not name and that must receive nothing; the allowed stand-in still gets its
sends. Only loopback is ever connected to: the outside addresses here are literals refused at
submission, which resolves no name and connects nowhere (the send-time refusal of outside
addresses is proven without a connection in tests/unit/notify/channels/test_outbound.py)."""

from __future__ import annotations

import asyncio
import copy
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import aio_pika
import pytest

from chassis import topology
from kernel.events import StaffRef, Submitter, WorkOrderChanged, new_event
from tests.support.api import Api
from tests.support.directory import small_directory
from tests.support.endpoints import Endpoints
from tests.support.servers import eventually

ISSUE = {"building_id": "B1", "service_code": "talent", "title": "回调测试", "description": "回调地址检查"}


class Listener:
    """A TCP listener on a loopback port of its own that counts every connection made to it."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = int(self.socket.getsockname()[1])
        self.accepted = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def __enter__(self) -> Listener:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.running = False
        self.thread.join(5)
        self.socket.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    with Listener() as server:
        yield server


def refused_urls(port: int, notify_port: int) -> dict[str, str]:
    """User-given URLs that lead to loopback: each must be refused, whatever it looks like."""
    return {
        f"http://[::ffff:127.0.0.1]:{port}/cb": "IPv4-mapped",
        f"http://localhost:{port}/cb": "localhost resolves to loopback",
        f"http://127.0.0.1:{port}/cb": "loopback address 127.0.0.1",
        f"http://[::1]:{port}/cb": "loopback address ::1",
        f"http://2130706433:{port}/cb": "loopback",
        f"http://0.0.0.0:{port}/cb": "unspecified",
        f"http://127.0.0.1:{notify_port}/v1/inbox": "one of Louzhang's own",
    }


def test_submitted_callback_urls_are_refused_naming_why(api: Api, listener: Listener, endpoints: Endpoints) -> None:
    client = api.as_token(api.token_for("system", "guard-client"))
    cases = {
        **refused_urls(listener.port, api.stack.ports["notify"]),
        # Literal outside addresses: refused as written (no name to look up, nothing connected to).
        "http://10.0.0.5/hook": "private address 10.0.0.5",
        "http://192.168.1.1:8080/hook": "private address 192.168.1.1",
        "http://169.254.169.254/latest/meta-data/": "link-local address 169.254.169.254",
        "http://[::ffff:169.254.169.254]/": "link-local address 169.254.169.254",
        "http://[fd00::1]/": "private address fd00::1",
        "http://224.0.0.1/": "multicast",
        f"http://user:pass@127.0.0.1:{endpoints.port}/callback": "user name or password",
    }
    before = len(client.get("intake", "/v1/issues", params={"limit": 500}).json()["items"])
    for url, says in cases.items():
        r = client.post("intake", "/v1/issues", json={**ISSUE, "callback_url": url})
        assert r.status_code == 422, (url, r.text)
        [problem] = r.json()["detail"]
        assert problem["loc"] == ["body", "callback_url"], (url, problem)
        assert says in problem["msg"], (url, problem["msg"])
    # Nothing stored for any of them, and nothing reached the listener.
    assert len(client.get("intake", "/v1/issues", params={"limit": 500}).json()["items"]) == before
    assert listener.accepted == 0
    # The allow-listed stand-in is accepted.
    allowed = client.post("intake", "/v1/issues", json={**ISSUE, "callback_url": f"{endpoints.url}/callback/ok"})
    assert allowed.status_code == 201, allowed.text


def test_directory_webhook_urls_are_refused_at_their_place(api: Api, listener: Listener) -> None:
    version = api.get("routing", "/v1/directory").json()["version"]
    doc = copy.deepcopy(small_directory())
    doc["staff"][1]["channels"] = [
        {"type": "email"},
        {"type": "webhook", "url": f"http://[::ffff:127.0.0.1]:{listener.port}/h", "secret": "x"},
    ]
    doc["staff"][6]["channels"] = [{"type": "webhook", "url": "http://169.254.169.254/latest/", "secret": "y"}]
    r = api.put("routing", "/v1/directory", json=doc)
    assert r.status_code == 422, r.text
    problems = {tuple(p["loc"]): p["msg"] for p in r.json()["detail"]}
    assert set(problems) == {("body", "staff", 1, "channels", 1, "url"), ("body", "staff", 6, "channels", 0, "url")}
    assert "loopback address 127.0.0.1" in problems[("body", "staff", 1, "channels", 1, "url")]
    assert "link-local" in problems[("body", "staff", 6, "channels", 0, "url")]
    # The previous version stays in force.
    assert api.get("routing", "/v1/directory").json()["version"] == version
    assert listener.accepted == 0


async def publish_to_notify(amqp_url: str, issue_id: str, callback_url: str) -> None:
    """An `issue.assigned` with a callback, straight into notify's queue: as if the URL had passed
    at submission and led elsewhere when used (a name that resolves differently now). Only notify
    sees it, so no other service holds an issue that was never submitted."""
    change = WorkOrderChanged(
        issue_id=issue_id,
        seq=1,
        status="assigned",
        title="回调测试",
        building_id="B1",
        service_code="talent",
        grid_node="park",
        assignees=[StaffRef(id="S06", name="测试人员06")],
        recipients=[],
        callback_url=callback_url,
        submitted_by=Submitter(kind="system", subject="guard-client"),
        time=datetime.now(UTC),
    )
    event = new_event("issue.assigned", source="routing", subject=issue_id, data=change)
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        message = aio_pika.Message(
            event.model_dump_json().encode(), message_id=event.id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT
        )
        await channel.default_exchange.publish(message, routing_key=topology.queue("notify", "workorders").queue)


def callback_record(api: Api, issue_id: str) -> dict[str, Any] | None:
    rows = api.get("notify", "/v1/notifications", params={"issue_id": issue_id, "channel": "callback"}).json()["items"]
    return rows[0] if rows and rows[0]["status"] != "pending" else None


def test_at_send_time_a_refused_address_fails_at_once_and_receives_nothing(
    api: Api, listener: Listener, endpoints: Endpoints
) -> None:
    urls = refused_urls(listener.port, api.stack.ports["notify"])
    urls[f"http://u:p@127.0.0.1:{endpoints.port}/callback/userinfo"] = "user name or password"
    sent: dict[str, str] = {}
    for url in urls:
        issue_id = f"I-guard-{uuid.uuid4().hex[:12]}"
        asyncio.run(publish_to_notify(api.stack.amqp_url, issue_id, url))
        sent[issue_id] = url
    allowed_id = f"I-guard-{uuid.uuid4().hex[:12]}"
    asyncio.run(publish_to_notify(api.stack.amqp_url, allowed_id, f"{endpoints.url}/callback/{allowed_id}"))

    for issue_id, url in sent.items():
        record = eventually(
            lambda i=issue_id: callback_record(api, i), timeout=30, what=f"the callback to {url} settled"
        )
        assert record["status"] == "failed", (url, record)
        assert record["attempts"] == 1, (url, record)  # not retried (LOUZHANG_NOTIFY_MAX_ATTEMPTS is 3 here)
        assert record["last_error"].startswith("refused: "), (url, record)
        assert urls[url] in record["last_error"], (url, record)
    assert listener.accepted == 0
    assert endpoints.at("/callback/userinfo") == []

    # The allow-listed receiver still gets its callback, signed, once.
    record = eventually(lambda: callback_record(api, allowed_id), timeout=30, what="the allowed callback settled")
    assert record["status"] == "sent" and record["attempts"] == 1, record
    [call] = endpoints.at(f"/callback/{allowed_id}")
    assert call.headers["x-louzhang-delivery"] == record["id"]
