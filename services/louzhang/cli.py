"""The `louzhang` command-line tool."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Louzhang (楼长): run and operate the services.", no_args_is_help=True)
token_app = typer.Typer(help="Bearer tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")

SERVICE_APPS = {
    "intake": "intake.main:create_app",
    "routing": "routing.main:create_app",
    "notify": "notify.main:create_app",
    "reporting": "reporting.main:create_app",
}


@app.command()
def serve(service: Annotated[str, typer.Argument(help="intake, routing, notify or reporting")]) -> None:
    """Run one service (host and port from LOUZHANG_HOST and LOUZHANG_<SERVICE>_PORT)."""
    import uvicorn

    from louzhang.logs import configure
    from louzhang.settings import ServiceSettings

    if service not in SERVICE_APPS:
        raise typer.BadParameter(f"one of {', '.join(SERVICE_APPS)}", param_hint="SERVICE")
    settings = ServiceSettings()
    settings.require_secrets()
    configure()
    uvicorn.run(
        SERVICE_APPS[service],
        factory=True,
        host=settings.host,
        port=settings.port(service),
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
    )


@app.command()
def run(root: Annotated[Path, typer.Option(help="where data/ is kept")] = Path(".")) -> None:
    """Start everything (what `make run` does): RabbitMQ and MongoDB if needed, then the four services."""
    from louzhang.supervisor import main

    main(root.resolve())


@token_app.command("create")
def token_create(
    kind: Annotated[str, typer.Option(help="staff or system")],
    subject: Annotated[str, typer.Option(help="a staff id, or a client's name")],
    routing_url: Annotated[str, typer.Option(envvar="LOUZHANG_ROUTING_URL")] = "http://127.0.0.1:8002",
) -> None:
    """Ask routing for a token (needs LOUZHANG_ADMIN_TOKEN)."""
    import httpx

    from louzhang.settings import ServiceSettings

    admin, _ = ServiceSettings().require_secrets()
    r = httpx.post(
        f"{routing_url}/v1/tokens",
        json={"kind": kind, "subject": subject},
        headers={"Authorization": f"Bearer {admin}"},
    )
    if r.status_code != 201:
        typer.echo(f"refused ({r.status_code}): {r.text}", err=True)
        raise typer.Exit(1)
    for key, value in r.json().items():
        typer.echo(f"{key}: {value}")


if __name__ == "__main__":
    app()
