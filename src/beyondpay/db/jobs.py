"""Background jobs on the same PostgreSQL (procrastinate).

Modules declare their tasks on a ``procrastinate.Blueprint``; the composition root adds them to
the one ``App``. A job deferred with :func:`defer` is inserted on the caller's own connection, in
its transaction: a change that rolls back enqueues nothing, one that commits enqueues exactly once.
Every task must be safe to run twice (a worker killed mid-job runs it again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any, Final

import procrastinate
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.session import Database, driver_connection
from beyondpay.db.urls import libpq_url

WORKER_CONCURRENCY_DEFAULT: Final = 4
SHUTDOWN_GRACEFUL_TIMEOUT_S: Final = 30.0
# A job whose worker stopped sending heartbeats for this long is considered stalled and retried.
STALLED_WORKER_TIMEOUT_S: Final = 30.0
HEARTBEAT_INTERVAL_S: Final = 5.0
POLLING_INTERVAL_S: Final = 1.0

_logger = logging.getLogger(__name__)


class _Connector(procrastinate.PsycopgConnector):
    """A connector whose database is named when the app is about to open.

    procrastinate links every task back to its one App (and renames a blueprint's tasks when they
    are added), so a process has one App; which database it talks to is decided at start-up.
    """

    def use_database(self, url: str) -> None:
        self._pool_args = {"conninfo": libpq_url(url), "min_size": 1, "max_size": 4}


_connector = _Connector()
_app = procrastinate.App(connector=_connector)
_registered: set[int] = set()


def create_job_app(url: str, blueprints: list[procrastinate.Blueprint]) -> procrastinate.App:
    """The process's job App, with ``blueprints`` added (once each), pointed at ``url``.

    Open it before use; only one database at a time per process (tests open them in turn).
    """
    for blueprint in blueprints:
        bind(blueprint)
    _connector.use_database(url)
    return _app


def bind(blueprint: procrastinate.Blueprint) -> None:
    """Adds ``blueprint``'s tasks to the process's App (once): a task can then be deferred on a
    caller's connection (:func:`defer`) before any App is opened, as a script or a test does."""
    if id(blueprint) not in _registered:
        _app.add_tasks_from(blueprint, namespace=blueprint_namespace(blueprint))
        _registered.add(id(blueprint))


def blueprint_namespace(blueprint: procrastinate.Blueprint) -> str:
    namespace = getattr(blueprint, "beyondpay_namespace", None)
    if not isinstance(namespace, str):
        raise ValueError("a jobs blueprint needs a beyondpay_namespace attribute")
    return namespace


def blueprint(namespace: str) -> procrastinate.Blueprint:
    """A module's blueprint; its tasks are named ``<namespace>:<task>``."""
    bp = procrastinate.Blueprint()
    bp.beyondpay_namespace = namespace  # type: ignore[attr-defined]
    return bp


async def defer(
    session: AsyncSession,
    task: procrastinate.tasks.Task[Any, Any, Any],
    *,
    queueing_lock: str | None = None,
    schedule_in_s: float | None = None,
    **arguments: Any,
) -> int:
    """Enqueue ``task`` inside the session's transaction; returns the job id."""
    connection = await driver_connection(session)
    options: dict[str, Any] = {"connection": connection}
    if queueing_lock is not None:
        options["queueing_lock"] = queueing_lock
    if schedule_in_s is not None:
        options["schedule_in"] = {"seconds": schedule_in_s}
    job_id: int = await task.configure(**options).defer_async(**arguments)
    return job_id


async def retry_stalled_jobs(
    app: procrastinate.App, *, seconds_since_heartbeat: float = STALLED_WORKER_TIMEOUT_S
) -> int:
    """Put the jobs of workers that died (no heartbeat) back in the queue; returns how many."""
    stalled = await app.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=seconds_since_heartbeat
    )
    count = 0
    for job in stalled:
        await app.job_manager.retry_job(job)
        count += 1
    return count


