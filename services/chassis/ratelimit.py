"""Requests per minute per caller (429 with Retry-After), shared by every replica of a service.

A caller is the principal its token verifies as (`staff:S001`), however the header is spelled
(`bearer`, `BEARER`, extra spaces) and whichever of its tokens it uses; a request without a valid
token (none, forged, expired) counts against its client address, so bad tokens are throttled too.

Each process decides at once from what it knows: its own requests since it last synchronised, plus
the caller's count in MongoDB as last read. Twice a second it adds its requests to the shared count
(one document per caller and window, `<service>_rate_windows`) and reads the total back. So all
replicas together admit the limit, give or take what each admits in half a second before it hears
of the others; with the database down each process goes on counting alone.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from chassis.auth import InvalidToken
from chassis.loops import run_forever

log = logging.getLogger(__name__)

UNLIMITED_PATHS = ("/healthz", "/readyz", "/metrics")
WINDOW_S = 60.0
# Callers synchronised in one pass, the busiest first; the rest wait for the next pass.
SYNC_BATCH = 1000


@dataclass
class Window:
    start: float  # epoch seconds: the caller's first request of this window, on any replica
    known: int = 0  # the shared count as last read (this process's synchronised requests included)
    pending: int = 0  # this process's requests not yet added to it


class Budget:
    """The count of requests per caller in windows of a minute from the caller's first request."""

    def __init__(
        self,
        per_minute: int,
        windows: AsyncCollection[dict[str, Any]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.per_minute = per_minute
        self.shared = windows
        self.clock = clock
        self.windows: dict[str, Window] = {}

    async def ensure_indexes(self) -> None:
        if self.shared is not None and self.per_minute:
            await self.shared.create_index("expires_at", expireAfterSeconds=0)

    def take(self, key: str, now: float | None = None) -> float | None:
        """Count a request; the seconds to wait when over the limit, else None."""
        now = self.clock() if now is None else now
        window = self.windows.get(key)
        if window is None or now - window.start >= WINDOW_S:
            window = self.windows[key] = Window(start=now)
        if window.known + window.pending >= self.per_minute:
            return WINDOW_S - (now - window.start)
        window.pending += 1
        return None

    async def sync(self) -> None:
        """Add this process's requests to the shared counts and learn the other replicas'."""
        now = self.clock()
        self.windows = {k: w for k, w in self.windows.items() if now - w.start < WINDOW_S}
        if self.shared is None:
            return
        busy = sorted((w.pending, k) for k, w in self.windows.items() if w.pending)[-SYNC_BATCH:]
        for _, key in reversed(busy):
            window = self.windows[key]
            delta = window.pending
            doc = await self._add(key, window.start, delta, now)
            if self.windows.get(key) is window:  # not rolled over meanwhile
                window.start, window.known, window.pending = doc["start"], doc["count"], window.pending - delta
        # Callers quiet here since the last pass may be busy on another replica.
        quiet = [k for k, w in self.windows.items() if not w.pending][:SYNC_BATCH]
        if quiet:
            async for doc in self.shared.find({"_id": {"$in": quiet}}):
                held = self.windows.get(doc["_id"])
                if held is not None and not held.pending and now - doc["start"] < WINDOW_S:
                    held.start, held.known = doc["start"], doc["count"]

    async def _add(self, key: str, start: float, delta: int, now: float) -> dict[str, Any]:
        assert self.shared is not None
        stale = {
            "$or": [{"$eq": [{"$type": "$start"}, "missing"]}, {"$gte": [{"$subtract": [now, "$start"]}, WINDOW_S]}]
        }
        expires = datetime.fromtimestamp(start + 2 * WINDOW_S, UTC)
        update = [
            {
                "$set": {
                    "count": {"$cond": [stale, delta, {"$add": ["$count", delta]}]},
                    "start": {"$cond": [stale, start, "$start"]},
                    "expires_at": {"$cond": [stale, expires, "$expires_at"]},
                }
            }
        ]
        for attempt in range(2):
            try:
                doc = await self.shared.find_one_and_update(
                    {"_id": key}, update, upsert=True, return_document=ReturnDocument.AFTER
                )
                assert doc is not None
                return doc
            except DuplicateKeyError:  # two replicas inserted the caller's first window at once
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def run(self, every_s: float = 0.5) -> None:
        async def step() -> int:
            await self.sync()
            return 0

        await run_forever(step, name="sharing the rate-limit counts", idle_s=every_s)


class RateLimit:
    """The middleware: `budget` counts, shared when it has a collection."""

    def __init__(self, app: ASGIApp, budget: Budget) -> None:
        self.app = app
        self.budget = budget

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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        per_minute = self.budget.per_minute
        if scope["type"] != "http" or not per_minute or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        app = scope.get("app")
        tokens = getattr(app.state, "tokens", None) if app is not None else None
        wait = self.budget.take(self.caller(scope, tokens))
        if wait is None:
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            {"detail": f"more than {per_minute} requests a minute from this caller; try again later"},
            status_code=429,
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
        await response(scope, receive, send)
