"""``beyondpay``: serve, worker, migrate, doctor, listen, demo, merchants, admin keys, risk."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, TypeVar

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from beyondpay import __version__
from beyondpay.kit.logging import configure_logging
from beyondpay.kit.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession

    from beyondpay.db.runtime import DatabaseTarget
    from beyondpay.kit.crypto import KeyRing

ResultT = TypeVar("ResultT")
DEV_KEYS_FILE: Final = "dev_keys.json"
DEV_MERCHANT_NAME: Final = "Development merchant"

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


def _existing_data(settings: Settings, *, ring: bool) -> Settings:
    """``settings``, unless this command would create a database (or, with ``ring``, a key
    ring) in a data directory that holds none: only ``serve`` makes them. A command run from
    another folder would otherwise work on a second database and ring of its own, and keys it
    printed would never authenticate against the server. Refused (exit 1), naming the folder."""
    from rich.markup import escape

    from beyondpay.db.embedded import EmbeddedPostgres

    missing = []
    if settings.database_url is None and not EmbeddedPostgres.exists_in(settings.data_dir):
        missing.append("no embedded database (pgdata/)")
    if ring and not settings.ring_configured() and not settings.dev_ring_path().exists():
        missing.append("no development key ring (secret_keys)")
    if not missing:
        return settings
    if "data_dir" in settings.model_fields_set:
        chosen = "BEYONDPAY_DATA_DIR"
    elif settings.data_dir.is_dir():
        chosen = f"the nearest .beyondpay/ up from {Path.cwd()}"
    else:
        chosen = f"no .beyondpay/ in {Path.cwd()} or any folder above it"
    console.print(
        f"[red]refused[/red]: the data directory would be {escape(str(settings.data_dir))}"
        f" ({escape(chosen)}), which holds {' and '.join(missing)}; this command would create"
        " new ones there, apart from the server's. Run it in the project's folder (where `beyondpay"
        " serve` keeps .beyondpay/), set BEYONDPAY_DATA_DIR to the server's data directory, or"
        " set BEYONDPAY_DATABASE_URL and BEYONDPAY_SECRET_KEYS.",
        highlight=False,
        soft_wrap=True,  # a path the user copies is never folded
    )
    raise typer.Exit(code=1)


@cli.command()
def migrate() -> None:
    """Bring the database schema (and the job queue's) to the latest revision."""
    from beyondpay.db.migrate import head_revision, upgrade
    from beyondpay.db.runtime import open_database

    target = open_database(_existing_data(_settings(), ring=False))
    try:
        upgrade(target.url)
        console.print(f"[green]migrated[/green] to {head_revision()}")
    finally:
        target.close()


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            max=API_PROCESSES_MAX,
            help="API processes (default: the number of cores, as PostgreSQL's connections allow).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Migrate, then run the API and the background worker: in one process with --workers 1,
    else N API processes on one port and the worker in a process of its own."""
    import uvicorn

    from beyondpay.app import create_app
    from beyondpay.db.migrate import upgrade
    from beyondpay.db.runtime import open_database

    configured = _settings()
    # --host and --port are the settings of this run: the sandbox's page links and the
    # default passkey origin follow them as they follow BEYONDPAY_HOST and BEYONDPAY_PORT.
    settings = configured.model_copy(
        update={"host": host or configured.host, "port": port or configured.port}
    )
    host, port = settings.host, settings.port
    _stop_gracefully_on_sigterm()
    if settings.database_url is None:
        _hold_serve_lock(settings.data_dir)
    target = open_database(settings)
    try:
        upgrade(target.url)
        plan = plan_processes(settings, target.url, workers)
        console.print(_banner(settings, target, plan))
        if plan.api_processes == 1:
            app = create_app(settings, target.url, run_worker=settings.run_worker_in_api)
            uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)
        else:
            _serve_processes(settings, target.url, host, port, plan)
    finally:
        # A second signal while the embedded database stops would leave it running.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        target.close()


def _banner(settings: Settings, target: DatabaseTarget, plan: ProcessPlan) -> Panel:
    from beyondpay.db.urls import redacted

    base = settings.local_url()
    where = (
        f"embedded PostgreSQL in {target.embedded.pgdata}"
        if target.embedded
        else redacted(target.url)
    )
    lines = [
        f"[bold]API[/bold]       {base}/v1",
        f"[bold]API docs[/bold]  {base}/docs",
        f"[bold]Ready[/bold]     {base}/readyz",
        f"[bold]Data[/bold]      {where}",
        f"[bold]Processes[/bold] {plan.describe(settings.run_worker_in_api)}",
    ]
    if target.embedded is not None:
        dev_keys = ensure_dev_merchant(settings, target.url)
        lines += [
            f"[bold]Merchant[/bold]  {dev_keys['merchant']} (test mode)",
            f"[bold]Secret[/bold]    {dev_keys['sk_test']}",
            f"[bold]Public[/bold]    {dev_keys['pk_test']}",
        ]
    return Panel.fit("\n".join(lines), title=f"beyondpay {__version__}")


# ---- stopping what `serve` starts ----------------------------------------------------------------

SERVE_LOCK_FILE: Final = "serve.lock"


def _stop_gracefully_on_sigterm() -> None:
    """SIGTERM (what systemd and Docker send) ends ``serve`` as Ctrl-C does: through its
    ``finally``, which stops the embedded PostgreSQL. While it serves, uvicorn handles SIGTERM
    itself, then puts this handler back and raises the signal again; Python's default action
    would end the process there, with no ``finally`` and no ``atexit``."""

    def stop(_signal: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)


def _hold_serve_lock(data_dir: Path) -> int:
    """One ``serve`` per data directory on the embedded database, or refused (exit 1) naming
    the one running. An exclusive ``flock`` on ``<data dir>/serve.lock``, held until the
    process ends: the kernel releases it however the process ends (SIGKILL too), so a lock is
    never stale. The file holds the holder's pid, to name it."""
    import fcntl

    data_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(data_dir / SERVE_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(descriptor, 32).decode(errors="replace").strip() or "unknown"
        os.close(descriptor)
        console.print(
            f"[red]refused[/red]: beyondpay serve is already running on the data in {data_dir}"
            f" (pid {holder}). Stop it first (Ctrl-C, or SIGTERM to that pid), or set"
            " BEYONDPAY_DATA_DIR to another folder.",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(code=1) from None
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
    return descriptor


# ---- `serve --workers N`: API processes, one worker process, PostgreSQL's connection budget -----

API_PROCESSES_MAX: Final = 64
# What `serve` leaves of PostgreSQL's max_connections to others than its API processes: the
# worker process (job connector 4, job sessions 4+4, webhook sessions 4+4, events follower 2,
# with room for what the worker gains) and a margin for the CLI, psql, migrations and monitoring.
WORKER_CONNECTIONS_MAX: Final = 30
SPARE_CONNECTIONS: Final = 10
# Each API process's job connector (it defers jobs; db.jobs opens at most 4).
API_JOB_CONNECTIONS_MAX: Final = 4
API_POOL_CONNECTIONS_MIN: Final = 4
WORKER_STOP_S_MAX: Final = 40.0  # the worker finishes running jobs for up to 30 s


@dataclass(frozen=True)
class ProcessPlan:
    """How many API processes ``serve`` runs and each one's database pool."""

    api_processes: int
    pool_size: int
    pool_max_overflow: int
    note: str = ""

    def describe(self, run_worker: bool) -> str:
        if self.api_processes == 1:
            return "1 (API" + (" and worker)" if run_worker else ")")
        worker = " + 1 worker process" if run_worker else " (worker: run `beyondpay worker`)"
        return (
            f"{self.api_processes} API processes{worker}; database pool"
            f" {self.pool_size}+{self.pool_max_overflow} per API process{self.note}"
        )


def api_connections_available(max_connections: int, reserved_connections: int) -> int:
    """PostgreSQL connections all API processes together may hold."""
    return max_connections - reserved_connections - WORKER_CONNECTIONS_MAX - SPARE_CONNECTIONS


def plan_processes(settings: Settings, url: str, requested: int | None) -> ProcessPlan:
    """``requested`` API processes (default: one per core), each pool cut so that all of them,
    the worker and a margin stay under the server's max_connections. One process keeps the
    configured pool (and today's behaviour). A default that does not fit is lowered; an
    explicit count that does not fit is refused."""
    wanted = requested or os.cpu_count() or 1
    configured = ProcessPlan(1, settings.database_pool_size, settings.database_pool_max_overflow)
    if wanted == 1:
        return configured
    available = api_connections_available(*_server_connection_limits(url))
    fitting = available // (API_JOB_CONNECTIONS_MAX + API_POOL_CONNECTIONS_MIN)
    if wanted > fitting:
        if requested is not None or fitting < 2:
            console.print(
                f"[red]--workers {wanted}[/red] does not fit PostgreSQL's max_connections: at"
                f" most {max(fitting, 1)} API processes; raise max_connections or put PgBouncer"
                " in front (docs/operations.md)"
            )
            raise typer.Exit(code=2)
        wanted = fitting
    per_process = available // wanted - API_JOB_CONNECTIONS_MAX
    configured_total = configured.pool_size + configured.pool_max_overflow
    if per_process >= configured_total:
        return ProcessPlan(wanted, configured.pool_size, configured.pool_max_overflow)
    pool_size = min(configured.pool_size, (per_process + 1) // 2)
    return ProcessPlan(
        wanted,
        pool_size,
        per_process - pool_size,
        note=f" (cut from {configured.pool_size}+{configured.pool_max_overflow} to fit)",
    )


def _server_connection_limits(url: str) -> tuple[int, int]:
    import psycopg

    from beyondpay.db.urls import libpq_url

    with psycopg.connect(libpq_url(url)) as connection:
        limits = connection.execute(
            "SELECT current_setting('max_connections')::int,"
            " current_setting('superuser_reserved_connections')::int"
            " + coalesce(current_setting('reserved_connections', true)::int, 0)"
        ).fetchone()
    if limits is None:
        raise RuntimeError("PostgreSQL did not answer its connection settings")
    return int(limits[0]), int(limits[1])


def api_from_environment() -> FastAPI:
    """The app of one of ``serve --workers N``'s API processes: everything it needs comes from
    the environment its parent set (the database URL, the pool, no worker inside)."""
    from beyondpay.app import create_app

    settings = _settings()
    url = settings.database_url_value()
    if url is None:
        raise RuntimeError("BEYONDPAY_DATABASE_URL must be set by `beyondpay serve`")
    return create_app(settings, url, run_worker=False)


def _serve_processes(settings: Settings, url: str, host: str, port: int, plan: ProcessPlan) -> None:
    """uvicorn's supervisor runs the API processes on one socket; the background worker runs
    once, in a process of its own, so jobs and the events follower are not multiplied."""
    import signal
    import subprocess
    import sys

    import uvicorn

    # The API processes are spawned (a fresh interpreter each) and read their settings as any
    # process does. The key ring is loaded now so a development ring exists before they read it.
    settings.key_ring()
    os.environ.update(
        BEYONDPAY_DATABASE_URL=url,
        BEYONDPAY_DATABASE_POOL_SIZE=str(plan.pool_size),
        BEYONDPAY_DATABASE_POOL_MAX_OVERFLOW=str(plan.pool_max_overflow),
        BEYONDPAY_RUN_WORKER_IN_API="false",
        BEYONDPAY_HOST=host,
        BEYONDPAY_PORT=str(port),
        BEYONDPAY_DATA_DIR=str(settings.data_dir),
    )
    background = None
    if settings.run_worker_in_api:
        background = subprocess.Popen([sys.executable, "-m", "beyondpay.cli", "worker"])
    try:
        uvicorn.run(
            "beyondpay.cli:api_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=plan.api_processes,
            log_config=None,
            access_log=False,
        )
    finally:
        if background is not None:
            if background.poll() is None:
                background.send_signal(signal.SIGTERM)
            try:
                background.wait(WORKER_STOP_S_MAX)
            except subprocess.TimeoutExpired:
                background.kill()
                background.wait()


@cli.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=64)] = 4,
) -> None:
    """Run background jobs (stops gracefully on SIGTERM or Ctrl-C)."""
    from beyondpay.app import (
        close_worker_resources,
        configure_modules,
        create_job_app,
        worker_loops,
    )
    from beyondpay.db.jobs import run_worker
    from beyondpay.db.runtime import open_database

    settings = _existing_data(_settings(), ring=True)
    configure_modules(settings)
    target = open_database(settings)

    async def run() -> None:
        job_app = create_job_app(target.url)
        try:
            async with job_app.open_async():
                await run_worker(
                    job_app,
                    alongside=worker_loops(target.url),
                    concurrency=concurrency,
                    install_signal_handlers=True,
                )
        finally:
            await close_worker_resources()

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
    from beyondpay.kit.services import check_key_ring, check_nats, check_redis

    settings = _existing_data(_settings(), ring=False)
    target = open_database(settings)
    try:
        checks = check_database(target.url)
    finally:
        target.close()
    checks.append(check_key_ring(settings))
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


@cli.command(
    epilog="Each event is forwarded once: a failed forward is printed and not retried "
    "(like stripe listen); the event stays readable with GET /v1/events.",
)
def listen(
    forward_to: Annotated[
        str,
        typer.Option(
            "--forward-to",
            help="Your app's webhook URL: http://localhost:PORT/path.",
            metavar="URL",
        ),
    ],
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="BEYONDPAY_API_KEY",
            help="A secret or restricted key with events:read (sk_test_…).",
            show_default=False,
        ),
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option(
            "--api-url",
            help="The beyondpay deployment to read [default: http://BEYONDPAY_HOST:BEYONDPAY_PORT,"
            " where `beyondpay serve` listens].",
            show_default=False,
        ),
    ] = None,
    events: Annotated[
        str,
        typer.Option(
            "--events", help="Comma-separated event types to forward (customer.*: a group)."
        ),
    ] = "*",
    from_sequence: Annotated[
        int | None,
        typer.Option(
            "--from-sequence",
            min=0,
            help="Forward the events after this sequence number (default: only new events).",
            show_default=False,
        ),
    ] = None,
    live: Annotated[
        bool, typer.Option("--live", help="Allow a live key (sk_live_, rk_live_).")
    ] = False,
    max_events: Annotated[int | None, typer.Option("--max-events", min=1, hidden=True)] = None,
) -> None:
    """Forward a merchant's events to a local app, signed with a new secret (like stripe listen)."""
    import signal

    import httpx

    from beyondpay.listen import (
        ListenError,
        ListenOptions,
        is_live_key,
        parse_event_types,
        validate_forward_url,
    )
    from beyondpay.listen import listen as forward_events
    from beyondpay.webhooks.signing import new_secret

    api_url = api_url or Settings().local_url()
    if not api_key:
        console.print("[red]--api-key[/red] (or BEYONDPAY_API_KEY) is required")
        raise typer.Exit(code=2)
    if is_live_key(api_key) and not live:
        console.print("[red]refused[/red]: that is a live key; pass --live to forward live events")
        raise typer.Exit(code=2)
    try:
        validate_forward_url(forward_to)
        options = ListenOptions(
            api_key=api_key,
            forward_to=forward_to,
            signing_secret=new_secret(),
            api_url=api_url,
            event_types=parse_event_types(events),
            from_sequence=from_sequence,
            max_events=max_events,
        )
    except ListenError as error:
        console.print(f"[red]{error}[/red]", markup=False)
        raise typer.Exit(code=2) from None

    async def run() -> None:
        task = asyncio.ensure_future(forward_events(options, typer.echo))
        loop = asyncio.get_running_loop()
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(stop_signal, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            typer.echo("stopped")

    try:
        asyncio.run(run())
    except ListenError as error:
        console.print(f"refused: {error}", markup=False, highlight=False)
        raise typer.Exit(code=1) from None
    except httpx.HTTPError as error:
        # Only at the start: once running, an unreachable API is printed and read again.
        console.print(f"the API at {api_url} is unreachable ({type(error).__name__})", markup=False)
        raise typer.Exit(code=1) from None


@cli.command(
    epilog="The merchant: --key's, else a fresh one made with --admin-key through "
    "POST /v1/platform/merchants, else a fresh one made in the configured (or embedded) "
    "database, as `beyondpay merchants create` does.",
)
def demo(
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="The running beyondpay server [default: http://BEYONDPAY_HOST:BEYONDPAY_PORT,"
            " where `beyondpay serve` listens].",
            show_default=False,
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            help="An existing merchant's secret test key (sk_test_…).",
            show_default=False,
        ),
    ] = None,
    admin_key: Annotated[
        str | None,
        typer.Option(
            "--admin-key",
            envvar="BEYONDPAY_ADMIN_KEY",
            help="A platform-admin key (ak_…) to make the demo merchant with.",
            show_default=False,
        ),
    ] = None,
    upi_timeout: Annotated[
        float, typer.Option("--upi-timeout", min=1, help="Seconds to wait for the UPI payer.")
    ] = 30.0,
) -> None:
    """Pay by card and by UPI, refund, show the balance: test mode, against a running server."""
    from beyondpay.demo import DemoError, check_reachable, create_merchant_as_admin, run_demo

    url = (url or Settings().local_url()).rstrip("/")
    if key is not None and not key.startswith(("sk_test_", "rk_test_")):
        console.print("[red]--key[/red] must be a test key (sk_test_…): the demo makes payments")
        raise typer.Exit(code=2)
    try:
        check_reachable(url)
        if key is None:
            key = (
                create_merchant_as_admin(url, admin_key)
                if admin_key
                else _demo_merchant_in_database()
            )
            console.print("[green]created[/green] a demo merchant; its secret test key:")
            console.print(key, markup=False, highlight=False)
        run_demo(url, key, console, upi_timeout_s=upi_timeout)
    except DemoError as error:
        console.print(f"[red]demo stopped[/red]: {error}", highlight=False)
        raise typer.Exit(code=1) from None


