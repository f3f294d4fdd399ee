"""WeCom group robots and DingTalk custom robots (contract: Notifications).

Both answer HTTP 200 with `{"errcode": 0, ...}` when they take a message; any
other `errcode` is a failure to retry. Both take 20 messages a minute per robot
(see `notify.deliveries.ratelimit`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import quote_plus

from notify.channels.base import HttpRequest, Outgoing, SendError, check_status


def text(out: Outgoing) -> str:
    return f"{out.message.title}\n{out.message.body}"


def check_errcode(status: int, body: bytes) -> None:
    check_status(status)
    try:
        reply: Any = json.loads(body)
    except ValueError as exc:
        raise SendError(f"robot reply is not JSON: {body[:100]!r}", retryable=True) from exc
    code = reply.get("errcode") if isinstance(reply, dict) else None
    if code != 0:
        raise SendError(
            f"robot errcode {code}: {reply.get('errmsg') if isinstance(reply, dict) else reply}", retryable=True
        )


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


class Wecom:
    name = "wecom"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def request(self, out: Outgoing, now_ms: int) -> HttpRequest:
        body = {"msgtype": "text", "text": {"content": text(out), "mentioned_mobile_list": out.mentions}}
        return HttpRequest(
            url=f"{self.base_url}/cgi-bin/webhook/send",
            params={"key": out.target["key"]},
            body=_json(body),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )

    def check(self, status: int, body: bytes) -> None:
        check_errcode(status, body)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """URL-encoded base64 of HMAC-SHA256 of "<timestamp>\\n<secret>", keyed by the secret."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


class Dingtalk:
    name = "dingtalk"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def request(self, out: Outgoing, now_ms: int) -> HttpRequest:
        body = {"msgtype": "text", "text": {"content": text(out)}, "at": {"atMobiles": out.mentions}}
        sign = dingtalk_sign(out.target["secret"], now_ms)
        # The sign is already URL-encoded, as DingTalk documents it: put it in the URL as is.
        token = quote_plus(out.target["access_token"])
        url = f"{self.base_url}/robot/send?access_token={token}&timestamp={now_ms}&sign={sign}"
        return HttpRequest(url=url, body=_json(body), headers={"Content-Type": "application/json; charset=utf-8"})

    def check(self, status: int, body: bytes) -> None:
        check_errcode(status, body)


def robot_key(channel: dict[str, Any]) -> str:
    """The rate-limit key of a robot: its key or access token, hashed (secrets are not stored twice)."""
    secret = channel.get("key") or channel.get("access_token") or ""
    return f"{channel['type']}:{hashlib.sha256(secret.encode()).hexdigest()[:16]}"
