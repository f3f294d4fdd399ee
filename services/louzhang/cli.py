"""The `louzhang` command-line tool."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

app = typer.Typer(help="Louzhang (楼长): run and operate the services.", no_args_is_help=True)
token_app = typer.Typer(help="Bearer tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
directory_app = typer.Typer(help="The directory (grid, buildings, staff, services).", no_args_is_help=True)
app.add_typer(directory_app, name="directory")
reporting_app = typer.Typer(help="Reports: the read models behind them.", no_args_is_help=True)
app.add_typer(reporting_app, name="reporting")
enterprises_app = typer.Typer(help="Enterprises (企业档案) in the buildings.", no_args_is_help=True)
app.add_typer(enterprises_app, name="enterprises")
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

RoutingUrl = Annotated[str, typer.Option(envvar="LOUZHANG_ROUTING_URL", help="routing's base URL")]

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


def _as_admin(method: str, url: str, **kwargs: Any) -> Any:
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
    issued = _as_admin("POST", f"{routing_url.rstrip('/')}/v1/tokens", json=body)
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
        found = _as_admin("GET", f"{routing_url.rstrip('/')}/v1/tokens", params=params)
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
    _as_admin("DELETE", f"{routing_url.rstrip('/')}/v1/tokens/{jti}")
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

    handed = _as_admin("POST", f"{reporting_url.rstrip('/')}/v1/staff/{staff_id}/signin-links")
    if sys.stdout.isatty():
        segno.make(handed["url"], error="m").terminal(compact=True)
        typer.echo(f"valid until {handed['expires_at']}, once", err=True)
    typer.echo(handed["url"])


@directory_app.command("import")
def directory_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".yaml, .yml, .json or .xlsx")],
    routing_url: RoutingUrl = "http://127.0.0.1:8002",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="check the file and list what it would change; import nothing")
    ] = False,
) -> None:
    """Check a directory file and make it the directory (needs LOUZHANG_ADMIN_TOKEN). Every problem is listed
    with where it is; nothing is sent while there is one. A spreadsheet keeps the staff's contact channels
    (it holds none). A dry run also lists what would change, when routing can be asked."""
    import httpx

    from routing.directory.importer import change_lines, check, load, report, summary
    from routing.directory.service import counts

    try:
        loaded = load(file)
    except ValueError as exc:
        typer.echo(f"{file}: {exc}", err=True)
        raise typer.Exit(1) from exc
    doc, found = check(loaded)
    if doc is None or found:
        _problems(report(found, loaded.data, loaded.locate))
    params = {"channels": "keep"} if loaded.sheets is not None else {}
    if loaded.sheets is not None:
        typer.echo("note: a spreadsheet holds no contact channels: each staff member keeps the current ones", err=True)
    url = f"{routing_url.rstrip('/')}/v1/directory"
    body = doc.model_dump(mode="json")
    if dry_run:
        typer.echo(f"{file}: no problems ({summary(counts(doc))}); dry run, nothing imported")
        token = admin_token(required=False)
        if not token:
            typer.echo("LOUZHANG_ADMIN_TOKEN is not set: routing not asked what would change", err=True)
            return
        try:
            r = httpx.put(
                url,
                json=body,
                params={**params, "dry_run": "1"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )
        except httpx.TransportError as exc:
            typer.echo(f"cannot reach routing at {routing_url} ({exc}): what would change is not listed", err=True)
            return
        answer = _answer(r, loaded)
        version = answer.get("version")
        against = "no directory yet" if version is None else f"directory version {version}"
        kept = int(answer.get("channels_kept", 0))
        typer.echo(f"changes against {against}{f' (channels kept for {kept} staff)' if params else ''}:")
        for line in change_lines(answer.get("changes", {})):
            typer.echo(f"  {line}")
        return
    admin = admin_token()
    try:
        r = httpx.put(url, json=body, params=params, headers={"Authorization": f"Bearer {admin}"}, timeout=60)
    except httpx.TransportError as exc:
        typer.echo(f"cannot reach routing at {routing_url}: {exc}", err=True)
        raise typer.Exit(2) from exc
    answer = _answer(r, loaded)
    kept_note = f"; channels kept for {answer.get('channels_kept', 0)} staff" if params else ""
    typer.echo(f"directory version {answer['version']}: {summary(answer['counts'])}{kept_note}")


def _answer(r: Any, loaded: Any) -> dict[str, Any]:
    """Routing's 200 body; its 422 listed as the problem report, anything else shown as it came (exit 1)."""
    from routing.directory.importer import report

    try:
        detail = r.json().get("detail") if r.status_code == 422 else None
    except ValueError:  # not JSON: reported below as it came
        detail = None
    if isinstance(detail, list):
        _problems(report(detail, loaded.data, loaded.locate), by="routing")
    if r.status_code != 200:
        typer.echo(f"refused ({r.status_code}): {r.text}", err=True)
        raise typer.Exit(1)
    body: dict[str, Any] = r.json()
    return body


