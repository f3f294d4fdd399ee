"""notify.channels.webhook: generic webhooks and issue callbacks, a signed JSON POST."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from notify.channels.base import SendError
from notify.channels.webhook import DELIVERY_HEADER, SIGNATURE_HEADER, Callback, Webhook, signature, signed_post
from tests.unit.notify.conftest import PAYLOAD, MakeOutgoing

URL = "https://hook.example.org/louzhang"
SECRET = "hook-secret-0123456789"


def _expected_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def test_the_header_names_follow_the_contract() -> None:
    assert SIGNATURE_HEADER == "X-Louzhang-Signature"
    assert DELIVERY_HEADER == "X-Louzhang-Delivery"


def test_signature_is_hex_hmac_sha256_of_the_body() -> None:
    body = b'{"event":"issue.assigned"}'
    assert signature("k", body) == _expected_signature("k", body)
    # A fixed vector computed outside the code under test.
    assert signature("key", b"The quick brown fox jumps over the lazy dog") == (
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


def test_a_webhook_posts_the_payload_as_json(make_outgoing: MakeOutgoing) -> None:
    out = make_outgoing({"type": "webhook", "url": URL, "secret": SECRET})
    request = Webhook().request(out, now_ms=1_700_000_000_000)
    assert request.url == URL
    assert request.params == {}
    assert json.loads(request.body.decode("utf-8")) == PAYLOAD
    assert request.headers["Content-Type"].startswith("application/json")


def test_a_webhook_is_signed_over_the_exact_body(make_outgoing: MakeOutgoing) -> None:
    out = make_outgoing({"type": "webhook", "url": URL, "secret": SECRET})
    request = Webhook().request(out, now_ms=1_700_000_000_000)
    assert request.headers[SIGNATURE_HEADER] == _expected_signature(SECRET, request.body)
    # The signature is over the bytes sent, so a receiver can check it before parsing.
    assert request.headers[SIGNATURE_HEADER] != _expected_signature(SECRET, request.body + b" ")
    assert request.headers[SIGNATURE_HEADER] != _expected_signature("another-secret", request.body)


def test_a_webhook_carries_the_delivery_id_and_event(make_outgoing: MakeOutgoing) -> None:
    out = make_outgoing({"type": "webhook", "url": URL, "secret": SECRET}, delivery_id="rec-42")
    request = Webhook().request(out, now_ms=0)
    assert request.headers[DELIVERY_HEADER] == "rec-42"
    assert request.headers["X-Louzhang-Event"] == "issue.assigned"


def test_a_repeated_send_is_byte_identical(make_outgoing: MakeOutgoing) -> None:
    """At least once: a send repeated after a crash has the same body, signature and delivery id."""
    out = make_outgoing({"type": "webhook", "url": URL, "secret": SECRET})
    first = Webhook().request(out, now_ms=1)
    again = Webhook().request(out, now_ms=999_999)
    assert (first.body, first.headers) == (again.body, again.headers)


def test_a_callback_is_signed_with_its_own_secret(make_outgoing: MakeOutgoing) -> None:
    payload = {**PAYLOAD, "recipient": None}
    out = make_outgoing(
        {"url": "https://client.example.org/cb", "secret": "client-signing-secret"},
        payload=payload,
        delivery_id="rec-7",
    )
    request = Callback().request(out, now_ms=0)
    assert request.url == "https://client.example.org/cb"
    assert json.loads(request.body) == payload
    assert json.loads(request.body)["recipient"] is None
    assert request.headers[SIGNATURE_HEADER] == _expected_signature("client-signing-secret", request.body)
    assert request.headers[DELIVERY_HEADER] == "rec-7"


def test_webhook_and_callback_build_the_same_request(make_outgoing: MakeOutgoing) -> None:
    out = make_outgoing({"url": URL, "secret": SECRET})
    assert Webhook().request(out, 0) == Callback().request(out, 0) == signed_post(URL, SECRET, out)


def test_chinese_text_survives_in_utf8(make_outgoing: MakeOutgoing) -> None:
    out = make_outgoing({"url": URL, "secret": SECRET})
    request = Webhook().request(out, 0)
    assert json.loads(request.body.decode("utf-8"))["issue"]["title"] == "消防通道堆物"


@pytest.mark.parametrize("channel", [Webhook(), Callback()], ids=["webhook", "callback"])
@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_a_2xx_reply_is_taken(channel: Webhook | Callback, status: int) -> None:
    channel.check(status, b"")


@pytest.mark.parametrize("channel", [Webhook(), Callback()], ids=["webhook", "callback"])
@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_429_and_5xx_are_retried(channel: Webhook | Callback, status: int) -> None:
    with pytest.raises(SendError) as caught:
        channel.check(status, b"busy")
    assert caught.value.retryable is True
    assert str(status) in str(caught.value)


@pytest.mark.parametrize("channel", [Webhook(), Callback()], ids=["webhook", "callback"])
@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 413, 422])
def test_other_4xx_fail_at_once(channel: Webhook | Callback, status: int) -> None:
    with pytest.raises(SendError) as caught:
        channel.check(status, b"no")
    assert caught.value.retryable is False
