"""What the command-line commands share, the operator's and the services' own: the admin token, a
call as the admin, a problem report. Commands talk to the services over HTTP with the admin token."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

RoutingUrl = Annotated[str, typer.Option(envvar="LOUZHANG_ROUTING_URL", help="routing's base URL")]


def admin_token(data: Path = Path("data"), required: bool = True) -> str:
    """The admin token, from LOUZHANG_ADMIN_TOKEN or else `make run`'s data/secrets.env: the CLI needs
    no other secret (routing signs tokens)."""
    import os

    token = os.environ.get("LOUZHANG_ADMIN_TOKEN", "").strip()
    path = data / "secrets.env"
    if not token and path.is_file():
        for line in path.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "LOUZHANG_ADMIN_TOKEN":
                token = value.strip()
    if not token and required:
        typer.echo(f"LOUZHANG_ADMIN_TOKEN is not set and {path} holds none", err=True)
        raise typer.Exit(2)
    return token


def as_admin(method: str, url: str, **kwargs: Any) -> Any:
    """Call a service (routing, mostly) as the admin; exit 1 with its answer when it refuses, 2 when it
    cannot be reached."""
    import httpx

    try:
        r = httpx.request(method, url, headers={"Authorization": f"Bearer {admin_token()}"}, timeout=30, **kwargs)
    except httpx.TransportError as exc:
        typer.echo(f"cannot reach {url}: {exc}", err=True)
        raise typer.Exit(2) from exc
    if r.status_code >= 400:
        typer.echo(f"refused ({r.status_code}): {r.text}", err=True)
        raise typer.Exit(1)
    return r.json() if r.content else None


def problems(lines: list[str], by: str = "") -> NoReturn:
    """Print the problem report and stop with exit code 1."""
    for line in lines:
        typer.echo(line)
    found = f"{len(lines)} problem{'' if len(lines) == 1 else 's'}{f' found by {by}' if by else ''}"
    typer.echo(f"{found}: nothing imported")
    raise typer.Exit(1)
