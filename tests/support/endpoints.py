"""Real servers on loopback standing in for the outside world: one HTTP server for the
webhook, callback, WeCom and DingTalk endpoints, and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller

from tests.support.servers import free_port


@dataclass
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Script:
    """How an endpoint answers: the next replies in order (first those scripted for the robot named by
    the request's `key` or `access_token`), then `default`."""

    replies: list[tuple[int, Any]] = field(default_factory=list)
    for_robot: dict[str, list[tuple[int, Any]]] = field(default_factory=lambda: defaultdict(list))
    default: tuple[int, Any] = (200, {"errcode": 0, "errmsg": "ok"})
    delay_s: float = 0.0


class Endpoints:
    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self.scripts: dict[str, Script] = defaultdict(Script)
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                with outer._lock:
                    outer.received.append(
                        Received(parts.path, query, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
                    )
                    script = outer.scripts[parts.path]
                    mine = script.for_robot.get(query.get("key") or query.get("access_token") or "")
                    if mine:
                        status, reply = mine.pop(0)
                    else:
                        status, reply = script.replies.pop(0) if script.replies else script.default
                if script.delay_s:
                    time.sleep(script.delay_s)
                payload = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]


class Mailbox:
    """An SMTP server on loopback that keeps every message it is given."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]
