"""The FastAPI application every service is built on: health, readiness, metrics, errors, limits."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from fnmatch import fnmatch
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chassis import asyncapi
from chassis.outage import is_outage
from chassis.ratelimit import RateLimit
from chassis.runtime import Runtime

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024

REQUESTS = Histogram(
    "louzhang_http_request_seconds", "HTTP requests by route and status", ["method", "route", "status"]
)


class BodyLimit:
    """413 for a request body over the limit, declared or streamed; `larger` raises the
    limit for the paths starting with its keys (bulk uploads)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.default = limit
        self.larger = larger or {}

    def limit_for(self, path: str) -> int:
        """The limit of the first key that is a prefix of `path` (or, with `*`, matches it as a glob)."""
        return next(
            (n for key, n in self.larger.items() if (fnmatch(path, key) if "*" in key else path.startswith(key))),
            self.default,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _too_large(scope, receive, send, limit)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge(limit)
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:  # raised where no exception handler saw it (before any route)
            await _too_large(scope, receive, send, limit)


class Measure:
    """Request durations by route and status, as plain ASGI (a `BaseHTTPMiddleware` costs
    a task and a stream copy per request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], path, str(status)).observe(time.perf_counter() - started)


class _TooLarge(StarletteHTTPException):
    """Raised by `receive` once a streamed (chunked) body passes the limit. An HTTPException, so that
    FastAPI's body parsing passes it on as it is rather than turning it into a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    response = JSONResponse({"detail": f"request body larger than {limit} bytes"}, status_code=413)
    await response(scope, receive, send)


def create_app(
    runtime: Runtime,
    *,
    title: str,
    description: str,
    routers: list[APIRouter],
    body_limits: dict[str, int] | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, description=description, version="1.0", lifespan=lifespan)
    app.state.runtime = runtime
    app.state.tokens = runtime.tokens
    app.add_middleware(BodyLimit, larger=body_limits)
    app.add_middleware(RateLimit, budget=runtime.budget)

    app.add_middleware(Measure)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
            # FastAPI's answer to a body it cannot decode names nothing; say what is wrong.
            return JSONResponse(
                {"detail": [{"loc": ["body"], "msg": "the body is not valid UTF-8", "type": "json_invalid"}]},
                status_code=422,
            )
        return await http_exception_handler(request, exc)

    @app.exception_handler(Exception)
    async def outage(request: Request, exc: Exception) -> Response:
        if is_outage(exc):
            log.warning("%s %s: dependency down: %s", request.method, request.url.path, exc)
            return JSONResponse(
                {"detail": "a dependency (database or broker) is unavailable; try again shortly"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        log.exception("%s %s failed", request.method, request.url.path)
        return JSONResponse({"detail": "internal error"}, status_code=500)

    ops = APIRouter(tags=["operations"])

    @ops.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @ops.get("/readyz", summary="Broker, database and directory are all there")
    async def readyz() -> JSONResponse:
        checks = await runtime.ready()
        ok = all(checks.values())
        # Notes (e.g. routing's "calendar": "fallback: 2027 weekdays only") are shown, never failed on.
        return JSONResponse(
            {
                "status": "ready" if ok else "not ready",
                "checks": {**checks, **await runtime.notes(ok)},
                # Which node this process is on: the broker's, and the database's primary.
                "broker_node": runtime.bus.node if runtime.bus.connected else None,
                "mongo_primary": runtime.store.primary(),
            },
            status_code=200 if ok else 503,
            headers={} if ok else {"Retry-After": "5"},
        )

    @ops.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @ops.get("/asyncapi.json", summary="The events this service publishes and consumes")
    async def asyncapi_document() -> dict[str, Any]:
        return asyncapi.document(runtime.name)

    app.include_router(ops)
    for router in routers:
        app.include_router(router)
    return app
