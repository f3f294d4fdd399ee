"""Routing's commands in the `louzhang` tool (registered in pyproject.toml's `louzhang.commands`):
`louzhang directory import|export` and `louzhang enterprises import`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from chassis.commands import RoutingUrl, admin_token, problems

directory_app = typer.Typer(help="The directory (grid, buildings, staff, services).", no_args_is_help=True)
enterprises_app = typer.Typer(help="Enterprises (企业档案) in the buildings.", no_args_is_help=True)


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
        problems(report(found, loaded.data, loaded.locate))
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
        problems(report(detail, loaded.data, loaded.locate), by="routing")
    if r.status_code != 200:
        typer.echo(f"refused ({r.status_code}): {r.text}", err=True)
        raise typer.Exit(1)
    body: dict[str, Any] = r.json()
    return body


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
    by the row Excel shows (for CSV, its line); exit code 1 when any was refused, 2 when
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
