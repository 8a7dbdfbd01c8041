"""The ``beyondpay`` command: serve, worker, migrate, doctor."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from beyondpay import __version__
from beyondpay.kit.logging import configure_logging
from beyondpay.kit.settings import Settings

cli = typer.Typer(
    name="beyondpay",
    help="Self-hostable payments: Stripe-compatible API, UPI and programmable money.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()


def _version(value: bool) -> None:
    if value:
        console.print(f"beyondpay {__version__}")
        raise typer.Exit


@cli.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """beyondpay: payments on infrastructure you run."""


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format.value)
    return settings


@cli.command()
def migrate() -> None:
    """Bring the database schema (and the job queue's) to the latest revision."""
    from beyondpay.db.migrate import head_revision, upgrade
    from beyondpay.db.runtime import open_database

    target = open_database(_settings())
    try:
        upgrade(target.url)
        console.print(f"[green]migrated[/green] to {head_revision()}")
    finally:
        target.close()


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Migrate, then run the API and the background worker in one process."""
    import uvicorn

    from beyondpay.app import create_app
    from beyondpay.db.migrate import upgrade
    from beyondpay.db.runtime import open_database
    from beyondpay.db.urls import redacted

    settings = _settings()
    host = host or settings.host
    port = port or settings.port
    target = open_database(settings)
    try:
        upgrade(target.url)
        base = f"http://{host}:{port}"
        where = (
            f"embedded PostgreSQL in {target.embedded.pgdata}"
            if target.embedded
            else redacted(target.url)
        )
        console.print(
            Panel.fit(
                f"[bold]API[/bold]       {base}/v1\n"
                f"[bold]API docs[/bold]  {base}/docs\n"
                f"[bold]Ready[/bold]     {base}/readyz\n"
                f"[bold]Data[/bold]      {where}",
                title=f"beyondpay {__version__}",
            )
        )
        app = create_app(settings, target.url, run_worker=settings.run_worker_in_api)
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)
    finally:
        target.close()


@cli.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=64)] = 4,
) -> None:
    """Run background jobs (stops gracefully on SIGTERM or Ctrl-C)."""
    from beyondpay.app import create_job_app
    from beyondpay.db.jobs import run_worker
    from beyondpay.db.runtime import open_database

    target = open_database(_settings())

    async def run() -> None:
        job_app = create_job_app(target.url)
        async with job_app.open_async():
            await run_worker(job_app, concurrency=concurrency, install_signal_handlers=True)

    try:
        console.print("[bold]beyondpay worker[/bold] running; Ctrl-C stops it gracefully")
        asyncio.run(run())
    finally:
        target.close()


@cli.command()
def doctor() -> None:
    """Check every configured service and refuse unsafe PostgreSQL settings."""
    from beyondpay.db.doctor import check_database
    from beyondpay.db.runtime import open_database
    from beyondpay.kit.services import check_nats, check_redis

    settings = _settings()
    target = open_database(settings)
    try:
        checks = check_database(target.url)
    finally:
        target.close()
    checks.append(check_redis(settings.redis_url_value()))
    checks.append(asyncio.run(check_nats(settings.nats_url)))
    table = Table(title="beyondpay doctor")
    for column in ("check", "status", "detail"):
        table.add_column(column)
    for check in checks:
        table.add_row(
            check.name, "[green]ok[/green]" if check.ok else "[red]FAIL[/red]", check.detail
        )
    console.print(table)
    if not all(check.ok for check in checks):
        raise typer.Exit(code=1)


ledger_cli = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)
cli.add_typer(ledger_cli, name="ledger")


@ledger_cli.command("verify")
def ledger_verify() -> None:
    """Replay the journal: sequences, hash chain, every balance; exit 1 on any mismatch."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from beyondpay.db.runtime import open_database
    from beyondpay.ledger.journal import verify_database

    target = open_database(_settings())
    try:
        with Progress(
            TextColumn("replaying the journal"), BarColumn(), MofNCompleteColumn(), console=console
        ) as progress:
            task = progress.add_task("verify", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            report = asyncio.run(verify_database(target.url, progress=advance))
    finally:
        target.close()
    for problem in report.problems:
        console.print(f"[red]✗[/red] {problem}")
    summary = f"{report.transfers} transfers, {report.accounts} accounts, {report.ledgers} ledgers"
    if not report.ok:
        console.print(f"[red]journal verification failed[/red]: {summary}")
        raise typer.Exit(code=1)
    console.print(f"[green]journal verified[/green]: {summary}")


def main() -> None:
    cli()
