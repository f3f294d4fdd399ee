"""Notification delivery on real servers: the exact shapes and signatures sent to the
webhook, WeCom, DingTalk and SMTP stand-ins; the ledger; retries; rate limits; SSE."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from typing import Any

import httpx

from tests.support.api import Api
from tests.support.broker import publish_raw
from tests.support.endpoints import Endpoints, Mailbox
from tests.support.servers import eventually

URGENT = {"building_id": "B1", "service_code": "quick-urgent", "title": "电梯困人", "description": "三号梯困人"}


def submit(api: Api, client: Api | None = None, **changes: Any) -> str:
    r = (client or api).post("intake", "/v1/issues", json={**URGENT, "description": uuid.uuid4().hex, **changes})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def ledger(api: Api, **filters: str) -> list[dict[str, Any]]:
    return list(api.get("notify", "/v1/notifications", params={**filters, "limit": 500}).json()["items"])


def settled(api: Api, issue_id: str, channel: str, recipient: str | None = None, timeout: float = 20) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        rows = [r for r in ledger(api, issue_id=issue_id, channel=channel) if r["recipient"] == recipient]
        return rows[0] if rows and rows[0]["status"] != "pending" else None

    return eventually(probe, timeout=timeout, what=f"{channel} delivery for {recipient} settled")


def mentions(received: list[Any], issue_id: str) -> list[Any]:
    return [r for r in received if issue_id in r.body.decode()]


def test_every_channel_gets_its_exact_shape_and_signature(api: Api, endpoints: Endpoints, mailbox: Mailbox) -> None:
    issue_id = submit(api)
    for channel in ("inbox", "webhook", "wecom", "dingtalk", "email"):
        record = settled(api, issue_id, channel, "S05")
        assert record["status"] == "sent" and record["attempts"] == 1, record
        assert record["event"] == "issue.assigned" and record["last_error"] is None

    [hook] = mentions(endpoints.at("/hook/S05"), issue_id)
    expected = "sha256=" + hmac.new(b"s05-secret", hook.body, hashlib.sha256).hexdigest()
    assert hook.headers["x-louzhang-signature"] == expected
    webhook_record = settled(api, issue_id, "webhook", "S05")
    assert hook.headers["x-louzhang-delivery"] == webhook_record["id"]
    payload = hook.json()
    assert set(payload) == {"event", "issue", "recipient", "level"}
    assert payload["event"] == "issue.assigned" and payload["recipient"] == "S05" and payload["level"] == 1
    assert payload["issue"]["id"] == issue_id and payload["issue"]["status"] == "assigned"

    [wecom] = mentions(endpoints.at("/cgi-bin/webhook/send"), issue_id)
    assert wecom.query == {"key": "wecom-S05"}
    body = wecom.json()
    assert set(body) == {"msgtype", "text"} and body["msgtype"] == "text"
    assert body["text"]["mentioned_mobile_list"] == ["13800000005"]
    content = body["text"]["content"]
    assert "【新工单】电梯困人" in content and "一号楼（测试园区）" in content and "层级：点楼长（一号楼）" in content

    [ding] = mentions(endpoints.at("/robot/send"), issue_id)
    assert ding.query["access_token"] == "ding-S05"
    digest = hmac.new(b"SECs05", f"{ding.query['timestamp']}\nSECs05".encode(), hashlib.sha256).digest()
    assert ding.query["sign"] == base64.b64encode(digest).decode()  # parse_qs has URL-decoded it once
    body = ding.json()
    assert body["msgtype"] == "text" and body["at"] == {"atMobiles": ["13800000005"]}
    assert "电梯困人" in body["text"]["content"]

    [mail] = [m for m in mailbox.to("s05@example.org") if issue_id in m.get_content()]
    assert mail["Subject"] == "【新工单】电梯困人" and mail["From"] == "louzhang@example.org"
    assert "地点：一号楼（测试园区）" in mail.get_content()
    assert mail.get_content_charset() == "utf-8"

    # The inbox item carries the same text.
    staff = api.as_token(api.token_for("staff", "S05"))
    [item] = [i for i in staff.get("notify", "/v1/inbox").json()["items"] if i["issue_id"] == issue_id]
    assert item["title"] == "【新工单】电梯困人" and item["read"] is False
    assert staff.post("notify", f"/v1/inbox/{item['id']}/read").json()["read"] is True
    assert item["id"] not in [i["id"] for i in staff.get("notify", "/v1/inbox", params={"unread": 1}).json()["items"]]


async def test_redelivered_event_makes_no_second_record_and_no_second_send(api: Api, endpoints: Endpoints) -> None:
    issue_id = submit(api)
    settled(api, issue_id, "webhook", "S05")
    db = api.stack.database()
    stored = db["routing_outbox"].find_one({"name": "issue.assigned", "event.subject": issue_id})
    body = json.dumps(stored["event"]).encode()

    def records_of_the_event() -> set[str]:
        # (The issue's later events, e.g. an escalation on a slow machine, have records of their own.)
        return {r["id"] for r in ledger(api, issue_id=issue_id) if r["event_id"] == stored["_id"]}

    records = records_of_the_event()
    assert records
    for _ in range(2):
        await publish_raw(api.stack.amqp_url, "issue.assigned", body, message_id=stored["_id"])
    marker = submit(api, building_id="B2", service_code="talent")  # its events queue behind the repeats
    eventually(lambda: ledger(api, issue_id=marker), what="a later event processed after the repeats")
    assert records_of_the_event() == records
    assert len(mentions(endpoints.at("/hook/S05"), issue_id)) == 1
    assert db["notify_inbox"].count_documents({"event_id": stored["_id"], "staff_id": "S05"}) == 1
    # The delivery records are what tells a repeat: notify keeps no `processed` record of its own.
    assert db["notify_processed"].count_documents({}) == 0


def test_failing_endpoint_gets_exactly_the_configured_attempts(api: Api, endpoints: Endpoints) -> None:
    endpoints.scripts["/fail/S04"].default = (500, {"error": "down"})
    issue_id = submit(api)  # urgent: S04, the head, is notified at once
    record = settled(api, issue_id, "webhook", "S04")
    assert record["status"] == "failed" and record["attempts"] == 3 and "500" in record["last_error"]
    calls = [r for r in endpoints.at("/fail/S04") if r.json()["issue"]["id"] == issue_id]
    assert len(calls) == 3
    assert {c.headers["x-louzhang-delivery"] for c in calls} == {record["id"]}
    db = api.stack.database()
    eventually(
        lambda: db["reporting_events"].find_one(
            {"name": "notification.failed", "event.data.delivery_id": record["id"]}
        ),
        what="notification.failed published",
    )


def test_robot_errcode_is_a_failure_that_is_retried(api: Api, endpoints: Endpoints) -> None:
    endpoints.scripts["/cgi-bin/webhook/send"].for_robot["wecom-S05"].append(
        (200, {"errcode": 45009, "errmsg": "api freq out of limit"})
    )
    issue_id = submit(api)
    record = settled(api, issue_id, "wecom", "S05")
    assert record["status"] == "sent" and record["attempts"] == 2


def test_robot_rate_limit_bundles_rather_than_drops(api: Api, endpoints: Endpoints) -> None:
    ids = [submit(api) for _ in range(7)]
    for issue_id in ids:
        assert settled(api, issue_id, "dingtalk", "S05")["status"] == "sent"
    calls = [r for r in endpoints.at("/robot/send") if any(i in r.body.decode() for i in ids)]
    # Every issue was told, in fewer messages than issues: the overflow went out bundled.
    assert all(any(i in c.body.decode() for c in calls) for i in ids)
    assert len(calls) < len(ids)
    assert any("【汇总】" in c.json()["text"]["content"] for c in calls)
    # Never more than 3 (the test limit) in one 3-second window.
    windows: dict[int, int] = {}
    for c in calls:
        windows[int(c.at // 3)] = windows.get(int(c.at // 3), 0) + 1
    assert max(windows.values()) <= 3


def test_callback_url_hears_each_status_change_signed_for_its_client(api: Api, endpoints: Endpoints) -> None:
    created = api.post("routing", "/v1/tokens", json={"kind": "system", "subject": "hotline-bridge"}).json()
    client = api.as_token(created["token"])
    issue_id = submit(api, client, service_code="talent", callback_url=f"{endpoints.url}/callback")
    officer = api.as_token(api.token_for("staff", "S06"))
    eventually(lambda: api.get("intake", f"/v1/issues/{issue_id}").json()["status"] == "assigned")
    assert officer.post("routing", f"/v1/workorders/{issue_id}/acknowledge", json={}).status_code == 200

    def calls() -> list[Any]:
        return [r for r in endpoints.at("/callback") if r.json()["issue"]["id"] == issue_id]

    eventually(lambda: len(calls()) == 2, what="assigned and acknowledged called back")
    for call in calls():
        secret = created["signing_secret"].encode()
        assert (
            call.headers["x-louzhang-signature"] == "sha256=" + hmac.new(secret, call.body, hashlib.sha256).hexdigest()
        )
        assert call.json()["recipient"] is None
    assert sorted(c.json()["event"] for c in calls()) == ["issue.acknowledged", "issue.assigned"]


def test_restarting_notify_mid_send_repeats_only_with_the_same_delivery_id(api: Api, endpoints: Endpoints) -> None:
    endpoints.scripts["/hook/S05"].delay_s = 2.0
    try:
        issue_id = submit(api)
        eventually(lambda: mentions(endpoints.at("/hook/S05"), issue_id), what="the send in flight")
        api.stack.kill("notify")
        api.stack.start("notify")
        # A transaction the killed process left open holds its documents until MongoDB aborts it
        # (transactionLifetimeLimitSeconds, 10 s on the embedded mongod), then the send's lease
        # (LOUZHANG_NOTIFY_LEASE_S) must run out before the send is made again.
        record = settled(api, issue_id, "webhook", "S05", timeout=100)
    finally:
        endpoints.scripts["/hook/S05"].delay_s = 0.0
    assert record["status"] == "sent"
    sends = mentions(endpoints.at("/hook/S05"), issue_id)
    assert len(sends) >= 2, "the send cut short is made again"
    assert {s.headers["x-louzhang-delivery"] for s in sends} == {record["id"]}
    assert (
        len([r for r in ledger(api, issue_id=issue_id) if r["channel"] == "webhook" and r["recipient"] == "S05"]) == 1
    )


def test_sse_stream_pushes_new_notifications_and_resumes(api: Api) -> None:
    token = api.token_for("staff", "S05")
    url = f"{api.stack.url('notify')}/v1/inbox/stream"
    seen: list[dict[str, Any]] = []
    ready = threading.Event()

    def listen(headers: dict[str, str], params: dict[str, str], want: int) -> None:
        with httpx.stream("GET", url, headers=headers, params=params, timeout=30) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            ready.set()
            event: dict[str, Any] = {}
            for line in r.iter_lines():
                if line.startswith("event:"):
                    event["event"] = line.split(":", 1)[1].strip()
                elif line.startswith("id:"):
                    event["id"] = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    event["data"] = json.loads(line.split(":", 1)[1])
                elif not line and event:
                    seen.append(event)
                    event = {}
                    if len(seen) >= want:
                        return

    listener = threading.Thread(target=listen, args=({"Authorization": f"Bearer {token}"}, {}, 1), daemon=True)
    listener.start()
    assert ready.wait(10)
    issue_id = submit(api)
    listener.join(20)
    assert seen and seen[0]["event"] == "notification" and seen[0]["data"]["issue_id"] == issue_id
    assert seen[0]["id"] == seen[0]["data"]["id"]

    # Resume with Last-Event-ID through a browser ticket: the items written since come first.
    later = submit(api)
    eventually(
        lambda: any(i["issue_id"] == later for i in api.as_token(token).get("notify", "/v1/inbox").json()["items"])
    )
    ticket = api.as_token(token).post("notify", "/v1/inbox/ticket").json()["ticket"]
    seen.clear()
    ready.clear()
    listen({"Last-Event-ID": seen_id(api, token, issue_id)}, {"ticket": ticket}, 1)
    assert seen[0]["data"]["issue_id"] == later
    assert httpx.get(url, params={"ticket": "forged"}).status_code == 401


def seen_id(api: Api, token: str, issue_id: str) -> str:
    items = api.as_token(token).get("notify", "/v1/inbox").json()["items"]
    return str(next(i["id"] for i in items if i["issue_id"] == issue_id))


def wecom_text(endpoints: Endpoints, issue_id: str, key: str, headline: str) -> list[str]:
    """The lines of the WeCom text to robot `key` about `issue_id` under `headline`, once it came."""

    def probe() -> list[str] | None:
        for r in mentions(endpoints.at("/cgi-bin/webhook/send"), issue_id):
            content = r.json()["text"]["content"]
            if r.query == {"key": key} and headline in content:
                assert len(content.encode()) < 2048
                return str(content).splitlines()
        return None

    return eventually(probe, timeout=20, what=f"{headline} to {key}")


def test_robot_messages_carry_what_an_officer_needs_to_decide(api: Api, endpoints: Endpoints) -> None:
    reporter = {"name": "王经理", "phone": "13912342222"}
    description = "三号梯困人，" * 20
    issue_id = submit(api, reporter=reporter, description=description)
    lines = wecom_text(endpoints, issue_id, "wecom-S05", "【新工单】")
    assert f"描述：{description[:59]}…" in lines
    assert "紧急：是" in lines and "地址：测试路1号" in lines
    assert "报告人：王经理 139****2222" in lines  # the group reads it: masked
    assert "层级：点楼长（一号楼）" in lines and not any(line.startswith("级别") for line in lines)
    assert lines[-1] == f"详情：{api.stack.url('reporting')}/issues/{issue_id}"


def test_a_transfer_tells_the_new_and_the_former_assignee(api: Api, endpoints: Endpoints) -> None:
    body = {"building_id": "B1", "service_code": "talent", "title": "改派通知", "description": uuid.uuid4().hex}
    issue_id = str(api.post("intake", "/v1/issues", json=body).json()["id"])
    officer = api.as_token(api.token_for("staff", "S06"))

    def inbox(staff: Api) -> list[dict[str, Any]]:
        return [i for i in staff.get("notify", "/v1/inbox").json()["items"] if i["issue_id"] == issue_id]

    [assigned] = eventually(lambda: inbox(officer), what="S06's new work order")
    assert assigned["event"] == "issue.assigned" and not assigned["read"]
    r = officer.post("routing", f"/v1/workorders/{issue_id}/transfer", json={"staff_id": "S05", "reason": "属安全事项"})
    assert r.status_code == 200, r.text
    lines = wecom_text(endpoints, issue_id, "wecom-S05", "【工单改派】")
    assert "改派：由 测试人员06，原因：属安全事项" in lines

    # The one it was taken from hears of it in the inbox, and the 【新工单】 no longer waits for them.
    def told() -> list[dict[str, Any]] | None:
        items = inbox(officer)
        return items if len(items) == 2 else None

    items = eventually(told, what="S06 told of the transfer")
    assert {i["event"]: i["read"] for i in items} == {"issue.transferred": False, "issue.assigned": True}
    assert not [r for r in ledger(api, issue_id=issue_id, recipient="S06") if r["channel"] != "inbox"]


def test_a_supervision_notice_names_who_is_late_and_by_how_long(api: Api, endpoints: Endpoints) -> None:
    body = {"building_id": "B1", "service_code": "quick", "title": "督办通知", "description": uuid.uuid4().hex}
    issue_id = str(api.post("intake", "/v1/issues", json=body).json()["id"])
    lines = wecom_text(endpoints, issue_id, "wecom-S02", "【工单逾期督办】")
    [notice] = [line for line in lines if line.startswith("督办：")]
    assert notice.startswith("督办：责任人 ") and notice.endswith(" 个工作小时")
    # Who is responsible now: the level the order had climbed to by then (it climbs a level a
    # second, from the safety officer S05 up to the town's head S01), not the original assignee.
    named = notice.removeprefix("督办：责任人 ").split("，")[0]
    order = api.get("routing", f"/v1/workorders/{issue_id}").json()
    levels = ["、".join(f"测试人员{s[1:]}" for s in level) for level in order["chain"][: order["escalation_level"] + 1]]
    assert named in levels and order["escalation_level"] >= 1
