"""Checks of the database that ``beyondpay doctor`` reports, and refusals of unsafe settings."""

from __future__ import annotations

from typing import Final

from sqlalchemy import create_engine, text

from beyondpay.db.migrate import current_revision, head_revision
from beyondpay.db.urls import sqlalchemy_url
from beyondpay.kit.services import Check
from beyondpay.kit.settings import DATABASE_CONNECT_TIMEOUT_S

# Settings under which a committed payment can be lost on a crash: refused, never warned.
UNSAFE_SETTINGS: Final = {
    "fsync": ("off", "a crash can lose or corrupt committed transfers"),
    "synchronous_commit": ("off", "a crash can lose transactions already confirmed to callers"),
    "full_page_writes": ("off", "a crash can leave torn pages in the journal"),
}


def check_database(url: str) -> list[Check]:
    engine = create_engine(
        sqlalchemy_url(url), connect_args={"connect_timeout": DATABASE_CONNECT_TIMEOUT_S}
    )
    try:
        with engine.connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar_one()
            checks = [Check("database", True, f"PostgreSQL {version}")]
            for name, (bad, why) in UNSAFE_SETTINGS.items():
                value = connection.execute(text(f"SHOW {name}")).scalar_one()
                ok = value != bad
                checks.append(Check(name, ok, f"{value}" if ok else f"{value}: refused, {why}"))
            current, head = current_revision(connection), head_revision()
            checks.append(
                Check(
                    "migrations",
                    current == head,
                    f"at head ({head})"
                    if current == head
                    else f"database at {current}, code at {head}: run `beyondpay migrate`",
                )
            )
            return checks
    except Exception as exc:
        return [Check("database", False, f"unreachable ({type(exc).__name__})")]
    finally:
        engine.dispose()
