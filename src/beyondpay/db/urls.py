"""Conversions between the URL forms that SQLAlchemy, libpq and procrastinate expect."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url


def sqlalchemy_url(url: str) -> URL:
    """Any PostgreSQL URL, as a SQLAlchemy URL on the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError("beyondpay runs on PostgreSQL only: the URL must be postgresql://")
    return parsed.set(drivername="postgresql+psycopg")


def libpq_url(url: str | URL) -> str:
    """The same database as a libpq connection string (for psycopg, procrastinate, pgbench)."""
    parsed = sqlalchemy_url(url) if isinstance(url, str) else url
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def with_database(url: str | URL, database: str) -> URL:
    parsed = sqlalchemy_url(url) if isinstance(url, str) else url
    return parsed.set(database=database)


def redacted(url: str | URL) -> str:
    parsed = sqlalchemy_url(url) if isinstance(url, str) else url
    return parsed.render_as_string(hide_password=True)
