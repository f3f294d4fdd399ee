"""Where the URLs that users give (webhooks, issue callbacks) may lead.

Anyone who can submit an issue or edit the directory chooses a URL that notify then
POSTs to from inside the network. Left unchecked, that reaches the services' own
APIs, MongoDB, the broker, a cloud's metadata service (169.254.169.254) or anything
on the private network. So an outgoing URL is refused when it

- carries a user name or password (`user:pass@`), which would be sent as Basic auth;
- leads to an address that is not public: unspecified, loopback, link-local,
  multicast, site-local, reserved, private or otherwise non-global, IPv4 written
  inside IPv6 (`::ffff:127.0.0.1`, `::127.0.0.1`, `64:ff9b::a.b.c.d`, 6to4)
  judged as the IPv4 it carries;

unless the operator's allow-list (`LOUZHANG_OUTBOUND_ALLOW`: comma-separated
`host:port`, `host` or CIDR entries) names the address, or the URL's host name. The
services' own ports (and MongoDB's and the broker's) on such an address are never
allowed, whatever the list says.

A host name is checked for every address it resolves to, and the sender connects to
the address it checked (see `notify.channels.outbound`), so a name that resolves
elsewhere between the check and the connection (DNS rebinding) gains nothing.

`classify`, `embedded_ipv4`, `parse_allow` and `OutboundGuard.check_address` are pure;
only `OutboundGuard.resolve` and `OutboundGuard.check_submitted` look names up.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[Address]]]


_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # RFC 2765 IPv4-translated
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$"
)


class Refused(Exception):
    """An outgoing URL or address the guard does not allow; the message says why."""


# ---- pure classification ---------------------------------------------------


def embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    """The IPv4 address an IPv6 address stands for, with the form's name: IPv4-mapped
    (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), IPv4-translated, NAT64 and 6to4.
    Python 3.11 does not call `::ffff:127.0.0.1` loopback, so these are unwrapped first."""
    value = int(address)
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped, "IPv4-mapped"
    if value >> 32 == 0 and value > 1:
        return ipaddress.IPv4Address(value & 0xFFFFFFFF), "IPv4-compatible"
    if address in _TRANSLATED:
        return ipaddress.IPv4Address(value & 0xFFFFFFFF), "IPv4-translated"
    if any(address in net for net in _NAT64):
        return ipaddress.IPv4Address(value & 0xFFFFFFFF), "NAT64"
    if address.sixtofour is not None:
        return address.sixtofour, "6to4"
    return None


def _kind(address: Address) -> str | None:
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "site-local"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "non-public"
    return None


def classify(address: Address) -> str | None:
    """Why an address is not public (e.g. "loopback address 127.0.0.1"), or None when it is."""
    if isinstance(address, ipaddress.IPv6Address) and not (address.is_unspecified or address.is_loopback):
        inner = embedded_ipv4(address)
        if inner is not None:
            ipv4, form = inner
            kind = _kind(ipv4)
            if kind is not None:
                return f"{kind} address {ipv4} ({form} {address.compressed})"
            if form != "6to4":
                return None
    kind = _kind(address)
    return f"{kind} address {address.compressed}" if kind else None


def effective(address: Address) -> Address:
    """The address as the allow-list sees it: IPv4 written inside IPv6 counts as that IPv4."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None and inner[1] != "6to4":
            return inner[0]
    return address


