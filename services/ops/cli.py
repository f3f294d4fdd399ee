"""The `louzhang` command-line tool."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Any

import typer

from chassis.commands import RoutingUrl, as_admin

app = typer.Typer(help="Louzhang (楼长): run and operate the services.", no_args_is_help=True)
token_app = typer.Typer(help="Bearer tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
staff_app = typer.Typer(help="Staff on the workbench.", no_args_is_help=True)
app.add_typer(staff_app, name="staff")
dead_app = typer.Typer(help="Dead-letter queues: parked messages.", no_args_is_help=True)
app.add_typer(dead_app, name="dead")
cluster_app = typer.Typer(
    help="A local 3-node RabbitMQ cluster and 3-member MongoDB replica set (docs/cluster.md).", no_args_is_help=True
)
app.add_typer(cluster_app, name="cluster")
backup_app = typer.Typer(
    help="Back up and restore the MongoDB database with PyMongo (docs/operations.md).", no_args_is_help=True
)
app.add_typer(backup_app, name="backup")
# Each service adds its own command groups (`louzhang directory ...`): pyproject.toml's `louzhang.commands`.
for command in entry_points(group="louzhang.commands"):
    app.add_typer(command.load(), name=command.name)


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

    from chassis.logs import configure
    from chassis.settings import ServiceSettings

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
    from ops.supervisor import main

    main(root.resolve())


@token_app.command("create")
def token_create(
    kind: Annotated[str, typer.Option(help="staff or system")],
    subject: Annotated[str, typer.Option(help="a staff id, or a client's name")],
    expires_in: Annotated[str | None, typer.Option(help="ISO 8601 duration, e.g. P90D")] = None,
    routing_url: RoutingUrl = "http://127.0.0.1:8002",
) -> None:
    """Ask routing for a token (needs only the admin token). Piped, prints the token alone (and, for a
    system, its callback signing secret on a second line)."""
    import sys

    body: dict[str, str] = {"kind": kind, "subject": subject}
    if expires_in is not None:
        body["expires_in"] = expires_in
    issued = as_admin("POST", f"{routing_url.rstrip('/')}/v1/tokens", json=body)
    if not sys.stdout.isatty():
        typer.echo(issued["token"])
        if issued.get("signing_secret"):
            typer.echo(issued["signing_secret"])
        return
    for key, value in issued.items():
        typer.echo(f"{key}: {value}")


@token_app.command("list")
def token_list(
    subject: Annotated[str | None, typer.Option(help="a staff id, or a client's name")] = None,
    routing_url: RoutingUrl = "http://127.0.0.1:8002",
) -> None:
    """Live tokens (not revoked, not expired), newest first: jti, kind, subject, issued, expires."""
    params: dict[str, str] = {"limit": "500"} | ({"subject": subject} if subject else {})
    while True:
        found = as_admin("GET", f"{routing_url.rstrip('/')}/v1/tokens", params=params)
        for t in found["items"]:
            typer.echo(
                f"{t['jti']}\t{t['kind']}\t{t['subject']}\t{t['issued_at'] or '-'}\t{t['expires_at'] or 'never'}"
            )
        if not found["next_cursor"]:
            return
        params["cursor"] = found["next_cursor"]


@token_app.command("revoke")
def token_revoke(
    jti: Annotated[str, typer.Argument(help="the token's id (`louzhang token list`)")],
    routing_url: RoutingUrl = "http://127.0.0.1:8002",
) -> None:
    """Revoke a token: every service refuses it within seconds."""
    as_admin("DELETE", f"{routing_url.rstrip('/')}/v1/tokens/{jti}")
    typer.echo(f"revoked {jti}", err=True)


@staff_app.command("sign-in-link")
def staff_sign_in_link(
    staff_id: Annotated[str, typer.Argument(help="the person's staff id")],
    reporting_url: Annotated[str, typer.Option(envvar="LOUZHANG_REPORTING_URL")] = "http://127.0.0.1:8004",
) -> None:
    """A single-use sign-in link for a person (onboarding), with a QR code to scan on their phone.
    Piped, prints the link alone. Needs only the admin token."""
    import sys

    import segno

    handed = as_admin("POST", f"{reporting_url.rstrip('/')}/v1/staff/{staff_id}/signin-links")
    if sys.stdout.isatty():
        segno.make(handed["url"], error="m").terminal(compact=True)
        typer.echo(f"valid until {handed['expires_at']}, once", err=True)
    typer.echo(handed["url"])


@dead_app.command("list")
def dead_list(
    queue: Annotated[str | None, typer.Option(help="one dead-letter queue (default: all)")] = None,
    limit: Annotated[int, typer.Option(help="messages shown per queue")] = 20,
) -> None:
    """How many messages each dead-letter queue holds, and the first ones (left in place)."""
    import asyncio

    from chassis.settings import ServiceSettings
    from ops import dead

    url = ServiceSettings().amqp_url
    try:
        depths = asyncio.run(dead.depths(url))
        parked = asyncio.run(dead.peek(url, queue, limit))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--queue") from exc
    for name, count in depths.items():
        if queue in (None, name) or (queue and name == f"{queue}.dead"):
            typer.echo(f"{name}: {count}")
    for p in parked:
        body = p.body[:120].decode(errors="replace")
        typer.echo(f"  {p.queue}  id={p.message_id}  type={p.type}  key={p.routing_key}  reason={p.reason}  {body}")


@dead_app.command("replay")
def dead_replay(
    queue: Annotated[str | None, typer.Option(help="one dead-letter queue (default: all)")] = None,
    message_id: Annotated[str | None, typer.Option("--id", help="only the message with this id")] = None,
) -> None:
    """Send parked messages back to the queue they came from (once the cause is fixed)."""
    import asyncio

    from chassis.settings import ServiceSettings
    from ops import dead

    try:
        moved = asyncio.run(dead.replay(ServiceSettings().amqp_url, queue, message_id))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--queue") from exc
    typer.echo(f"replayed {moved} message(s)")


ClusterRoot = Annotated[Path, typer.Option(help="the cluster's folder: state.json, data and logs")]


def _three_ports(text: str | None, option: str) -> tuple[int, int, int] | None:
    from ops.cluster import parse_ports

    try:
        return None if text is None else parse_ports(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from exc


@cluster_app.command("up")
def cluster_up(
    root: ClusterRoot = Path("data/cluster"),
    amqp_ports: Annotated[str | None, typer.Option(help="the nodes' AMQP ports [default: 5681,5682,5683]")] = None,
    dist_ports: Annotated[
        str | None, typer.Option(help="their Erlang distribution ports [default: AMQP + 20000]")
    ] = None,
    mongo_ports: Annotated[str | None, typer.Option(help="the mongod ports [default: 27031,27032,27033]")] = None,
    name: Annotated[str | None, typer.Option(help="node names <name>1@localhost…; the replica set's name")] = None,
    timeout: Annotated[float, typer.Option(min=10, help="seconds to wait for all six nodes")] = 240.0,
) -> None:
    """Start the cluster (whatever of it is not running), wait until all six nodes answer, then print
    LOUZHANG_AMQP_URL=... and LOUZHANG_MONGO_URL=... (logs go to stderr). The nodes keep running."""
    from ops import cluster

    amqp = _three_ports(amqp_ports, "--amqp-ports")
    dist = _three_ports(dist_ports, "--dist-ports")
    mongo = _three_ports(mongo_ports, "--mongo-ports")
    try:
        lines = cluster.up(
            root.resolve(), name=name, amqp_ports=amqp, dist_ports=dist, mongo_ports=mongo, timeout_s=timeout
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    except cluster.ClusterError as exc:
        typer.echo(f"cluster up: {exc}", err=True)
        typer.echo(f"what started is recorded in {root}: `louzhang cluster down --root {root}` stops it", err=True)
        raise typer.Exit(1) from exc
    for line in lines:
        typer.echo(line)


@cluster_app.command("status")
def cluster_status(root: ClusterRoot = Path("data/cluster")) -> None:
    """One line a node: `rabbitmq <node> <host:port> pid=<N> <running|stopped>` or
    `mongodb <host:port> pid=<N> <PRIMARY|SECONDARY|down>`; exit code 1 when nothing is up."""
    from ops import cluster

    try:
        lines, any_up = cluster.status(root.resolve())
    except cluster.ClusterError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    for line in lines:
        typer.echo(line)
    if not any_up:
        typer.echo(f"no cluster node is up ({root})", err=True)
        raise typer.Exit(1)


@cluster_app.command("down")
def cluster_down(
    root: ClusterRoot = Path("data/cluster"),
    keep_data: Annotated[bool, typer.Option("--keep-data", help="keep the data (a later `up` resumes it)")] = False,
) -> None:
    """Stop the nodes `up` started, by PID, and remove the cluster's folder (unless --keep-data)."""
    from ops import cluster

    try:
        if not cluster.down(root.resolve(), keep_data=keep_data):
            typer.echo(f"no cluster recorded in {root}: nothing to stop", err=True)
    except cluster.ClusterError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc


