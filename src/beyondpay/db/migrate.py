"""Alembic, driven from code: ``beyondpay migrate``, ``serve`` and the test template."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine

from beyondpay.db.urls import sqlalchemy_url

# Concurrent starters (several api processes, a test run) take turns on this advisory lock.
MIGRATION_LOCK_KEY: Final = 0x6265_796F_6E64  # "beyond"


def migrations_dir() -> Path:
    """The repository's migrations/, or the copy packed into the wheel."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package.parent.parent / "migrations", package / "_migrations"):
        if (candidate / "env.py").exists():
            return candidate
    raise FileNotFoundError("migrations directory not found")


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if url is not None:
        rendered = sqlalchemy_url(url).set(drivername="postgresql+psycopg")
        config.attributes["url"] = rendered
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def is_at_head(url: str) -> bool:
    engine = create_engine(sqlalchemy_url(url), poolclass=None)
    try:
        with engine.connect() as connection:
            return current_revision(connection) == head_revision()
    finally:
        engine.dispose()
