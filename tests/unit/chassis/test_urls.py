"""chassis.urls: where user-given URLs may lead (pure classification, the allow-list, the guard
with a stand-in resolver: no name is looked up and nothing is connected to here)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest

from chassis.urls import (
    Address,
    OutboundGuard,
    Refused,
    classify,
    embedded_ipv4,
    own_ports,
    parse_allow,
    target,
)

OWN = {8001, 8002, 8003, 8004, 27017, 5672}


def ip(text: str) -> Address:
    return ipaddress.ip_address(text)


def resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[Address]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ip(a) for a in table[host]]

    return resolve


def guard(allow: str = "", table: dict[str, list[str]] | None = None) -> OutboundGuard:
    return OutboundGuard(parse_allow(allow), OWN, resolver=resolver(table or {}))


# ---- classification -----------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("fec0::1", "site-local"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("10.0.0.5", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("0.1.2.3", "private"),
        ("192.0.2.1", "private"),
        ("198.18.0.1", "private"),
        ("fd12:3456::1", "private"),
        ("2001:db8::1", "private"),
        ("100.64.0.1", "non-public"),
    ],
)
def test_every_inside_range_is_refused_naming_it(address: str, kind: str) -> None:
    assert classify(ip(address)) == f"{kind} address {ip(address).compressed}"


@pytest.mark.parametrize(
    ("address", "inner", "kind", "form"),
    [
        ("::ffff:127.0.0.1", "127.0.0.1", "loopback", "IPv4-mapped"),
        ("::ffff:10.1.2.3", "10.1.2.3", "private", "IPv4-mapped"),
        ("::ffff:169.254.169.254", "169.254.169.254", "link-local", "IPv4-mapped"),
        ("::ffff:0.0.0.0", "0.0.0.0", "unspecified", "IPv4-mapped"),
        ("::ffff:224.0.0.1", "224.0.0.1", "multicast", "IPv4-mapped"),
        ("::127.0.0.1", "127.0.0.1", "loopback", "IPv4-compatible"),
        ("::192.168.0.1", "192.168.0.1", "private", "IPv4-compatible"),
        ("::ffff:0:127.0.0.1", "127.0.0.1", "loopback", "IPv4-translated"),
        ("64:ff9b::10.0.0.1", "10.0.0.1", "private", "NAT64"),
        ("64:ff9b:1::a9fe:a9fe", "169.254.169.254", "link-local", "NAT64"),
        ("2002:7f00:1::", "127.0.0.1", "loopback", "6to4"),
    ],
)
def test_ipv4_inside_ipv6_is_judged_as_the_ipv4_it_carries(address: str, inner: str, kind: str, form: str) -> None:
    # Python 3.11 itself calls ::ffff:127.0.0.1 neither loopback nor private.
    reason = classify(ip(address))
    assert reason == f"{kind} address {inner} ({form} {ip(address).compressed})"
    unwrapped = embedded_ipv4(ipaddress.IPv6Address(address))
    assert unwrapped is not None and unwrapped == (ipaddress.IPv4Address(inner), form)


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "2400:cb00::1", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8"]
)
def test_public_addresses_pass(address: str) -> None:
    assert classify(ip(address)) is None


def test_plain_ipv6_has_no_ipv4_inside() -> None:
    assert embedded_ipv4(ipaddress.IPv6Address("2606:4700::1111")) is None
    assert embedded_ipv4(ipaddress.IPv6Address("::1")) is None


# ---- the allow-list -------------------------------------------------------------


def test_allow_list_takes_host_port_host_and_cidr_entries() -> None:
    entries = parse_allow(
        " 127.0.0.1:9000, [::1]:9001,::1 , hooks.Internal., hooks.corp:8443, 10.20.0.0/16,, fd00::/8 "
    )
    shapes = [(e.network and str(e.network), e.name, e.port) for e in entries]
    assert shapes == [
        ("127.0.0.1/32", None, 9000),
        ("::1/128", None, 9001),
        ("::1/128", None, None),
        (None, "hooks.internal", None),
        (None, "hooks.corp", 8443),
        ("10.20.0.0/16", None, None),
        ("fd00::/8", None, None),
    ]
    assert parse_allow("") == () and parse_allow(" , ") == ()


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("127.0.0.1:0", "not a port"),
        ("127.0.0.1:65536", "not a port"),
        ("hooks:http", "not a port"),
        ("10.0.0.0/33", "not a CIDR"),
        ("10.0.0.0/8:80", "not a CIDR"),
        ("[::1", "neither"),
        ("[hooks.corp]:80", "neither"),
        ("two words", "neither"),
        ("a:1:2", "neither"),
        ("http://hooks.corp", "is a URL"),
    ],
)
def test_a_bad_allow_list_entry_is_refused_naming_it(entry: str, says: str) -> None:
    with pytest.raises(ValueError, match=says) as refused:
        parse_allow(f"127.0.0.1:9000,{entry}")
    assert repr(entry) in str(refused.value)


def test_the_allow_list_opens_what_it_names_and_nothing_more() -> None:
    g = guard("127.0.0.1:9000, 10.20.0.0/16, hooks.corp:8443, lab.corp")
    assert g.check_address(ip("127.0.0.1"), 9000) is None
    assert g.check_address(ip("::ffff:127.0.0.1"), 9000) is None  # the same address, written as IPv6
    assert "not in LOUZHANG_OUTBOUND_ALLOW" in (g.check_address(ip("127.0.0.1"), 9001) or "")
    assert "not in LOUZHANG_OUTBOUND_ALLOW" in (g.check_address(ip("127.0.0.2"), 9000) or "")
    assert g.check_address(ip("10.20.3.4"), 443) is None
    assert g.check_address(ip("10.21.0.1"), 443) is not None
    assert g.check_address(ip("10.1.1.1"), 8443, host="hooks.corp") is None
    assert g.check_address(ip("10.1.1.1"), 8444, host="hooks.corp") is not None
    assert g.check_address(ip("10.1.1.1"), 80, host="LAB.corp.") is None
    assert g.check_address(ip("10.1.1.1"), 80, host="other.corp") is not None


@pytest.mark.parametrize("allow", ["127.0.0.1", "127.0.0.0/8", "127.0.0.1:8002", "localhost", "0.0.0.0/0", "::/0"])
def test_the_services_own_ports_are_never_allowed_even_if_listed(allow: str) -> None:
    g = guard(f"{allow},10.0.0.0/8")
    for port in (8001, 8002, 27017, 5672):
        reason = g.check_address(ip("127.0.0.1"), port, host="localhost") or ""
        assert f"port {port} is one of Louzhang's own" in reason
    assert "one of Louzhang's own" in (g.check_address(ip("10.0.0.7"), 8003) or "")


def test_a_public_address_is_not_held_to_our_ports() -> None:
    assert guard().check_address(ip("8.8.8.8"), 8001) is None


def test_own_ports_cover_replicas_the_database_and_the_broker() -> None:
    ports = own_ports(
        [8001, 8002],
        ["mongodb://db1:27018,db2:27019/?replicaSet=rs0", "amqp://guest:guest@mq:5673/vhost", "mongodb+srv://x/"],
    )
    assert {8001, 8101, 8401, 8002, 8402, 27018, 27019, 5673, 27017, 5672} <= ports
    assert 8501 not in ports and 8000 not in ports


# ---- URLs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://user:pass@hooks.example.org/x", "user name or password"),
        ("http://user@hooks.example.org/x", "user name or password"),
        ("https://:secret@hooks.example.org/", "user name or password"),
        ("ftp://hooks.example.org/x", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("http:///nohost", "no host"),
        ("http://hooks.example.org:99999/", "not a valid URL"),
    ],
)
def test_what_no_outgoing_url_may_be(url: str, says: str) -> None:
    with pytest.raises(Refused, match=says):
        target(url)


def test_a_target_is_its_host_and_port() -> None:
    assert (target("https://Hooks.Example.org./x").host, target("https://hooks.example.org/x").port) == (
        "hooks.example.org",
        443,
    )
    where = target("http://[::ffff:127.0.0.1]:8001/")
    assert (where.host, where.port, where.literal) == ("::ffff:127.0.0.1", 8001, ip("::ffff:127.0.0.1"))


# ---- resolving: the stand-in resolver answers; no name is looked up -----------------


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_a_name_is_refused_if_any_address_it_resolves_to_is() -> None:
    g = guard(table={"mixed.example": ["93.184.216.34", "10.0.0.1"], "public.example": ["93.184.216.34"]})
    with pytest.raises(Refused, match=r"mixed\.example resolves to private address 10\.0\.0\.1"):
        run(g.resolve("mixed.example", 443))
    assert run(g.resolve("public.example", 443)) == [ip("93.184.216.34")]


def test_each_resolution_is_checked_afresh() -> None:
    """DNS rebinding: a name public when submitted, inside when used, is refused when used."""
    table = {"rebind.example": ["93.184.216.34"]}
    g = guard(table=table)
    assert run(g.check_submitted("http://rebind.example/hook")) is None
    table["rebind.example"] = ["169.254.169.254"]
    with pytest.raises(Refused, match=r"link-local address 169\.254\.169\.254"):
        run(g.resolve("rebind.example", 80))


def test_a_literal_address_is_not_looked_up() -> None:
    async def never(host: str, port: int) -> list[Address]:
        raise AssertionError(f"looked up {host}")

    g = OutboundGuard((), OWN, resolver=never)
    assert run(g.resolve("93.184.216.34", 80)) == [ip("93.184.216.34")]
    with pytest.raises(Refused, match="loopback"):
        run(g.resolve("[::ffff:127.0.0.1]", 80))


def test_at_submission_literals_and_names_that_resolve_now_are_checked() -> None:
    g = guard(table={"localhost": ["127.0.0.1"], "metadata.example": ["169.254.169.254"], "ok.example": ["1.1.1.1"]})
    check = g.check_submitted
    assert "loopback address 127.0.0.1 (IPv4-mapped" in (run(check("http://[::ffff:127.0.0.1]:8001/")) or "")
    assert "port 8001 is one of Louzhang's own" in (run(check("http://[::ffff:127.0.0.1]:8001/")) or "")
    assert "localhost resolves to loopback" in (run(check("http://localhost:9000/")) or "")
    assert "link-local" in (run(check("http://metadata.example/latest/meta-data")) or "")
    assert "private address 10.0.0.1" in (run(check("http://10.0.0.1/")) or "")
    assert "user name or password" in (run(check("https://u:p@ok.example/")) or "")
    assert run(check("https://ok.example/hook")) is None
    # A name that does not resolve (yet) is accepted; it is checked again when used.
    assert run(check("https://not-yet.example/hook")) is None


def test_at_submission_a_slow_resolver_accepts_rather_than_waits() -> None:
    async def slow(host: str, port: int) -> list[Address]:
        await asyncio.sleep(10)
        return [ip("10.0.0.1")]

    g = OutboundGuard((), OWN, resolver=slow, resolve_timeout_s=0.05)
    assert run(g.check_submitted("https://slow.example/")) is None
