"""Email over SMTP: UTF-8, subject and body in Chinese."""

from __future__ import annotations

from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

from notify.channels.base import Outgoing, SendError


def compose(out: Outgoing, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = out.target["email"]
    # A header is one line: an issue title may hold line breaks.
    mail["Subject"] = " ".join(out.message.title.split())
    mail["X-Louzhang-Delivery"] = out.delivery_id
    mail.set_content(out.message.body, charset="utf-8")
    return mail


class Email:
    name = "email"

    def __init__(self, smtp_url: str, sender: str) -> None:
        parts = urlsplit(smtp_url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"LOUZHANG_SMTP_URL must look like smtp://host:port, not {smtp_url!r}")
        self.host = parts.hostname
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.tls = parts.scheme == "smtps"
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender

    async def send(self, out: Outgoing) -> None:
        try:
            await aiosmtplib.send(
                compose(out, self.sender),
                hostname=self.host,
                port=self.port,
                use_tls=self.tls,
                username=self.username,
                password=self.password,
                timeout=10,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise SendError(f"recipient refused: {exc}", retryable=False) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise SendError(f"SMTP: {exc}", retryable=True) from exc
