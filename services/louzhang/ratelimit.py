"""Requests per minute per caller (429 with Retry-After), counted in each process.

A caller is the principal its token verifies as (`staff:S001`), however the header is spelled
(`bearer`, `BEARER`, extra spaces) and whichever of its tokens it uses; a request without a valid
token (none, forged, expired) counts against its client address, so bad tokens are throttled too.
The count is kept in memory: with several replicas of a service behind a load balancer, a caller
may make up to the limit on each of them.
"""

from __future__ import annotations

import math
import time
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from louzhang.auth import InvalidToken

UNLIMITED_PATHS = ("/healthz", "/readyz", "/metrics")


class RateLimit:
    def __init__(self, app: ASGIApp, per_minute: int, clock: object = time.monotonic) -> None:
        self.app = app
        self.per_minute = per_minute
        self.clock = clock
        self.windows: dict[str, tuple[float, int]] = {}
        self._swept = 0.0

    @staticmethod
    def caller(scope: Scope, tokens: Any) -> str:
        """The verified principal (`kind:subject`), or the client address without a valid token."""
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").strip().partition(" ")
                if scheme.lower() == "bearer" and token.strip() and tokens is not None:
                    try:
                        who = tokens.verify(token.strip())
                    except InvalidToken:
                        break
                    return f"{who.kind}:{who.subject}"
                break
        client = scope.get("client")
        return f"addr:{client[0] if client else '?'}"

    def take(self, key: str, now: float) -> float | None:
        """Count a request; the seconds to wait when over the limit, else None."""
        start, count = self.windows.get(key, (now, 0))
        if now - start >= 60:
            start, count = now, 0
        if count >= self.per_minute:
            return 60 - (now - start)
        self.windows[key] = (start, count + 1)
        if now - self._swept > 60:
            self._swept = now
            self.windows = {k: v for k, v in self.windows.items() if now - v[0] < 60}
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.per_minute or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        app = scope.get("app")
        tokens = getattr(app.state, "tokens", None) if app is not None else None
        wait = self.take(self.caller(scope, tokens), self.clock())  # type: ignore[operator]
        if wait is None:
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            {"detail": f"more than {self.per_minute} requests a minute from this caller; try again later"},
            status_code=429,
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
        await response(scope, receive, send)