@dataclass(frozen=True)
class AllowEntry:
    """One `LOUZHANG_OUTBOUND_ALLOW` entry: a network (an address is a /32 or /128) or a host
    name, optionally with a port."""

    text: str
    network: Network | None = None
    name: str | None = None
    port: int | None = None

    def permits(self, host: str | None, address: Address, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return address in self.network or effective(address) in self.network
        return host is not None and self.name == normal_host(host)


def normal_host(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def _port(text: str, entry: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"LOUZHANG_OUTBOUND_ALLOW entry {entry!r}: {text!r} is not a port (1 to 65535)")
    return int(text)


def _split_host_port(text: str, entry: str) -> tuple[str, int | None]:
    bracketed = re.fullmatch(r"\[([^\]]+)\](?::(.*))?", text)
    if bracketed:
        host, port = bracketed.group(1), bracketed.group(2)
        return host, None if port is None else _port(port, entry)
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, _port(port, entry)
    return text, None  # a name, an IPv4 address, or an IPv6 address without a port


def parse_allow_entry(entry: str) -> AllowEntry:
    text = entry.strip()
    if "://" in text:
        raise ValueError(f"LOUZHANG_OUTBOUND_ALLOW entry {entry!r} is a URL: write host:port, host or a CIDR network")
    if "/" in text:
        try:
            return AllowEntry(text, network=ipaddress.ip_network(text, strict=False))
        except ValueError as exc:
            raise ValueError(f"LOUZHANG_OUTBOUND_ALLOW entry {entry!r} is not a CIDR network") from exc
    host, port = _split_host_port(text, entry)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        name = normal_host(host)
        if text.startswith("[") or not _HOSTNAME.match(name):
            raise ValueError(
                f"LOUZHANG_OUTBOUND_ALLOW entry {entry!r} is neither host:port, a host nor a CIDR network"
            ) from None
        return AllowEntry(text, name=name, port=port)
    return AllowEntry(text, network=ipaddress.ip_network(address), port=port)


def parse_allow(text: str) -> tuple[AllowEntry, ...]:
    """`LOUZHANG_OUTBOUND_ALLOW`: comma-separated `host:port`, `host` or CIDR entries
    (`127.0.0.1:9000`, `[::1]:9000`, `hooks.internal`, `10.20.0.0/16`); blanks are ignored."""
    return tuple(parse_allow_entry(part) for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class Target:
    """Where a URL leads: its host as written, and its port (the scheme's default if none)."""

    host: str
    port: int
    literal: Address | None


def target(url: str) -> Target:
    """The URL's host and port; Refused for what no outgoing URL may be (not http(s), no host,
    a user name or password)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise Refused("only http and https URLs are sent to")
    if "@" in parts.netloc:
        raise Refused("the URL carries a user name or password (user:pass@), which would be sent along")
    host = normal_host(parts.hostname or "")
    if not host:
        raise Refused("the URL has no host")
    try:
        literal: Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    return Target(host, port or (443 if parts.scheme == "https" else 80), literal)


# ---- the guard -------------------------------------------------------------


async def system_resolver(host: str, port: int) -> list[Address]:
    """Every address the system resolver gives for `host` (numeric forms like `2130706433`
    included, as a connection would see them)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[Address] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in found:
            found.append(address)
    return found


class OutboundGuard:
    """The allow-list and the ports that are never allowed, applied to user-given URLs."""

    def __init__(
        self,
        allow: Sequence[AllowEntry] = (),
        own_ports: Iterable[int] = (),
        resolver: Resolver = system_resolver,
        resolve_timeout_s: float = 5.0,
    ) -> None:
        self.allow = tuple(allow)
        self.own_ports = frozenset(own_ports)
        self.resolver = resolver
        self.resolve_timeout_s = resolve_timeout_s

    def check_address(self, address: Address, port: int, host: str | None = None) -> str | None:
        """Why connecting to `address:port` (for the URL host `host`) is refused, or None."""
        reason = classify(address)
        if reason is None:
            return None
        if port in self.own_ports:
            return f"{reason}, port {port} is one of Louzhang's own"
        if any(entry.permits(host, address, port) for entry in self.allow):
            return None
        return f"{reason} is not in LOUZHANG_OUTBOUND_ALLOW"

    async def resolve(self, host: str, port: int) -> list[Address]:
        """The addresses to connect to for `host:port`, every one of them checked: Refused if
        any is refused (a name that also resolves inward is not trusted for its other addresses)."""
        host = normal_host(host)
        try:
            addresses, named = [ipaddress.ip_address(host)], False
        except ValueError:
            addresses, named = await asyncio.wait_for(self.resolver(host, port), self.resolve_timeout_s), True
        if not addresses:
            raise OSError(f"{host} resolves to no address")
        for address in addresses:
            reason = self.check_address(address, port, host)
            if reason is not None:
                raise Refused(f"{host} resolves to {reason}" if named else reason)
        return addresses

    async def check_submitted(self, url: str) -> str | None:
        """Why a URL given now is refused, or None: literal addresses and names that resolve
        now are checked; a name that does not resolve (yet) is accepted, and checked again
        when it is used."""
        try:
            where = target(url)
            await self.resolve(where.host, where.port)
        except Refused as exc:
            return str(exc)
        except (OSError, TimeoutError, UnicodeError):
            return None
        return None


def own_ports(service_ports: Iterable[int], urls: Iterable[str], replicas: int = 5) -> set[int]:
    """The ports no outgoing URL may reach on an inside address: each service's, those of its
    replicas (replica k listens on port + 100·k under `make run`), and the database's and
    broker's (from their URLs, and their usual defaults)."""
    ports = {port + 100 * k for port in service_ports for k in range(replicas)}
    ports |= {27017, 5672}
    for url in urls:
        try:
            netloc = urlsplit(url).netloc.rsplit("@", 1)[-1]
        except ValueError:
            continue
        for host in netloc.split(","):
            port = host.rsplit(":", 1)[-1] if ":" in host and not host.endswith("]") else ""
            if port.isdigit():
                ports.add(int(port))
    return ports