def _demo_merchant_in_database() -> str:
    """A fresh merchant made in the database, as ``merchants create`` does; its sk_test_ key."""
    from beyondpay.demo import DEMO_MERCHANT_NAME
    from beyondpay.merchants.domain import KeyKind
    from beyondpay.merchants.service import merchant_service

    settings = _settings()
    target = _ready_database(settings)
    try:
        created = _in_unit_of_work(
            target.url,
            settings.key_ring(),
            lambda session, ring: merchant_service.create(session, ring, name=DEMO_MERCHANT_NAME),
        )
    finally:
        target.close()
    return next(
        each.secret for each in created.keys if each.kind is KeyKind.secret and not each.livemode
    )


ledger_cli = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)
cli.add_typer(ledger_cli, name="ledger")


@ledger_cli.command("verify")
def ledger_verify(
    seal_first: Annotated[
        bool,
        typer.Option(
            "--seal-first",
            help="Seal what is committed before replaying, so the chain covers every transfer "
            "(a write; without it verify only reads).",
        ),
    ] = False,
) -> None:
    """Replay the journal: sequences, hash chain, every balance; exit 1 on any mismatch.

    Transfers not yet sealed (numbered and chained by the worker about a second after commit)
    are folded into balances and counted, not reported as problems."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from beyondpay.db.runtime import open_database
    from beyondpay.ledger.journal import verify_database

    target = open_database(_existing_data(_settings(), ring=False))
    try:
        with Progress(
            TextColumn("replaying the journal"), BarColumn(), MofNCompleteColumn(), console=console
        ) as progress:
            task = progress.add_task("verify", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            report = asyncio.run(
                verify_database(target.url, progress=advance, seal_first=seal_first)
            )
    finally:
        target.close()
    for problem in report.problems:
        console.print(f"[red]✗[/red] {problem}")
    summary = (
        f"{report.transfers} transfers ({report.unsealed} not yet sealed), "
        f"{report.accounts} accounts, {report.ledgers} ledgers"
    )
    if not report.ok:
        console.print(f"[red]journal verification failed[/red]: {summary}")
        raise typer.Exit(code=1)
    console.print(f"[green]journal verified[/green]: {summary}")


risk_cli = typer.Typer(help="The risk engine's fraud model.", no_args_is_help=True)
cli.add_typer(risk_cli, name="risk")


@risk_cli.command("train")
def risk_train(
    seed: Annotated[int, typer.Option(help="Seed of the training simulation.")] = 1,
    rows: Annotated[
        int, typer.Option(min=500, max=2_000_000, help="Payments simulated for training.")
    ] = 200_000,
    holdout_seed: Annotated[
        int, typer.Option("--holdout-seed", help="Seed of the held-out simulation.")
    ] = 2,
    holdout_rows: Annotated[
        int, typer.Option("--holdout-rows", min=500, max=2_000_000, help="Held-out payments.")
    ] = 50_000,
    out: Annotated[
        Path | None,
        typer.Option(help="The model file to write (default: ./<version>.pkl).", dir_okay=False),
    ] = None,
) -> None:
    """Train the fraud model on the simulator; write it with its metrics; print them."""
    from beyondpay.risk.training import save, train

    if holdout_seed == seed:
        console.print("[red]--holdout-seed[/red] must differ from --seed: it measures new data")
        raise typer.Exit(code=2)
    with console.status("simulating payments and training"):
        trained, metrics = train(
            seed=seed, rows=rows, holdout_seed=holdout_seed, holdout_rows=holdout_rows
        )
    version = trained.metadata["version"]
    path = out or Path(f"{version}.pkl")
    save(trained, path)
    table = Table(title=f"model {version} on held-out seed {holdout_seed}")
    for column in ("measure", "model", "rules-only baseline"):
        table.add_column(column)
    table.add_row("ROC AUC", f"{metrics.roc_auc:.4f}", f"{metrics.baseline_roc_auc:.4f}")
    table.add_row(
        "precision at challenge",
        f"{metrics.challenge_precision:.3f}",
        f"{metrics.baseline_precision:.3f} (two rules fire)",
    )
    table.add_row(
        "recall at challenge",
        f"{metrics.challenge_recall:.3f}",
        f"{metrics.baseline_recall:.3f} (two rules fire)",
    )
    table.add_row("precision at block", f"{metrics.block_precision:.3f}", "")
    table.add_row("recall at block", f"{metrics.block_recall:.3f}", "")
    console.print(table)
    console.print(
        f"{metrics.rows} held-out payments, {metrics.fraud_rows} fraudulent; "
        f"wrote [bold]{path}[/bold] and {path.with_suffix('.json')}"
    )


# ---- merchants and platform-admin keys ---------------------------------------------------------


def _ready_database(settings: Settings) -> DatabaseTarget:
    """The configured database at the schema head: the embedded one is migrated here (it is
    ours); a configured one that is behind is refused, since migrating is an operator's call."""
    from beyondpay.db.migrate import is_at_head, upgrade
    from beyondpay.db.runtime import open_database

    target = open_database(_existing_data(settings, ring=True))
    if target.embedded is not None:
        upgrade(target.url)
    elif not is_at_head(target.url):
        target.close()
        console.print("[red]the database schema is behind[/red]: run `beyondpay migrate` first")
        raise typer.Exit(code=1)
    return target


