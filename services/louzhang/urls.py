"""Outgoing URLs (webhooks, callbacks) may not point back at the services themselves.

A callback or webhook towards a service's own port would let anyone who can submit an
issue make notify call the system's own API. The ports are the services' configured
ones (set once at start by each service); hosts are loopback, unspecified, or the
services' own names (as in the container deployment).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Annotated

from pydantic import AfterValidator, AnyHttpUrl

SERVICE_NAMES = frozenset({"intake", "routing", "notify", "reporting", "localhost", "localhost.localdomain"})
_ports: set[int] = {8001, 8002, 8003, 8004}


def protect(ports: Iterable[int]) -> None:
    """Set the services' own ports (from the settings)."""
    _ports.clear()
    _ports.update(ports)


def points_at_us(url: AnyHttpUrl) -> bool:
    port = url.port or (443 if url.scheme == "https" else 80)
    if port not in _ports:
        return False
    host = (url.host or "").strip("[]").lower()
    if host in SERVICE_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _outward(url: AnyHttpUrl) -> AnyHttpUrl:
    if points_at_us(url):
        raise ValueError("the URL points at one of Louzhang's own services; give an address outside it")
    return url


# An http(s) URL that does not point back at the services.
OutwardUrl = Annotated[AnyHttpUrl, AfterValidator(_outward)]
