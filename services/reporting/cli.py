"""Reporting's commands in the `louzhang` tool (registered in pyproject.toml's `louzhang.commands`):
`louzhang reporting rebuild`."""

from __future__ import annotations

import typer

reporting_app = typer.Typer(help="Reports: the read models behind them.", no_args_is_help=True)


@reporting_app.command("rebuild")
def reporting_rebuild() -> None:
    """Rebuild the report read models from the stored events (MongoDB at LOUZHANG_MONGO_URL, database
    LOUZHANG_MONGO_DB) and put them in place of the live ones; the reporting service may keep running."""
    import asyncio

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from chassis.settings import ServiceSettings
    from chassis.store import Store
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
