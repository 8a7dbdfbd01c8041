"""Alembic environment: online migrations only, serialized by an advisory lock."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from beyondpay.db.migrate import MIGRATION_LOCK_KEY

config = context.config
url = config.attributes.get("url")
if url is None:
    from beyondpay.db.urls import sqlalchemy_url
    from beyondpay.kit.settings import get_settings

    configured = get_settings().database_url_value()
    if configured is None:
        raise SystemExit("set BEYONDPAY_DATABASE_URL, or run `beyondpay migrate`")
    url = sqlalchemy_url(configured)

engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    connection.commit()
    try:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
        connection.commit()
engine.dispose()
