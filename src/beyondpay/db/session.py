"""The database handle: an async engine on psycopg 3 and units of work.

A use case runs in one unit of work: one transaction, committed when the block ends without an
error and rolled back otherwise. Services never commit; the request or the job owns the unit.
"""

from __future__ import annotations

import select
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from sqlalchemy import event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from beyondpay.db.urls import libpq_url, sqlalchemy_url
from beyondpay.kit.settings import DATABASE_CONNECT_TIMEOUT_S


def _socket_readable(fileno: int) -> bool:
    readable, _, _ = select.select([fileno], [], [], 0)
    return bool(readable)


def _refuse_closed_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Replaces a pooled connection the server has closed, without a round trip.

    An idle connection has nothing to read: PostgreSQL speaks only when asked (this pool never
    LISTENs). When the server stops, restarts or ends the backend, it sends a FATAL notice and
    closes the socket, so the socket turns readable. The pool then opens a new connection in
    this one's place (the same path ``pool_pre_ping`` takes, minus its ``SELECT 1`` per
    checkout). A connection whose peer vanished without closing is not detected here; the
    request using it fails and the pool drops it, as it would after a failed ping.
    """
    driver = dbapi_connection.driver_connection
    if driver.closed or _socket_readable(driver.fileno()):
        raise DisconnectionError("the server closed this connection")


class Database:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 10,
        pool_timeout_s: float = 30.0,
        connect_timeout_s: int = DATABASE_CONNECT_TIMEOUT_S,
        application_name: str = "beyondpay",
    ) -> None:
        self.url = sqlalchemy_url(url)
        self.engine: AsyncEngine = create_async_engine(
            self.url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout_s,
            # No pre-ping (a round trip per checkout): a checkout looks at the socket instead.
            pool_pre_ping=False,
            pool_recycle=1800,
            connect_args={
                "connect_timeout": connect_timeout_s,
                "application_name": application_name,
            },
        )
        event.listen(self.engine.sync_engine.pool, "checkout", _refuse_closed_connection)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def libpq_url(self) -> str:
        return libpq_url(self.url)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One transaction: commits on success, rolls back on any exception."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as connection:
            yield connection

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


_DRIVER_OF_TRANSACTION = "beyondpay.driver_connection"


async def driver_connection(session: AsyncSession) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection under a session's transaction (for procrastinate, COPY, and the
    statements of the request path that skip SQLAlchemy). Remembered for the transaction: a
    session keeps one connection until its transaction ends, and asking SQLAlchemy again costs
    a greenlet switch each time."""
    transaction = session.sync_session.get_transaction()
    remembered = session.info.get(_DRIVER_OF_TRANSACTION)
    if transaction is not None and remembered is not None and remembered[0] is transaction:
        return remembered[1]  # type: ignore[no-any-return]
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if not isinstance(driver, psycopg.AsyncConnection):
        raise TypeError("beyondpay needs the psycopg async driver")
    session.info[_DRIVER_OF_TRANSACTION] = (session.sync_session.get_transaction(), driver)
    return driver
