"""The embedded server: started from the wheel, reused, and survived by a running API."""

from __future__ import annotations

from pathlib import Path

import httpx

from beyondpay.app import create_app
from beyondpay.db.embedded import EmbeddedPostgres
from beyondpay.db.migrate import upgrade
from beyondpay.kit.settings import Settings


async def _ready(http: httpx.AsyncClient) -> httpx.Response:
    return await http.get("/readyz")


async def test_readyz_reports_a_stopped_database_and_recovers(tmp_path: Path) -> None:
    embedded = EmbeddedPostgres(tmp_path)
    restarted = EmbeddedPostgres(tmp_path)
    url = embedded.start()
    try:
        upgrade(url)
        app = create_app(Settings(), url)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                assert (await _ready(http)).status_code == 200

                embedded.stop()
                down = await _ready(http)
                assert down.status_code == 503
                assert down.json()["reason"].startswith("database: unreachable")
                assert "postgres" not in down.json()["reason"].lower().split("(")[0]

                # Same data directory, same socket: the pool reconnects by itself.
                assert restarted.start() == url
                assert (await _ready(http)).status_code == 200
    finally:
        embedded.stop()
        restarted.stop()


def test_data_is_kept_across_restarts(tmp_path: Path) -> None:
    import psycopg

    from beyondpay.db.urls import libpq_url

    first = EmbeddedPostgres(tmp_path)
    url = first.start()
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        connection.execute("CREATE TABLE kept (n int)")
        connection.execute("INSERT INTO kept VALUES (7)")
    first.stop()
    second = EmbeddedPostgres(tmp_path)
    try:
        with psycopg.connect(libpq_url(second.start())) as connection:
            row = connection.execute("SELECT n FROM kept").fetchone()
        assert row == (7,)
    finally:
        second.stop()
