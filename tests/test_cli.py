"""The command line: version, migrate, doctor, and `serve` on the embedded defaults."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from beyondpay import __version__
from beyondpay.cli import cli
from beyondpay.db.urls import libpq_url

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_doctor_reports_each_service(database_url: str) -> None:
    env = {
        "BEYONDPAY_DATABASE_URL": database_url,
        "BEYONDPAY_REDIS_URL": os.environ.get("BEYONDPAY_TEST_REDIS_URL", ""),
        "BEYONDPAY_NATS_URL": os.environ.get("BEYONDPAY_TEST_NATS_URL", ""),
    }
    env = {key: value for key, value in env.items() if value}
    result = runner.invoke(cli, ["doctor"], env=env)
    for name in ("database", "fsync", "synchronous_commit", "migrations", "redis", "nats"):
        assert name in result.output
    assert "at head" in result.output
    assert result.exit_code == 0, result.output


def test_doctor_refuses_unsafe_commit_settings(database_url: str) -> None:
    name = make_url(database_url).database
    with psycopg.connect(libpq_url(database_url), autocommit=True) as connection:
        connection.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    result = runner.invoke(cli, ["doctor"], env={"BEYONDPAY_DATABASE_URL": database_url})
    assert result.exit_code == 1
    assert "refused" in result.output
    assert "synchronous_commit" in result.output


def test_doctor_fails_on_an_unreachable_redis(database_url: str) -> None:
    result = runner.invoke(
        cli,
        ["doctor"],
        env={"BEYONDPAY_DATABASE_URL": database_url, "BEYONDPAY_REDIS_URL": "redis://127.0.0.1:1"},
    )
    assert result.exit_code == 1
    assert "unreachable" in result.output


def test_migrate_brings_an_empty_database_to_head(postgres_server_url: str) -> None:
    import uuid

    from beyondpay.db.migrate import head_revision, is_at_head
    from beyondpay.db.urls import with_database

    name = f"beyondpay_migrate_{uuid.uuid4().hex[:8]}"
    admin = libpq_url(postgres_server_url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = with_database(postgres_server_url, name).render_as_string(hide_password=False)
    try:
        assert not is_at_head(url)
        result = runner.invoke(cli, ["migrate"], env={"BEYONDPAY_DATABASE_URL": url})
        assert result.exit_code == 0, result.output
        assert is_at_head(url)
        assert str(head_revision()) in result.output
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_serve_on_embedded_defaults_is_ready_within_a_minute(tmp_path: Path) -> None:
    """What `make run` does on a fresh machine: no environment, embedded PostgreSQL."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEYONDPAY_")}
    env["BEYONDPAY_PORT"] = str(port)
    beyondpay = Path(sys.executable).with_name("beyondpay")
    server = subprocess.Popen(
        [str(beyondpay), "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and status != 200:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code
            except httpx.TransportError:
                time.sleep(0.3)
        assert status == 200
        assert (tmp_path / ".beyondpay" / "pgdata" / "PG_VERSION").exists()
    finally:
        server.send_signal(signal.SIGINT)
        output = server.communicate(timeout=60)[0].decode()
    assert f"http://127.0.0.1:{port}/docs" in output
    assert server.returncode == 0, output