def _in_unit_of_work(
    url: str, ring: KeyRing, work: Callable[[AsyncSession, KeyRing], Awaitable[ResultT]]
) -> ResultT:
    """Runs ``work`` in one transaction; a typed error is printed (it names no secret)."""
    from beyondpay.db.session import Database
    from beyondpay.kit.errors import BeyondpayError

    async def run() -> ResultT:
        database = Database(url, pool_size=1, max_overflow=1, application_name="beyondpay-cli")
        try:
            async with database.unit_of_work() as session:
                return await work(session, ring)
        finally:
            await database.dispose()

    try:
        return asyncio.run(run())
    except BeyondpayError as error:
        console.print(f"[red]{error.code}[/red]: {error.message}")
        raise typer.Exit(code=1) from None


def _keys_table(title: str, rows: list[tuple[str, str, str]]) -> Table:
    table = Table(title=title)
    for column in ("key", "mode", "secret (shown once: store it now)"):
        table.add_column(column, no_wrap=True, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


merchants_cli = typer.Typer(help="Merchant accounts.", no_args_is_help=True)
cli.add_typer(merchants_cli, name="merchants")


@merchants_cli.command("create")
def merchants_create(
    name: Annotated[str, typer.Option("--name", help="The merchant's business name.")],
) -> None:
    """Create a merchant (pending KYC) and print its four keys, once."""
    from beyondpay.merchants.service import merchant_service

    settings = _settings()
    target = _ready_database(settings)
    try:
        created = _in_unit_of_work(
            target.url,
            settings.key_ring(),
            lambda session, ring: merchant_service.create(session, ring, name=name),
        )
    finally:
        target.close()
    console.print(f"[green]created[/green] merchant {created.id} ({created.name}), pending KYC")
    rows = [
        (key.kind.value, "live" if key.livemode else "test", key.secret) for key in created.keys
    ]
    console.print(_keys_table("API keys", rows))
    console.print("Only keyed hashes are stored: these keys cannot be shown again.")


@merchants_cli.command("activate")
def merchants_activate(
    merchant_id: Annotated[str, typer.Argument(metavar="ID", help="The merchant (acct_…).")],
) -> None:
    """Make a merchant active without a KYC review: for development and test installs only."""
    from beyondpay.merchants.service import merchant_service

    settings = _settings()
    target = _ready_database(settings)
    try:
        view = _in_unit_of_work(
            target.url,
            settings.key_ring(),
            lambda session, _ring: merchant_service.activate_without_review(session, merchant_id),
        )
    finally:
        target.close()
    console.print(f"[green]active[/green]: merchant {view.id} ({view.name}); live keys now work")


admin_keys_cli = typer.Typer(help="Platform-admin API keys.", no_args_is_help=True)
cli.add_typer(admin_keys_cli, name="admin-keys")


@admin_keys_cli.command("create")
def admin_keys_create(
    name: Annotated[str | None, typer.Option(help="What the key is for.")] = None,
    test: Annotated[
        bool, typer.Option("--test", help="An ak_test_ key (default: ak_live_).")
    ] = False,
) -> None:
    """Create a platform-admin key (for /v1/platform routes) and print it, once."""
    from beyondpay.merchants.domain import KEY_NAME_CHARS_MAX, KeyKind
    from beyondpay.merchants.service import api_key_service

    if name is not None and len(name) > KEY_NAME_CHARS_MAX:
        console.print(f"[red]--name[/red] must be at most {KEY_NAME_CHARS_MAX} characters")
        raise typer.Exit(code=2)
    settings = _settings()
    target = _ready_database(settings)
    try:
        issued = _in_unit_of_work(
            target.url,
            settings.key_ring(),
            lambda session, ring: api_key_service.issue(
                session, ring, merchant_id=None, kind=KeyKind.admin, livemode=not test, name=name
            ),
        )
    finally:
        target.close()
    console.print(f"[green]created[/green] platform-admin key {issued.id}")
    mode = "live" if issued.livemode else "test"
    console.print(_keys_table("Platform-admin key", [("admin", mode, issued.secret)]))
    console.print("Only a keyed hash is stored: this key cannot be shown again.")


reconciliation_cli = typer.Typer(help="The rails' settlement files.", no_args_is_help=True)
cli.add_typer(reconciliation_cli, name="reconciliation")


@reconciliation_cli.command("run")
def reconciliation_run(
    business_date: Annotated[
        str, typer.Argument(metavar="DATE", help="The IST business date, YYYY-MM-DD.")
    ],
    live: Annotated[
        bool, typer.Option("--live", help="Live mode's files (default: test).")
    ] = False,
) -> None:
    """Reconcile a business date's rail files (as POST /v1/platform/reconciliation/runs) and
    print the run's counts; each new break is an exception to resolve."""
    from beyondpay.app import wire_reconciliation
    from beyondpay.settlement.reconciliation.service import reconciliation_service

    try:
        day = date.fromisoformat(business_date)
    except ValueError:
        console.print("[red]DATE[/red] must be a date, YYYY-MM-DD")
        raise typer.Exit(code=2) from None
    wire_reconciliation()
    settings = _settings()
    target = _ready_database(settings)
    try:
        run = _in_unit_of_work(
            target.url,
            settings.key_ring(),
            lambda session, _ring: reconciliation_service.run(session, day, live),
        )
    finally:
        target.close()
    console.print(
        f"[green]reconciled[/green] {run.business_date} ({run.id}): lines={run.lines}"
        f" matched={run.matched} unmatched={run.unmatched} missing={run.missing}"
        f" mismatch_ppm={run.mismatch_ppm} exceptions_opened={run.exceptions_opened}"
    )


# ---- the development merchant of `serve` on the embedded default --------------------------------


def _write_private(path: Path, content: str) -> None:
    """Written whole under a temporary name with mode 0600, then renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(content)
    os.replace(staging, path)


def _read_dev_keys(path: Path) -> dict[str, str] | None:
    try:
        loaded: Any = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    wanted = ("merchant", "sk_test", "pk_test")
    if not isinstance(loaded, dict) or not all(isinstance(loaded.get(k), str) for k in wanted):
        return None
    return {key: loaded[key] for key in wanted}


def ensure_dev_merchant(settings: Settings, url: str) -> dict[str, str]:
    """The development merchant's id and test keys, created on first use.

    Stored keys are only keyed hashes, so the texts are kept in ``<data dir>/dev_keys.json``
    (mode 0600, beside the development key ring). If the file's key no longer authenticates
    (the database or the ring was reset), a new merchant is made.
    """
    from beyondpay.kit.errors import AuthenticationError
    from beyondpay.merchants.domain import KeyKind
    from beyondpay.merchants.service import api_key_service, merchant_service

    path = settings.data_dir / DEV_KEYS_FILE
    known = _read_dev_keys(path)

    async def ensure(session: AsyncSession, ring: KeyRing) -> dict[str, str]:
        if known is not None:
            try:
                caller = await api_key_service.authenticate(session, ring, known["sk_test"])
            except AuthenticationError:
                caller = None
            if caller is not None and caller.merchant_id == known["merchant"]:
                return known
        created = await merchant_service.create(session, ring, name=DEV_MERCHANT_NAME)
        keys = {"merchant": created.id}
        for key in created.keys:
            if not key.livemode:
                keys["sk_test" if key.kind is KeyKind.secret else "pk_test"] = key.secret
        return keys

    keys = _in_unit_of_work(url, settings.key_ring(), ensure)
    if keys is not known:
        _write_private(path, json.dumps(keys, indent=2) + "\n")
    return keys


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