def _problems(lines: list[str], by: str = "") -> NoReturn:
    """Print the problem report and stop with exit code 1."""
    for line in lines:
        typer.echo(line)
    found = f"{len(lines)} problem{'' if len(lines) == 1 else 's'}{f' found by {by}' if by else ''}"
    typer.echo(f"{found}: nothing imported")
    raise typer.Exit(1)


@directory_app.command("export")
def directory_export(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="a .yaml or .yml file to write")],
    routing_url: RoutingUrl = "http://127.0.0.1:8002",
) -> None:
    """Write the current directory as YAML (channel secrets shown as ***; needs LOUZHANG_ADMIN_TOKEN)."""
    import httpx

    from routing.directory.importer import export_yaml

    if file.suffix.lower() not in (".yaml", ".yml"):
        raise typer.BadParameter("the directory is exported as YAML: name a .yaml or .yml file", param_hint="FILE")
    admin = admin_token()
    try:
        r = httpx.get(f"{routing_url.rstrip('/')}/v1/directory", headers={"Authorization": f"Bearer {admin}"})
    except httpx.TransportError as exc:
        typer.echo(f"cannot reach routing at {routing_url}: {exc}", err=True)
        raise typer.Exit(2) from exc
    if r.status_code != 200:
        typer.echo(f"refused ({r.status_code}): {r.text}", err=True)
        raise typer.Exit(1)
    version, text = export_yaml(r.json())
    file.write_text(text, encoding="utf-8")
    typer.echo(f"directory version {version} written to {file}")


@enterprises_app.command("import")
def enterprises_import(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help='the registry\'s .csv or .xlsx export, or a .json/.yaml {"items": [...]}'
        ),
    ],
    routing_url: RoutingUrl = "http://127.0.0.1:8002",
    batch: Annotated[int, typer.Option(min=1, max=5000, help="enterprises per request")] = 500,
) -> None:
    """Upsert the enterprises of a file, in batches (needs LOUZHANG_ADMIN_TOKEN). Prints every refused row
    by its data row (1 = the first row below the header); exit code 1 when any was refused, 2 when
    routing cannot be reached."""
    import json

    import httpx
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from routing.enterprises.importer import Combined, batches, split_duplicates
    from routing.enterprises.registry import RegistryError, building_names, read_file

    admin = admin_token()
    base = routing_url.rstrip("/")
    headers = {"Authorization": f"Bearer {admin}"}
    try:
        r = httpx.get(f"{base}/v1/directory", headers=headers, timeout=30)
    except httpx.TransportError as exc:
        typer.echo(f"cannot reach routing at {routing_url}: {exc}", err=True)
        raise typer.Exit(2) from exc
    if r.status_code not in (200, 404):  # 404: no directory yet, which routing will say
        typer.echo(f"refused ({r.status_code}): {r.text}", err=True)
        raise typer.Exit(1)
    # Building names (楼宇名称) are turned into ids with the current directory's names.
    buildings = r.json().get("buildings", []) if r.status_code == 200 else []
    names = building_names((b["id"], b["name"]) for b in buildings)
    try:
        rows = read_file(file, names)
    except RegistryError as exc:
        typer.echo(f"{file}: {exc}", err=True)
        raise typer.Exit(1) from exc
    to_send, repeated = split_duplicates(rows)
    combined = Combined(refused=list(repeated))
    failure: tuple[str, int] | None = None
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
    with progress, httpx.Client(timeout=300, headers={**headers, "Content-Type": "application/json"}) as client:
        task = progress.add_task(f"importing {file.name}", total=len(to_send))
        for part in batches(to_send, batch):
            body = json.dumps({"items": [row.item for row in part]}, ensure_ascii=False, default=str)
            try:
                r = client.put(f"{base}/v1/enterprises", content=body.encode())
            except httpx.TransportError as exc:
                failure = (f"cannot reach routing at {routing_url}: {exc}", 2)
                break
            if r.status_code != 200:
                failure = (f"refused ({r.status_code}): {r.text}", 1)
                break
            combined.add(part, r.json())
            progress.advance(task, len(part))
    for line in combined.lines():
        typer.echo(line)
    typer.echo(f"{file}: {combined.summary()}")
    if failure is not None:
        message, code = failure
        typer.echo(f"{message}; {len(to_send) - combined.sent} rows not sent", err=True)
        raise typer.Exit(code)
    if combined.refused:
        raise typer.Exit(1)


