"""notify.channels.outbound: the client for user-given URLs connects only to checked addresses.

Nothing here leaves the process: names resolve through a stand-in resolver, refused sends are
proven to stop before any connection (every connect path fails the test if reached), and the
allowed send runs over a recording stand-in stream."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import anyio
import httpcore
import pytest

from chassis.urls import Address, OutboundGuard, Refused, parse_allow
from notify.channels.outbound import GuardedBackend, guarded_client

TABLE = {
    "public.example": ["93.184.216.34"],
    "metadata.example": ["169.254.169.254"],
    "intranet.example": ["10.1.2.3"],
    "split.example": ["93.184.216.34", "192.168.0.10"],
}


async def stand_in_resolver(host: str, port: int) -> list[Address]:
    if host not in TABLE:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return [ipaddress.ip_address(a) for a in TABLE[host]]


def guard(allow: str = "") -> OutboundGuard:
    return OutboundGuard(parse_allow(allow), {8001, 8002, 8003, 8004}, resolver=stand_in_resolver)


class Recording(httpcore.AsyncNetworkStream):
    """A connection that answers 200 and keeps what was written and the TLS name asked for."""

    def __init__(self) -> None:
        self.written = b""
        self.sni: str | None = None
        self.reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        reply, self.reply = self.reply, b""
        return reply

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.written += buffer

    async def aclose(self) -> None:
        pass

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.sni = server_hostname
        return self

    def get_extra_info(self, info: str) -> Any:
        return None


class Backend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self.connects: list[tuple[str, int]] = []
        self.stream = Recording()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connects.append((host, port))
        return self.stream

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every way out of the process fails the test: anyio's and asyncio's connects and the socket's."""

    def tripped(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a connection was attempted: {args[1:]!r} {kwargs!r}")

    async def tripped_async(*args: Any, **kwargs: Any) -> Any:
        tripped(*args, **kwargs)

    monkeypatch.setattr(anyio, "connect_tcp", tripped_async)
    monkeypatch.setattr(asyncio.BaseEventLoop, "create_connection", tripped_async)
    monkeypatch.setattr(asyncio.BaseEventLoop, "sock_connect", tripped_async)
    monkeypatch.setattr(socket.socket, "connect", tripped)
    monkeypatch.setattr(socket.socket, "connect_ex", tripped)
    monkeypatch.setattr(socket, "create_connection", tripped)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://10.0.0.5/hook", "private address 10.0.0.5"),
        ("http://169.254.169.254/latest/meta-data/", "link-local address 169.254.169.254"),
        ("http://[::ffff:10.0.0.5]/hook", "private address 10.0.0.5 (IPv4-mapped"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://[fd00::1]/", "private address fd00::1"),
        ("http://192.168.1.1:8080/", "private"),
        ("https://metadata.example/latest/meta-data", "metadata.example resolves to link-local"),
        ("https://intranet.example/", "intranet.example resolves to private address 10.1.2.3"),
        ("https://split.example/", "split.example resolves to private address 192.168.0.10"),
        ("https://user:pass@public.example/hook", "user name or password"),
    ],
)
async def test_refused_before_any_connection(no_connections: None, url: str, says: str) -> None:
    async with guarded_client(guard()) as client:
        with pytest.raises(Refused, match=re.escape(says)):
            await client.post(url, content=b"{}")


async def test_the_tripwire_catches_a_connection_the_guard_lets_through(no_connections: None) -> None:
    """What makes the test above a proof: had the guard let the send through, the connect fails it."""
    async with guarded_client(guard("10.0.0.0/8")) as client:
        with pytest.raises(AssertionError, match="a connection was attempted"):
            await client.post("http://10.0.0.5/hook", content=b"{}")


async def test_the_allow_list_does_not_reach_our_own_ports(no_connections: None) -> None:
    async with guarded_client(guard("10.0.0.0/8")) as client:
        with pytest.raises(Refused, match="port 8002 is one of Louzhang's own"):
            await client.post("http://10.0.0.5:8002/v1/tokens", content=b"{}")


async def test_the_checked_address_is_the_one_connected_to_with_the_name_kept() -> None:
    backend = Backend()
    transport_guard = guard()
    async with guarded_client(transport_guard) as client:
        client._transport._pool._network_backend = GuardedBackend(transport_guard, backend)  # type: ignore[attr-defined]
        reply = await client.post("https://public.example/hook", content=b"{}")
    assert reply.status_code == 200
    # Connected to the address the guard checked, while TLS and the Host header name the host.
    assert backend.connects == [("93.184.216.34", 443)]
    assert backend.stream.sni == "public.example"
    assert b"\r\nHost: public.example\r\n" in backend.stream.written


async def test_a_name_that_rebinds_inward_after_a_check_is_refused_on_its_next_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend = Backend()
    checks: list[str] = []
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])

    async def rebinding(host: str, port: int) -> list[Address]:
        checks.append(host)
        return [ipaddress.ip_address(a) for a in next(answers)]

    g = OutboundGuard((), set(), resolver=rebinding)
    inner = GuardedBackend(g, backend)
    assert await inner.connect_tcp("rebind.example", 80) is backend.stream
    with pytest.raises(Refused, match=r"rebind\.example resolves to loopback"):
        await inner.connect_tcp("rebind.example", 80)
    assert checks == ["rebind.example", "rebind.example"]
    assert backend.connects == [("93.184.216.34", 80)]


async def test_a_name_that_does_not_resolve_is_a_connection_error_to_retry() -> None:
    backend = Backend()
    inner = GuardedBackend(guard(), backend)
    with pytest.raises(httpcore.ConnectError, match="cannot resolve"):
        await inner.connect_tcp("nowhere.example", 80)
    assert backend.connects == []
