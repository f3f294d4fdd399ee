"""notify.channels.mail: compose() and the SMTP URL; sends go to a stand-in for aiosmtplib.send."""

from __future__ import annotations

import contextlib
import email
import email.policy
from typing import Any

import aiosmtplib
import pytest

from notify.channels import mail
from notify.channels.base import Message, SendError
from notify.channels.mail import Email, compose
from tests.unit.notify.conftest import MakeOutgoing

SENDER = "louzhang@example.org"
TITLE = "【新工单】消防通道堆物"
BODY = "事项：消防安全隐患\n地点：电科大厦（天地软件园）\n详情：https://louzhang.example.org/issues/I1"


def _target() -> dict[str, Any]:
    return {"email": "louzhang-s1@example.org"}


def _parsed(raw: bytes) -> email.message.EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


def test_compose_addresses_and_delivery_header(make_outgoing: MakeOutgoing) -> None:
    out = make_outgoing(_target(), delivery_id="rec-9", message=Message(TITLE, BODY))
    parsed = _parsed(compose(out, SENDER).as_bytes())
    assert parsed["From"] == SENDER
    assert parsed["To"] == "louzhang-s1@example.org"
    assert parsed["X-Louzhang-Delivery"] == "rec-9"


def test_the_chinese_subject_and_body_survive_the_wire(make_outgoing: MakeOutgoing) -> None:
    out = make_outgoing(_target(), message=Message(TITLE, BODY))
    raw = compose(out, SENDER).as_bytes()
    parsed = _parsed(raw)
    assert parsed["Subject"] == TITLE
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content_charset() == "utf-8"
    assert parsed.get_content().rstrip("\n") == BODY


def test_the_headers_on_the_wire_are_ascii(make_outgoing: MakeOutgoing) -> None:
    """SMTP headers must be encoded (RFC 2047), not raw UTF-8."""
    out = make_outgoing(_target(), message=Message(TITLE, BODY))
    head = compose(out, SENDER).as_bytes().split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")
    assert b"=?utf-8?" in head.lower()


def test_a_long_chinese_subject_survives_folding(make_outgoing: MakeOutgoing) -> None:
    title = "【工单逾期督办】" + "消防通道堆物" * 20
    parsed = _parsed(compose(make_outgoing(_target(), message=Message(title, BODY)), SENDER).as_bytes())
    assert parsed["Subject"] == title


# ---- the SMTP URL ----------------------------------------------------------------


def test_smtp_url_with_port() -> None:
    channel = Email("smtp://h:2525", SENDER)
    assert (channel.host, channel.port, channel.tls) == ("h", 2525, False)
    assert channel.sender == SENDER
    assert (channel.username, channel.password) == (None, None)
    assert channel.name == "email"


def test_smtp_url_default_port_is_25() -> None:
    channel = Email("smtp://mail.example.org", SENDER)
    assert (channel.host, channel.port, channel.tls) == ("mail.example.org", 25, False)


def test_smtps_defaults_to_465_with_tls() -> None:
    channel = Email("smtps://mail.example.org", SENDER)
    assert (channel.host, channel.port, channel.tls) == ("mail.example.org", 465, True)


def test_smtps_with_an_explicit_port_keeps_tls() -> None:
    channel = Email("smtps://mail.example.org:2465", SENDER)
    assert (channel.port, channel.tls) == (2465, True)


def test_smtp_url_with_credentials() -> None:
    channel = Email("smtp://louzhang:s3cret@mail.example.org:587", SENDER)
    assert (channel.username, channel.password, channel.host, channel.port) == (
        "louzhang",
        "s3cret",
        "mail.example.org",
        587,
    )


def test_percent_encoded_credentials_are_decoded() -> None:
    channel = Email("smtp://robot%40example.org:p%40ss%2Fw%3Ard@mail.example.org:587", SENDER)
    assert (channel.username, channel.password) == ("robot@example.org", "p@ss/w:rd")


@pytest.mark.parametrize(
    "url",
    [
        "",
        "mail.example.org:25",
        "http://mail.example.org",
        "smtp://",
        "smtp:///nohost",
        "smtp://:25",
        "smtp://h:notaport",
        "smtp://h:99999",
    ],
)
def test_a_bad_smtp_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        Email(url, SENDER)


# ---- sending (aiosmtplib.send replaced, no network) ----------------------------------


class _FakeSend:
    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.calls: list[tuple[Any, dict[str, Any]]] = []

    async def __call__(self, message: Any, **kwargs: Any) -> None:
        self.calls.append((message, kwargs))
        if self.error is not None:
            raise self.error


async def test_send_hands_the_composed_mail_to_smtp(
    monkeypatch: pytest.MonkeyPatch, make_outgoing: MakeOutgoing
) -> None:
    fake = _FakeSend()
    monkeypatch.setattr(mail.aiosmtplib, "send", fake)
    await Email("smtps://u:p@mail.example.org", SENDER).send(make_outgoing(_target(), delivery_id="rec-1"))
    [(message, kwargs)] = fake.calls
    assert message["X-Louzhang-Delivery"] == "rec-1"
    assert kwargs["hostname"] == "mail.example.org"
    assert kwargs["port"] == 465
    assert kwargs["use_tls"] is True
    assert (kwargs["username"], kwargs["password"]) == ("u", "p")


async def test_a_refused_recipient_is_not_retried(monkeypatch: pytest.MonkeyPatch, make_outgoing: MakeOutgoing) -> None:
    refused = aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "no such user", "x@y")])
    monkeypatch.setattr(mail.aiosmtplib, "send", _FakeSend(refused))
    with pytest.raises(SendError) as caught:
        await Email("smtp://h:2525", SENDER).send(make_outgoing(_target()))
    assert caught.value.retryable is False


@pytest.mark.parametrize(
    "error",
    [aiosmtplib.SMTPConnectError("refused"), aiosmtplib.SMTPServerDisconnected("gone"), ConnectionRefusedError()],
    ids=["connect", "disconnected", "oserror"],
)
async def test_smtp_and_connection_errors_are_retried(
    monkeypatch: pytest.MonkeyPatch, make_outgoing: MakeOutgoing, error: BaseException
) -> None:
    monkeypatch.setattr(mail.aiosmtplib, "send", _FakeSend(error))
    with pytest.raises(SendError) as caught:
        await Email("smtp://h:2525", SENDER).send(make_outgoing(_target()))
    assert caught.value.retryable is True


async def test_a_title_with_a_line_break_does_not_escape_as_a_crash(
    monkeypatch: pytest.MonkeyPatch, make_outgoing: MakeOutgoing
) -> None:
    monkeypatch.setattr(mail.aiosmtplib, "send", _FakeSend())
    out = make_outgoing(_target(), message=Message("【新工单】消防通道\n堆物", BODY))
    # A failure the sender records (SendError) is fine; any other exception is not.
    with contextlib.suppress(SendError):
        await Email("smtp://h:2525", SENDER).send(out)
