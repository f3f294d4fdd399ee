"""notify.channels.robots: WeCom group robots and DingTalk custom robots."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qs, quote_plus, urlsplit

import httpx
import pytest

from notify.channels.base import SendError
from notify.channels.robots import Dingtalk, Wecom, check_errcode, dingtalk_sign, robot_key
from tests.unit.notify.conftest import MakeOutgoing

WECOM = "https://qyapi.example.org"
DINGTALK = "https://oapi.example.org"
NOW_MS = 1_700_000_000_000
TITLE = "【新工单】消防通道堆物"
BODY = "事项：消防安全隐患\n地点：电科大厦（天地软件园）"


def _independent_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True, strict_parsing=True)


# ---- WeCom ---------------------------------------------------------------------


def test_wecom_posts_to_the_send_url_with_the_key_as_a_param(make_outgoing: MakeOutgoing) -> None:
    request = Wecom(WECOM).request(make_outgoing({"type": "wecom", "key": "wecom-key"}), NOW_MS)
    assert request.url == f"{WECOM}/cgi-bin/webhook/send"
    assert request.params == {"key": "wecom-key"}


def test_wecom_tolerates_a_trailing_slash_on_the_base(make_outgoing: MakeOutgoing) -> None:
    request = Wecom(WECOM + "/").request(make_outgoing({"type": "wecom", "key": "k"}), NOW_MS)
    assert request.url == f"{WECOM}/cgi-bin/webhook/send"


def test_wecom_body_is_exactly_a_text_message(make_outgoing: MakeOutgoing) -> None:
    out = make_outgoing({"type": "wecom", "key": "wecom-key"})
    request = Wecom(WECOM).request(out, NOW_MS)
    body = json.loads(request.body.decode("utf-8"))
    assert body == {
        "msgtype": "text",
        "text": {"content": body["text"]["content"], "mentioned_mobile_list": ["13800000001", "13800000006"]},
    }
    content = body["text"]["content"]
    assert TITLE in content and BODY in content
    assert content.index(TITLE) < content.index(BODY)
    assert request.headers["Content-Type"].startswith("application/json")


def test_wecom_without_mentions_sends_an_empty_list(make_outgoing: MakeOutgoing) -> None:
    request = Wecom(WECOM).request(make_outgoing({"type": "wecom", "key": "k"}, mentions=[]), NOW_MS)
    assert json.loads(request.body)["text"]["mentioned_mobile_list"] == []


def test_wecom_key_with_special_characters_round_trips_through_httpx(make_outgoing: MakeOutgoing) -> None:
    key = "a+b/c=d&e f"
    request = Wecom(WECOM).request(make_outgoing({"type": "wecom", "key": key}), NOW_MS)
    # The way the sender posts it (service._send): params passed to httpx when there are any.
    sent = httpx.Request("POST", request.url, params=request.params or None, content=request.body)
    assert sent.url.params["key"] == key
    assert _query(str(sent.url)) == {"key": [key]}


# ---- DingTalk signing ------------------------------------------------------------


def test_dingtalk_sign_matches_an_independent_computation() -> None:
    for secret in ["SEC0123456789abcdef", "SECa+b/c=d&e", "密钥SEC"]:
        for ts in [0, NOW_MS, NOW_MS + 1, 1_800_000_000_123]:
            assert dingtalk_sign(secret, ts) == _independent_sign(secret, ts)


def test_dingtalk_sign_known_vectors() -> None:
    """Vectors computed outside the code: base64(HMAC-SHA256(secret, "<ms>\\n<secret>")), then URL-encoded."""
    # HMAC digest 4d265b44…0599, base64 "TSZbRFUuvaSQaRKUpF970OPCb2/LcQAP3wOvwZIzBZk="
    assert dingtalk_sign("SEC0123456789abcdef", 1_700_000_000_000) == (
        "TSZbRFUuvaSQaRKUpF970OPCb2%2FLcQAP3wOvwZIzBZk%3D"
    )
    # base64 "aA+1RKJB9W6h96TiRECE4AaYdm6Z/oZfcFEm9YGhraI=": a '+', a '/' and a '=' to encode.
    assert dingtalk_sign("SECa+b/c=d&e", 1_700_000_000_001) == ("aA%2B1RKJB9W6h96TiRECE4AaYdm6Z%2FoZfcFEm9YGhraI%3D")


def test_dingtalk_sign_decodes_to_the_raw_hmac() -> None:
    secret, ts = "SECa+b/c=d&e", 1_700_000_000_001
    [decoded] = parse_qs(f"sign={dingtalk_sign(secret, ts)}")["sign"]
    digest = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    assert base64.b64decode(decoded) == digest


def test_dingtalk_sign_depends_on_time_and_secret() -> None:
    assert dingtalk_sign("SECx", NOW_MS) != dingtalk_sign("SECx", NOW_MS + 1)
    assert dingtalk_sign("SECx", NOW_MS) != dingtalk_sign("SECy", NOW_MS)


# ---- DingTalk request ------------------------------------------------------------


def test_dingtalk_url_carries_token_timestamp_and_sign(make_outgoing: MakeOutgoing) -> None:
    target = {"type": "dingtalk", "access_token": "ding-token", "secret": "SEC0123456789abcdef"}
    request = Dingtalk(DINGTALK).request(make_outgoing(target), NOW_MS)
    parts = urlsplit(request.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{DINGTALK}/robot/send"
    assert request.params == {}
    query = _query(request.url)
    assert query == {
        "access_token": ["ding-token"],
        "timestamp": [str(NOW_MS)],
        "sign": ["TSZbRFUuvaSQaRKUpF970OPCb2/LcQAP3wOvwZIzBZk="],
    }
    assert parts.query == (
        f"access_token=ding-token&timestamp={NOW_MS}&sign={_independent_sign('SEC0123456789abcdef', NOW_MS)}"
    )


def test_dingtalk_timestamp_is_the_given_milliseconds(make_outgoing: MakeOutgoing) -> None:
    target = {"type": "dingtalk", "access_token": "t", "secret": "SECx"}
    for ts in [NOW_MS, NOW_MS + 12_345]:
        query = _query(Dingtalk(DINGTALK).request(make_outgoing(target), ts).url)
        assert query["timestamp"] == [str(ts)]
        [sign] = query["sign"]
        assert quote_plus(sign) == _independent_sign("SECx", ts)


@pytest.mark.parametrize(
    ("token", "secret"),
    [
        ("ding-token", "SECa+b/c=d&e"),
        ("a+b/c=d&e", "SEC0123456789abcdef"),
        ("tok en%2B+/=&x=y", "SEC with space+/=&%"),
    ],
)
def test_dingtalk_special_characters_round_trip(make_outgoing: MakeOutgoing, token: str, secret: str) -> None:
    target = {"type": "dingtalk", "access_token": token, "secret": secret}
    request = Dingtalk(DINGTALK).request(make_outgoing(target), NOW_MS + 1)
    expected_sign = base64.b64encode(
        hmac.new(secret.encode(), f"{NOW_MS + 1}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    want = {"access_token": [token], "timestamp": [str(NOW_MS + 1)], "sign": [expected_sign]}
    assert _query(request.url) == want
    # And as httpx sends it (service._send passes params=None when there are none): nothing re-encoded away.
    sent = httpx.Request("POST", request.url, params=request.params or None, content=request.body)
    assert _query(str(sent.url)) == want
    assert dict(sent.url.params) == {k: v[0] for k, v in want.items()}


def test_dingtalk_body_is_exactly_a_text_message_with_at(make_outgoing: MakeOutgoing) -> None:
    target = {"type": "dingtalk", "access_token": "t", "secret": "SECx"}
    request = Dingtalk(DINGTALK).request(make_outgoing(target), NOW_MS)
    body = json.loads(request.body.decode("utf-8"))
    assert body == {
        "msgtype": "text",
        "text": {"content": body["text"]["content"]},
        "at": {"atMobiles": ["13800000001", "13800000006"]},
    }
    content = body["text"]["content"]
    assert TITLE in content and BODY in content
    assert request.headers["Content-Type"].startswith("application/json")


def test_dingtalk_tolerates_a_trailing_slash_on_the_base(make_outgoing: MakeOutgoing) -> None:
    target = {"type": "dingtalk", "access_token": "t", "secret": "SECx"}
    request = Dingtalk(DINGTALK + "/").request(make_outgoing(target), NOW_MS)
    assert request.url.startswith(f"{DINGTALK}/robot/send?")


# ---- robot replies ---------------------------------------------------------------


@pytest.mark.parametrize("robot", [Wecom(WECOM), Dingtalk(DINGTALK)], ids=["wecom", "dingtalk"])
def test_errcode_zero_is_taken(robot: Wecom | Dingtalk) -> None:
    robot.check(200, b'{"errcode": 0, "errmsg": "ok"}')
    robot.check(200, json.dumps({"errcode": 0, "errmsg": "成功"}, ensure_ascii=False).encode())


@pytest.mark.parametrize("robot", [Wecom(WECOM), Dingtalk(DINGTALK)], ids=["wecom", "dingtalk"])
@pytest.mark.parametrize(
    "reply",
    [
        b'{"errcode": 45009, "errmsg": "api freq out of limit"}',
        b'{"errcode": 310000, "errmsg": "sign not match"}',
        b'{"errcode": -1, "errmsg": "system busy"}',
        b'{"errcode": "0"}',
        b'{"errmsg": "no errcode"}',
        b"[0]",
        b"null",
    ],
)
def test_a_non_zero_errcode_is_retried(robot: Wecom | Dingtalk, reply: bytes) -> None:
    with pytest.raises(SendError) as caught:
        robot.check(200, reply)
    assert caught.value.retryable is True


def test_the_errcode_and_errmsg_are_in_the_error() -> None:
    with pytest.raises(SendError, match=r"45009.*api freq out of limit"):
        check_errcode(200, b'{"errcode": 45009, "errmsg": "api freq out of limit"}')


@pytest.mark.parametrize("reply", [b"", b"<html>Bad Gateway</html>", b"ok", b"\xff\xfe"])
def test_a_reply_that_is_not_json_is_retried(reply: bytes) -> None:
    with pytest.raises(SendError, match="not JSON") as caught:
        check_errcode(200, reply)
    assert caught.value.retryable is True


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_robot_429_and_5xx_are_retried(status: int) -> None:
    with pytest.raises(SendError) as caught:
        check_errcode(status, b'{"errcode": 0}')
    assert caught.value.retryable is True


@pytest.mark.parametrize("status", [400, 403, 404])
def test_robot_other_4xx_fail_at_once(status: int) -> None:
    with pytest.raises(SendError) as caught:
        check_errcode(status, b'{"errcode": 0}')
    assert caught.value.retryable is False


# ---- rate-limit key ----------------------------------------------------------------


def test_robot_key_is_per_robot_and_hides_the_secret() -> None:
    wecom = robot_key({"type": "wecom", "key": "wecom-key-1"})
    assert wecom == robot_key({"type": "wecom", "key": "wecom-key-1"})
    assert wecom != robot_key({"type": "wecom", "key": "wecom-key-2"})
    assert wecom.startswith("wecom:") and "wecom-key-1" not in wecom
    ding = robot_key({"type": "dingtalk", "access_token": "ding-token", "secret": "SECx"})
    assert ding.startswith("dingtalk:") and "ding-token" not in ding and "SECx" not in ding
    assert ding == "dingtalk:" + hashlib.sha256(b"ding-token").hexdigest()[:16]
    # The same secret under another robot type is another robot.
    assert robot_key({"type": "wecom", "key": "same"}) != robot_key({"type": "dingtalk", "access_token": "same"})
