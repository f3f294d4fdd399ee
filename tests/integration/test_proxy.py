"""The compose TLS proxy (deploy/caddy/Caddyfile) run for real in front of the test stack: Caddy with its
internal CA on a loopback port, the upstreams pointed at the stack's ports. Each route of the Kubernetes
Ingress reaches the service the Ingress names, with TLS; what is not routed gets 404 from the proxy.

Needs a `caddy` binary: LOUZHANG_CADDY, the one `make caddy` unpacks into the venv (`make test` does
that first: Debian's package, unpacked without installing it, no service started), or PATH.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.deploy.test_compose import APPS, CADDYFILE, ingress_routes
from tests.support.api import Api
from tests.support.servers import eventually, free_port

UNPACKED = Path(sys.prefix) / "caddy" / "usr" / "bin" / "caddy"
CADDY = os.environ.get("LOUZHANG_CADDY") or (str(UNPACKED) if UNPACKED.exists() else None) or shutil.which("caddy")
pytestmark = pytest.mark.skipif(not CADDY, reason="no caddy binary: `make caddy` (see this module's docstring)")


@pytest.fixture(scope="module")
def proxy(api: Api, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ssl.SSLContext]]:
    assert CADDY
    home = tmp_path_factory.mktemp("caddy")
    https, http = free_port(), free_port()
    text = CADDYFILE.read_text(encoding="utf-8")
    site = "{$LOUZHANG_DOMAIN:localhost} {"
    assert site in text
    options = (
        "{\n\tadmin off\n\tskip_install_trust\n\tauto_https disable_redirects\n"
        f"\thttp_port {http}\n\thttps_port {https}\n\tstorage file_system {home / 'data'}\n}}\n"
    )
    text = options + text.replace(site, f"https://localhost:{https} {{\n\ttls internal")
    for name, port in APPS.items():
        text = text.replace(f"reverse_proxy {name}:{port}", f"reverse_proxy 127.0.0.1:{api.stack.ports[name]}")
    (home / "Caddyfile").write_text(text, encoding="utf-8")
    log = (home / "caddy.log").open("wb")
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home), "XDG_CONFIG_HOME": str(home)}
    process = subprocess.Popen(
        [CADDY, "run", "--adapter", "caddyfile", "--config", str(home / "Caddyfile")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        root = home / "data" / "pki" / "authorities" / "local" / "root.crt"
        eventually(lambda: root.is_file() and root.stat().st_size > 0, timeout=30, what="caddy's local CA")
        context = ssl.create_default_context(cafile=str(root))
        base = f"https://localhost:{https}"

        def answers() -> bool:
            try:
                return httpx.get(f"{base}/no-such-page", verify=context, timeout=2).status_code == 404
            except httpx.TransportError:
                return False

        eventually(answers, timeout=30, what=f"caddy on {https}: {(home / 'caddy.log').read_text(errors='replace')}")
        yield base, context
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def test_every_ingress_route_reaches_its_service_through_the_proxy(api: Api, proxy: tuple[str, ssl.SSLContext]) -> None:
    base, context = proxy
    telling = 0
    for path, service in ingress_routes().items():
        through = httpx.get(f"{base}{path}", headers=api.headers(), verify=context, timeout=10)
        direct = api.get(service, path)
        assert through.status_code == direct.status_code, (path, through.status_code, direct.status_code)
        others = {name: api.get(name, path).status_code for name in APPS if name != service}
        if direct.status_code != 404 and all(code == 404 for code in others.values()):
            telling += 1  # only `service` answers this path: the proxy chose it
            # The same kind of answer (the bodies themselves may differ: the shared stack's orders
            # escalate between the two reads).
            kind = through.headers.get("content-type", "")
            assert kind == direct.headers.get("content-type", ""), path
            if kind.startswith("application/json"):
                assert through.json().keys() == direct.json().keys(), path
    assert telling >= 8, telling


def test_what_is_not_routed_stays_inside(api: Api, proxy: tuple[str, ssl.SSLContext]) -> None:
    base, context = proxy
    for path in ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/v1/issuesx", "/"):
        r = httpx.get(f"{base}{path}", verify=context, timeout=10)
        assert r.status_code == 404 and r.text == "Not Found", path
    assert api.get("intake", "/healthz").status_code == 200  # there, but not through the proxy
