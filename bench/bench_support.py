"""What every benchmark needs: the PostgreSQL server to measure on, and fresh databases on it."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg

from beyondpay.db.embedded import EmbeddedPostgres
from beyondpay.db.urls import libpq_url, sqlalchemy_url, with_database


def server_url() -> tuple[str, EmbeddedPostgres | None]:
    """BEYONDPAY_DATABASE_URL's server, or the embedded one (returned, to be stopped)."""
    configured = os.environ.get("BEYONDPAY_DATABASE_URL")
    if configured:
        return str(sqlalchemy_url(configured).render_as_string(hide_password=False)), None
    embedded = EmbeddedPostgres(Path(".beyondpay"))
    return embedded.start(), embedded


# Appended to every benchmark database's name, so that runs sharing a server (the smoke tests
# of several checkouts) do not drop each other's databases.
DATABASE_SUFFIX_VARIABLE = "BEYONDPAY_BENCH_DATABASE_SUFFIX"


def recreate(server: str, name: str) -> str:
    """The URL of an empty database ``name`` on ``server``, dropped first if it exists."""
    name += os.environ.get(DATABASE_SUFFIX_VARIABLE, "")
    with psycopg.connect(libpq_url(server), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return with_database(server, name).render_as_string(hide_password=False)