async def _retry_stalled_forever(app: procrastinate.App, timeout_s: float) -> None:
    while True:
        try:
            if await retry_stalled_jobs(app, seconds_since_heartbeat=timeout_s):
                _logger.warning("retried jobs of a worker that stopped without finishing them")
        except Exception:  # the database may be briefly away; the next round tries again
            _logger.exception("could not look for stalled jobs")
        await asyncio.sleep(timeout_s / 2)


async def run_worker(
    app: procrastinate.App,
    *,
    alongside: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
    concurrency: int = WORKER_CONCURRENCY_DEFAULT,
    install_signal_handlers: bool = False,
    heartbeat_interval_s: float = HEARTBEAT_INTERVAL_S,
    stalled_worker_timeout_s: float = STALLED_WORKER_TIMEOUT_S,
    polling_interval_s: float = POLLING_INTERVAL_S,
) -> None:
    """Run jobs until cancelled (or signalled); a dead worker's jobs are picked up again.

    procrastinate runs a job at least once; a worker killed mid-job leaves it "doing", and the
    loop beside the worker re-queues it once that worker's heartbeat is older than the timeout.
    ``alongside`` are loops that run as long as the worker does (the events' follower).
    """
    beside = [asyncio.create_task(_retry_stalled_forever(app, stalled_worker_timeout_s))]
    beside += [asyncio.create_task(loop()) for loop in alongside]
    try:
        await app.run_worker_async(
            concurrency=concurrency,
            install_signal_handlers=install_signal_handlers,
            shutdown_graceful_timeout=SHUTDOWN_GRACEFUL_TIMEOUT_S,
            fetch_job_polling_interval=polling_interval_s,
            abort_job_polling_interval=polling_interval_s,
            update_heartbeat_interval=heartbeat_interval_s,
            stalled_worker_timeout=stalled_worker_timeout_s,
            # A succeeded job's row goes when it finishes: periodic jobs (hold expiry every 5 s,
            # event numbering every 2 s) would otherwise grow the table by tens of thousands of
            # rows a day. Failed jobs stay, for an operator to read.
            delete_jobs=procrastinate.jobs.DeleteJobCondition.SUCCESSFUL,
        )
    finally:
        for task in beside:
            task.cancel()
        await asyncio.gather(*beside, return_exceptions=True)


@contextlib.asynccontextmanager
async def running_worker(
    app: procrastinate.App,
    *,
    alongside: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
    concurrency: int = WORKER_CONCURRENCY_DEFAULT,
) -> AsyncIterator[asyncio.Task[None]]:
    """Run a worker in the background of the current loop; on exit, shut it down gracefully."""
    async with app.open_async():
        worker = asyncio.create_task(
            run_worker(app, alongside=alongside, concurrency=concurrency), name="beyondpay-worker"
        )
        try:
            yield worker
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker


JOB_DATABASE_POOL_SIZE: Final = 4
_job_databases: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Database]] = (
    weakref.WeakKeyDictionary()
)


def job_database(context: procrastinate.JobContext) -> Database:
    """An SQLAlchemy database on the worker's own database, for jobs whose use cases run in a
    session. One per database and event loop: an engine's connections belong to the loop that
    opened them (a process runs one worker loop; tests run one per test)."""
    connector = context.app.connector
    if not isinstance(connector, procrastinate.PsycopgConnector):
        raise TypeError("jobs need the psycopg connector")
    conninfo = str(connector.pool.conninfo)
    of_loop = _job_databases.setdefault(asyncio.get_running_loop(), {})
    database = of_loop.get(conninfo)
    if database is None:
        database = Database(
            conninfo,
            pool_size=JOB_DATABASE_POOL_SIZE,
            max_overflow=JOB_DATABASE_POOL_SIZE,
            application_name="beyondpay-jobs",
        )
        of_loop[conninfo] = database
    return database


async def close_job_databases() -> None:
    for database in _job_databases.pop(asyncio.get_running_loop(), {}).values():
        await database.dispose()
