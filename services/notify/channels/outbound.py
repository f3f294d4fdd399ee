"""The HTTP client for user-given URLs (webhooks, callbacks): it connects only to addresses
the outbound guard (`chassis.urls`) has checked.

The guard resolves the host when a connection is opened and the connection goes to the
very address it checked, while the request keeps the name in its Host header and in TLS
SNI (and the certificate is verified for the name). A name that resolves to a public
address when checked and to an inside one a moment later (DNS rebinding) therefore never
reaches the inside one. httpx 0.28 takes no network backend (encode/httpx#3749 is open),
so the transport puts its own httpcore pool, with a network backend that asks the guard,
in place of the one it builds.

The operator's WeCom and DingTalk base URLs and SMTP server are not user-given and use a
plain client (`notify.deliveries.service`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from chassis.urls import OutboundGuard, Refused, target


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves through the guard and connects to a checked address, one after another."""

    def __init__(self, guard: OutboundGuard, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.guard = guard
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self.guard.resolve(host, port)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise Refused("user-given URLs do not reach Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with the guarded backend; no proxies from the environment (a proxy
    would make the connection, unchecked)."""

    def __init__(self, guard: OutboundGuard, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        super().__init__(trust_env=False)
        self.guard = guard
        limits = httpx.Limits()
        # The pool httpx builds for these arguments, with the guarded backend in it.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(guard, inner),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # Userinfo, scheme and host as the guard sees them; the addresses are checked at connect.
        target(str(request.url))
        return await super().handle_async_request(request)


def guarded_client(guard: OutboundGuard, timeout: float = 10) -> httpx.AsyncClient:
    """The client for webhooks and callbacks: redirects are not followed (a signed POST is not
    re-sent elsewhere, and a redirect could lead inside)."""
    return httpx.AsyncClient(
        transport=GuardedTransport(guard), timeout=timeout, follow_redirects=False, trust_env=False
    )
