"""Generic webhooks and issue callbacks: a signed JSON POST."""

from __future__ import annotations

import hashlib
import hmac
import json

from notify.channels.base import HttpRequest, Outgoing, check_status

SIGNATURE_HEADER = "X-Louzhang-Signature"
DELIVERY_HEADER = "X-Louzhang-Delivery"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed_post(url: str, secret: str, out: Outgoing) -> HttpRequest:
    body = json.dumps(out.payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        SIGNATURE_HEADER: signature(secret, body),
        DELIVERY_HEADER: out.delivery_id,
        "X-Louzhang-Event": out.event,
    }
    return HttpRequest(url=url, body=body, headers=headers)


class Webhook:
    name = "webhook"

    def request(self, out: Outgoing, now_ms: int) -> HttpRequest:
        return signed_post(out.target["url"], out.target["secret"], out)

    def check(self, status: int, body: bytes) -> None:
        check_status(status)


class Callback:
    """An issue's `callback_url`, signed with the submitting client's signing secret."""

    name = "callback"

    def request(self, out: Outgoing, now_ms: int) -> HttpRequest:
        return signed_post(out.target["url"], out.target["secret"], out)

    def check(self, status: int, body: bytes) -> None:
        check_status(status)