if __name__ == "__main__":
    app()


@backup_app.command("dump")
def backup_dump(
    folder: Annotated[Path, typer.Argument(file_okay=False, help="a new or empty folder to write")],
) -> None:
    """Dump every collection of LOUZHANG_MONGO_DB (at LOUZHANG_MONGO_URL) to FOLDER, in mongodump's layout:
    <collection>.bson and <collection>.metadata.json (indexes), plus manifest.json."""
    from ops.backup import dump

    result = _backup(lambda client, db: dump(client, db, folder), f"written to {folder}")
    typer.echo(f"({'one snapshot' if result.snapshot else 'no snapshot'})")


@backup_app.command("restore")
def backup_restore(
    folder: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="a folder `backup dump` wrote")],
    drop: Annotated[bool, typer.Option("--drop", help="drop the collections that exist already first")] = False,
) -> None:
    """Restore a dump into LOUZHANG_MONGO_DB (at LOUZHANG_MONGO_URL): collections, documents, indexes. Stop the
    services first; a collection that exists already stops the restore unless --drop."""
    from ops.backup import restore

    _backup(lambda client, db: restore(client, db, folder, drop=drop), f"restored from {folder}")


def _backup(run: Any, done: str) -> Any:
    """Run a dump or a restore against the configured database, say what it did, and return its
    result; exit 1 with its refusal."""
    from pymongo import MongoClient

    from chassis.settings import ServiceSettings
    from ops.backup import BackupError

    settings = ServiceSettings()
    client: MongoClient[Any] = MongoClient(settings.mongo_url, serverSelectionTimeoutMS=10_000)
    try:
        result = run(client, settings.mongo_db)
    except BackupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    finally:
        client.close()
    documents = sum(result.counts.values())
    typer.echo(
        f"{settings.mongo_db}: {len(result.counts)} collections, {documents} documents, {result.indexes} indexes "
        f"{done} in {result.seconds:.1f} s"
    )
    return result
