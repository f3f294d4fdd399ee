"""The interface every outside channel implements, and how a reply is judged."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Message:
    """What a notification says: a title and a body in Chinese, readable on a phone."""

    title: str
    body: str


@dataclass(frozen=True)
class Outgoing:
    """Everything a channel needs to send one delivery."""

    delivery_id: str
    event: str
    message: Message
    payload: dict[str, Any]  # the webhook/callback JSON: {"event", "issue", "recipient", "level"}
    target: dict[str, Any]  # the recipient's channel entry (url, key, secrets) and contact (phone, email)
    mentions: list[str] = field(default_factory=list)  # phones to @ on robots


class SendError(Exception):
    """A failed send; `retryable` failures are tried again (contract: Notifications)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class HttpRequest:
    url: str
    body: bytes
    headers: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)


class HttpChannel(Protocol):
    name: str

    def request(self, out: Outgoing, now_ms: int) -> HttpRequest: ...

    def check(self, status: int, body: bytes) -> None:
        """Raise SendError unless the reply means the message was taken."""


def check_status(status: int) -> None:
    """Connection errors, timeouts, 5xx and 429 are retried; other 4xx fail at once. Redirects
    are not followed (a signed POST is not re-sent elsewhere): they fail at once too."""
    if status == 429 or status >= 500:
        raise SendError(f"HTTP {status}", retryable=True)
    if status >= 300:
        raise SendError(f"HTTP {status}", retryable=False)