@reporting_app.command("rebuild")
def reporting_rebuild() -> None:
    """Rebuild the report read models from the stored events (MongoDB at LOUZHANG_MONGO_URL, database
    LOUZHANG_MONGO_DB) and put them in place of the live ones; the reporting service may keep running."""
    import asyncio

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from louzhang.settings import ServiceSettings
    from louzhang.store import Store
    from reporting.readmodel.rebuild import Rebuilt, rebuild

    settings = ServiceSettings()

    async def main() -> Rebuilt:
        store = Store(settings.mongo_url, settings.mongo_db, "reporting", timeout_s=settings.mongo_timeout_s)
        try:
            if not await store.ping():
                typer.echo(f"MongoDB does not answer at {settings.mongo_url}", err=True)
                raise typer.Exit(2)
            columns = (TextColumn("folding events"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns) as bar:
                task = bar.add_task("events", total=None)
                return await rebuild(store, lambda done, total: bar.update(task, completed=done, total=total))
        finally:
            await store.close()

    result = asyncio.run(main())
    typer.echo(
        f"{result.events} events stored, {result.folded} folded; {result.caught_up} stored meanwhile, folded again; "
        f"counter days corrected: {result.days_repaired}; {result.seconds:.1f} s"
    )
    typer.echo(", ".join(f"{name}: {n}" for name, n in result.counts.items()))


@dead_app.command("list")
def dead_list(
    queue: Annotated[str | None, typer.Option(help="one dead-letter queue (default: all)")] = None,
    limit: Annotated[int, typer.Option(help="messages shown per queue")] = 20,
) -> None:
    """How many messages each dead-letter queue holds, and the first ones (left in place)."""
    import asyncio

    from louzhang import dead
    from louzhang.settings import ServiceSettings

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

    from louzhang import dead
    from louzhang.settings import ServiceSettings

    try:
        moved = asyncio.run(dead.replay(ServiceSettings().amqp_url, queue, message_id))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--queue") from exc
    typer.echo(f"replayed {moved} message(s)")


ClusterRoot = Annotated[Path, typer.Option(help="the cluster's folder: state.json, data and logs")]


def _three_ports(text: str | None, option: str) -> tuple[int, int, int] | None:
    from louzhang.cluster import parse_ports

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
    from louzhang import cluster

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
    from louzhang import cluster

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
    from louzhang import cluster

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
    from louzhang.backup import dump

    result = _backup(lambda client, db: dump(client, db, folder), f"written to {folder}")
    typer.echo(f"({'one snapshot' if result.snapshot else 'no snapshot'})")


@backup_app.command("restore")
def backup_restore(
    folder: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="a folder `backup dump` wrote")],
    drop: Annotated[bool, typer.Option("--drop", help="drop the collections that exist already first")] = False,
) -> None:
    """Restore a dump into LOUZHANG_MONGO_DB (at LOUZHANG_MONGO_URL): collections, documents, indexes. Stop the
    services first; a collection that exists already stops the restore unless --drop."""
    from louzhang.backup import restore

    _backup(lambda client, db: restore(client, db, folder, drop=drop), f"restored from {folder}")


def _backup(run: Any, done: str) -> Any:
    """Run a dump or a restore against the configured database, say what it did, and return its
    result; exit 1 with its refusal."""
    from pymongo import MongoClient

    from louzhang.backup import BackupError
    from louzhang.settings import ServiceSettings

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
