"""Fixtures on real services.

PostgreSQL: ``BEYONDPAY_TEST_DATABASE_URL`` when set, otherwise the embedded server. Each test
that asks for ``database_url`` gets its own database, cloned from a migrated template, so tests
that race several connections are isolated just as well as single-connection ones.

Redis and NATS: ``BEYONDPAY_TEST_REDIS_URL`` / ``BEYONDPAY_TEST_NATS_URL``. Unset: the test is
skipped with the reason shown. Set but unreachable: skipped locally, and a failure when ``CI=true``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import queue
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from beyondpay.db.migrate import migrations_dir, upgrade
from beyondpay.db.session import Database
from beyondpay.db.urls import libpq_url, sqlalchemy_url, with_database
from beyondpay.kit.services import check_nats, check_redis
from beyondpay.kit.settings import Settings
from tests.support import TestMerchant

ROOT = Path(__file__).resolve().parent.parent

# Database-backed property tests are slow per example; deadlines would only make them flaky.
hypothesis_settings.register_profile(
    "dev", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
hypothesis_settings.register_profile(
    "ci",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
TEMPLATE_LOCK_KEY = 0x7465_6D70  # "temp"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    configured = os.environ.get("BEYONDPAY_TEST_DATABASE_URL")
    if configured:
        try:
            with psycopg.connect(libpq_url(configured), connect_timeout=5):
                pass
        except psycopg.OperationalError as exc:
            pytest.fail(f"BEYONDPAY_TEST_DATABASE_URL is set but unreachable: {type(exc).__name__}")
        yield str(sqlalchemy_url(configured).render_as_string(hide_password=False))
        return
    from beyondpay.db.embedded import EmbeddedPostgres

    embedded = EmbeddedPostgres(ROOT / ".beyondpay" / "test")
    yield embedded.start()
    # The server is left running for the next run (it is reused); atexit stops it with the process.


def _migrations_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted(migrations_dir().rglob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@pytest.fixture(scope="session")
def template_database(postgres_server_url: str) -> str:
    """A migrated database to clone; rebuilt when a migration changes."""
    name = f"beyondpay_template_{_migrations_fingerprint()}"
    admin = libpq_url(postgres_server_url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (TEMPLATE_LOCK_KEY,))
        try:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                building = f"{name}_building"
                connection.execute(f'DROP DATABASE IF EXISTS "{building}"')
                connection.execute(f'CREATE DATABASE "{building}"')
                upgrade(str(with_database(postgres_server_url, building).render_as_string(False)))
                connection.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (TEMPLATE_LOCK_KEY,))
    return name


# Per currency, debits equal credits, posted and pending, summed over every account.
_LEDGER_SUMS = (
    "SELECT currency, sum(debits_posted) - sum(credits_posted),"
    " sum(debits_pending) - sum(credits_pending) FROM ledger_accounts GROUP BY currency"
)


async def _verify_ledger(url: str) -> None:
    from beyondpay.ledger.journal import verify_connection

    async with await psycopg.AsyncConnection.connect(libpq_url(url)) as connection:
        # Sealed first, so that every chain is checked, not only the balances.
        report = await verify_connection(connection, seal_first=True)
        assert report.unsealed == 0, "everything committed was sealed"
        assert report.ok, f"ledger verify after the test: {report.problems}"
        rows = await (await connection.execute(_LEDGER_SUMS)).fetchall()
        unbalanced = [row for row in rows if row[1] != 0 or row[2] != 0]
        assert not unbalanced, f"per-currency sums are not zero after the test: {unbalanced}"


DATABASES_AHEAD = 2  # fresh databases cloned before the tests that take them
DATABASE_WAIT_S = 120.0  # longest a test waits for its clone


class _Databases:
    """Per test process: the tests' databases, cloned from the template ahead of the tests that
    take them and dropped after them, by one background thread. A CREATE DATABASE from the
    migrated template and its DROP take about a third of a second each on the 2-core CI machine
    (the template's every table and index is copied): done here, they overlap the tests instead
    of lengthening each."""

    def __init__(self, admin_url: str, template: str) -> None:
        self._admin_url = admin_url
        self._template = template
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._work: queue.Queue[tuple[str, str]] = queue.Queue()
        for _ in range(DATABASES_AHEAD):
            self._work.put(("create", ""))
        self._thread = threading.Thread(target=self._run, name="test-databases", daemon=True)
        self._thread.start()

    def take(self) -> str:
        name = self._ready.get(timeout=DATABASE_WAIT_S)
        if isinstance(name, BaseException):
            raise name
        self._work.put(("create", ""))
        return name

    def drop(self, name: str) -> None:
        self._work.put(("drop", name))

    def close(self) -> None:
        self._work.put(("stop", ""))
        self._thread.join(timeout=DATABASE_WAIT_S)
        while not self._ready.empty():
            left = self._ready.get()
            if isinstance(left, str):
                self._execute(f'DROP DATABASE IF EXISTS "{left}" WITH (FORCE)')

    def _execute(self, statement: str) -> None:
        with psycopg.connect(self._admin_url, autocommit=True) as connection:
            connection.execute(statement)

    def _run(self) -> None:
        with psycopg.connect(self._admin_url, autocommit=True) as connection:
            while True:
                kind, name = self._work.get()
                if kind == "stop":
                    return
                try:
                    if kind == "drop":
                        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                        continue
                    name = f"beyondpay_test_{uuid.uuid4().hex[:16]}"
                    connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
                    self._ready.put(name)
                except psycopg.Error as error:
                    if kind == "create":
                        self._ready.put(error)


@pytest.fixture(scope="session")
def test_databases(postgres_server_url: str, template_database: str) -> Iterator[_Databases]:
    databases = _Databases(libpq_url(postgres_server_url), template_database)
    yield databases
    databases.close()


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest, postgres_server_url: str, test_databases: _Databases
) -> Iterator[str]:
    """The URL of a fresh, migrated database of this test's own. After the test, the ledger in
    it is verified (``ledger verify`` clean, per-currency sums zero) unless the test is marked
    ``ledger_tampered``; a failed test is not verified (its failure says more)."""
    name = test_databases.take()
    url = with_database(postgres_server_url, name).render_as_string(hide_password=False)
    yield url
    report = getattr(request.node, "rep_call", None)
    if (
        report is not None
        and report.passed
        and request.node.get_closest_marker("ledger_tampered") is None
    ):
        asyncio.run(_verify_ledger(url))
    test_databases.drop(name)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    # A test's new connection can wait behind the other worker's CREATE DATABASE checkpoint on
    # the CI machine's two cores: allow it longer than the server's fail-fast three seconds.
    handle = Database(database_url, pool_size=5, max_overflow=20, connect_timeout_s=20)
    yield handle
    await handle.dispose()


def _service_url(variable: str) -> str:
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set: this test needs the real service")
    return url


def _unreachable(variable: str, detail: str) -> None:
    message = f"{variable} is set but the service is unreachable: {detail}"
    if _in_ci():
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = _service_url("BEYONDPAY_TEST_REDIS_URL")
    check = check_redis(url)
    if not check.ok:
        _unreachable("BEYONDPAY_TEST_REDIS_URL", check.detail)
    return url


@pytest.fixture(scope="session")
def nats_url() -> str:
    url = _service_url("BEYONDPAY_TEST_NATS_URL")
    check = asyncio.run(check_nats(url))
    if not check.ok:
        _unreachable("BEYONDPAY_TEST_NATS_URL", check.detail)
    return url


@pytest.fixture(autouse=True)
def wired_modules() -> None:
    """What the composition root wires in every process (``app.wire_modules``: the rails'
    scheduler, who hears the rails), for tests that call services without an app too."""
    from beyondpay.app import wire_modules

    wire_modules()


@pytest.fixture
def api_settings() -> Settings:
    from tests.support import TEST_RING_TEXT

    # Rate limits are off but in their own tests (tests/api/test_ratelimit.py): the suite's
    # bursts with one test key would pass the test-mode limit of 25 requests a second.
    # A connection waits up to 30 s (not the default 10 s): two test workers on two cores with
    # a storm of 200 requests in flight must not turn a slow machine into 503s.
    return Settings(
        secret_keys=TEST_RING_TEXT, rate_limits_enabled=False, database_pool_timeout_s=30
    )


@pytest.fixture
async def api_app(database_url: str, api_settings: Settings) -> AsyncIterator[FastAPI]:
    from beyondpay.app import create_app

    app = create_app(api_settings, database_url)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(api_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=api_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
async def merchant(database: Database) -> TestMerchant:
    from tests.support import make_merchant

    return await make_merchant(database)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keeps each phase's report on the test item, so fixtures can tell a passed test."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
