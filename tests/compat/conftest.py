"""A real beyondpay server on loopback, for the official SDKs to talk to over TCP.

The server (uvicorn in a thread, with its own event loop) lives for a test module and its
database for the session; each test gets its own freshly created merchant, so no test sees
another's objects.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
import stripe

from beyondpay.db.urls import libpq_url, with_database
from beyondpay.kit.settings import Settings
from tests.compat.server import new_merchant, serving
from tests.support import TEST_RING_TEXT, TestMerchant


@pytest.fixture(scope="session")
def compat_database_url(postgres_server_url: str, template_database: str) -> Iterator[str]:
    """One migrated database for the session's server; tests are isolated by merchant."""
    name = f"beyondpay_compat_{uuid.uuid4().hex[:16]}"
    admin = libpq_url(postgres_server_url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    yield with_database(postgres_server_url, name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def server_url(compat_database_url: str) -> Iterator[str]:
    # Module scope: the process has one job App (beyondpay.db.jobs), so no other app (another
    # module's server, the ``api_app`` fixture) may be open while this one is.
    # Stripe's own test-mode limit (25/s) would refuse part of a burst like the paging test's;
    # the limits themselves are checked by test_stripe_sdk_rate_limits.
    settings = Settings(secret_keys=TEST_RING_TEXT, rate_limit_test_per_key="1000/second")
    with serving(settings, compat_database_url) as url:
        yield url


@pytest.fixture(autouse=True)
def _no_telemetry() -> None:
    # Telemetry would send the previous request's timings in a header; nothing to measure here.
    stripe.enable_telemetry = False


@pytest.fixture
async def sdk_merchant(compat_database_url: str) -> AsyncIterator[TestMerchant]:
    """A fresh active merchant with a restricted key holding only ``customers:read``."""
    yield await new_merchant(compat_database_url, restricted_scopes=("customers:read",))
