"""The outside world's webhook endpoint: records every POST with its X-Louzhang-Delivery, answers 200."""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog is 5. With it, notify logged ReadErrors on webhook sends during
    # bursts and sent again; with 128, a run had none. A real receiver's backlog is larger.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A sender killed (or timed out) before the answer was written: a broken pipe, not a receiver fault.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


@dataclass(frozen=True)
class Call:
    path: str
    delivery: str
    event: str
    issue_id: str
    recipient: str
    at: float


class Receiver:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    payload = json.loads(body)
                    call = Call(
                        self.path,
                        self.headers.get("X-Louzhang-Delivery", ""),
                        str(payload.get("event")),
                        str((payload.get("issue") or {}).get("id")),
                        str(payload.get("recipient")),
                        time.time(),
                    )
                except (ValueError, AttributeError):
                    call = Call(self.path, self.headers.get("X-Louzhang-Delivery", ""), "?", "?", "?", time.time())
                with outer._lock:
                    outer.calls.append(call)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def snapshot(self) -> list[Call]:
        with self._lock:
            return list(self.calls)
