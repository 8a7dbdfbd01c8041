"""The command line: version, migrate, doctor, and `serve` on the embedded defaults."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
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
from tests.support import TEST_RING_TEXT

runner = CliRunner()
KEY_TEXT = re.compile(r"\b(?:sk|pk|rk|ak)_(?:test|live)_[0-9A-Za-z]{40}\b")


def test_version() -> None:
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_doctor_reports_each_service(database_url: str) -> None:
    env = {
        "BEYONDPAY_DATABASE_URL": database_url,
        "BEYONDPAY_REDIS_URL": os.environ.get("BEYONDPAY_TEST_REDIS_URL", ""),
        "BEYONDPAY_NATS_URL": os.environ.get("BEYONDPAY_TEST_NATS_URL", ""),
        "BEYONDPAY_SECRET_KEYS": TEST_RING_TEXT,
    }
    env = {key: value for key, value in env.items() if value}
    result = runner.invoke(cli, ["doctor"], env=env)
    for name in (
        "database",
        "fsync",
        "synchronous_commit",
        "migrations",
        "key ring",
        "redis",
        "nats",
    ):
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


def _keys_in(output: str) -> dict[str, str]:
    """``{"sk_test": "sk_test_…", …}`` of the keys printed."""
    return {text[:7]: text for text in KEY_TEXT.findall(output)}


async def test_merchants_create_prints_keys_that_authenticate(
    database_url: str, client: httpx.AsyncClient
) -> None:
    env = {"BEYONDPAY_DATABASE_URL": database_url, "BEYONDPAY_SECRET_KEYS": TEST_RING_TEXT}

    def invoke(*args: str) -> str:
        result = runner.invoke(cli, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.output

    # The commands run their own event loop; a thread keeps it apart from the test's.
    output = await asyncio.to_thread(invoke, "merchants", "create", "--name", "Acme Retail")
    keys = _keys_in(output)
    assert set(keys) == {"sk_test", "pk_test", "sk_live", "pk_live"}
    merchant_id = re.search(r"acct_[0-9A-Za-z]{22}", output)
    assert merchant_id is not None

    def auth(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    assert (await client.get("/v1/customers", headers=auth(keys["sk_test"]))).status_code == 200
    live = await client.get("/v1/customers", headers=auth(keys["sk_live"]))
    assert live.json()["error"]["code"] == "account_not_active"
    publishable = await client.get("/v1/customers", headers=auth(keys["pk_test"]))
    assert publishable.json()["error"]["code"] == "secret_key_required"

    # The refusal names the command that activates the account: run it as written there.
    named = re.search(r"`beyondpay (merchants activate \S+)`", live.json()["error"]["message"])
    assert named is not None, live.json()["error"]["message"]
    assert named.group(1) == f"merchants activate {merchant_id.group(0)}"
    await asyncio.to_thread(invoke, *named.group(1).split())
    assert (await client.get("/v1/customers", headers=auth(keys["sk_live"]))).status_code == 200

    admin_output = await asyncio.to_thread(invoke, "admin-keys", "create", "--name", "ops")
    admin_key = KEY_TEXT.search(admin_output)
    assert admin_key is not None and admin_key.group(0).startswith("ak_live_")
    listed = await client.get("/v1/platform/merchants", headers=auth(admin_key.group(0)))
    assert [item["id"] for item in listed.json()["data"]] == [merchant_id.group(0)]


def test_the_dev_merchant_is_created_once(database_url: str, tmp_path: Path) -> None:
    from beyondpay.cli import ensure_dev_merchant
    from beyondpay.kit.crypto import KeyRing
    from beyondpay.kit.settings import Settings

    settings = Settings(data_dir=tmp_path, secret_keys=TEST_RING_TEXT)
    first = ensure_dev_merchant(settings, database_url)
    assert first["sk_test"].startswith("sk_test_") and first["pk_test"].startswith("pk_test_")
    assert (tmp_path / "dev_keys.json").stat().st_mode & 0o777 == 0o600
    assert ensure_dev_merchant(settings, database_url) == first
    # A reset ring (or database) leaves the file's keys dead: a new merchant replaces them.
    other_ring = Settings(data_dir=tmp_path, secret_keys=KeyRing.generate_entry("t2"))
    assert ensure_dev_merchant(other_ring, database_url)["merchant"] != first["merchant"]


def test_merchants_activate_of_an_unknown_merchant_fails(database_url: str) -> None:
    env = {"BEYONDPAY_DATABASE_URL": database_url, "BEYONDPAY_SECRET_KEYS": TEST_RING_TEXT}
    result = runner.invoke(cli, ["merchants", "activate", "acct_nobody"], env=env)
    assert result.exit_code == 1
    assert "resource_missing" in result.output


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
    lines: list[str] = []
    assert server.stdout is not None
    stdout = server.stdout
    # Read while it runs: the printed test key is used against the running server.
    reader = threading.Thread(
        target=lambda: lines.extend(line.decode() for line in stdout), daemon=True
    )
    reader.start()
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
        keys = _keys_in("".join(lines))
        assert set(keys) == {"sk_test", "pk_test"}, "".join(lines)
        customers = httpx.get(
            f"http://127.0.0.1:{port}/v1/customers",
            headers={"Authorization": f"Bearer {keys['sk_test']}"},
            timeout=10,
        )
        assert customers.status_code == 200, customers.text
        dev_keys = tmp_path / ".beyondpay" / "dev_keys.json"
        assert dev_keys.stat().st_mode & 0o777 == 0o600
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
        reader.join(timeout=10)
    output = "".join(lines)
    assert f"http://127.0.0.1:{port}/docs" in output
    assert server.returncode == 0, output


def test_api_processes_share_postgres_connections_under_max_connections(
    database_url: str,
) -> None:
    """Each API process's pool is cut so that all of them, the worker and a margin fit under
    the server's max_connections; a count that cannot fit is refused, naming the option."""
    import typer

    from beyondpay.cli import (
        API_JOB_CONNECTIONS_MAX,
        _server_connection_limits,
        api_connections_available,
        plan_processes,
    )
    from beyondpay.kit.settings import Settings

    settings = Settings(secret_keys=TEST_RING_TEXT)
    configured_total = settings.database_pool_size + settings.database_pool_max_overflow
    available = api_connections_available(*_server_connection_limits(database_url))
    assert plan_processes(settings, database_url, 1).pool_size == settings.database_pool_size
    for processes in (2, 5):
        plan = plan_processes(settings, database_url, processes)
        assert plan.api_processes == processes
        per_process = plan.pool_size + plan.pool_max_overflow + API_JOB_CONNECTIONS_MAX
        assert processes * per_process <= available
        assert plan.pool_size + plan.pool_max_overflow <= configured_total
        assert plan.pool_size >= 1
    with pytest.raises(typer.Exit):
        plan_processes(settings, database_url, available)


def _children(pid: int) -> dict[int, str]:
    """The live child processes of ``pid`` (Linux) and their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat[1]) == pid and stat[0] != "Z":
            found[int(entry.name)] = command
    return found


def _listening_sockets_of(pids: list[int], port: int) -> dict[int, int]:
    """How many established connections to ``port`` each process holds (Linux)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "01":
            inodes.add(fields[9])
    held = {}
    for pid in pids:
        try:
            links = [os.readlink(link) for link in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:  # replaced meanwhile (uvicorn restarts a process that stops answering)
            continue
        held[pid] = sum(1 for link in links if link[8:-1] in inodes)
    return held


@pytest.mark.slow
def test_serve_with_two_workers_answers_from_both_and_stops_cleanly(
    database_url: str, tmp_path: Path
) -> None:
    """`serve --workers 2`: two API processes answer on one port, the background worker runs
    once in a process of its own, and SIGTERM stops all of them."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEYONDPAY_")}
    env |= {
        "BEYONDPAY_DATABASE_URL": database_url,
        "BEYONDPAY_SECRET_KEYS": TEST_RING_TEXT,
        "BEYONDPAY_DATA_DIR": str(tmp_path),
        "BEYONDPAY_PORT": str(port),
    }
    beyondpay = Path(sys.executable).with_name("beyondpay")
    server = subprocess.Popen(
        [str(beyondpay), "serve", "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines: list[str] = []
    assert server.stdout is not None
    stdout = server.stdout
    reader = threading.Thread(
        target=lambda: lines.extend(line.decode() for line in stdout), daemon=True
    )
    reader.start()
    children: dict[int, str] = {}
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        api_processes: list[int] = []
        # Both processes must be up (a slow machine starts them one after the other), then each
        # must hold some of many concurrent connections: both answer.
        while time.monotonic() < deadline:
            children = _children(server.pid)
            api_processes = [pid for pid, command in children.items() if "spawn_main" in command]
            try:
                clients = [httpx.Client(base_url=base, timeout=10) for _ in range(16)]
                try:
                    statuses = [client.get("/readyz").status_code for client in clients]
                    held = _listening_sockets_of(api_processes, port)
                finally:
                    for client in clients:
                        client.close()
            except httpx.TransportError:
                statuses, held = [], {}
            if statuses == [200] * 16 and len(held) == 2 and all(held.values()):
                break
            time.sleep(0.5)
        output = "".join(lines)
        assert len(api_processes) == 2, (children, output)
        assert len(held) == 2 and all(held.values()), (held, output)
        workers = [pid for pid, command in children.items() if "beyondpay.cli worker" in command]
        assert len(workers) == 1, children
        assert "2 API processes + 1 worker process" in output
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=90)
        reader.join(timeout=10)
    output = "".join(lines)
    assert server.returncode == 0, output
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(pid) for pid in children):
        time.sleep(0.2)
    orphans = {pid: children[pid] for pid in children if _running(pid)}
    assert not orphans, orphans


def _running(pid: int) -> bool:
    """Not exited (a zombie has exited; its new parent reaps it whenever it does)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# ---- the data directory: every command finds the server's, or refuses -------------------------

ADMIN_COMMANDS = [
    ["merchants", "create", "--name", "Acme"],
    ["merchants", "activate", "acct_nobody"],
    ["admin-keys", "create"],
    ["migrate"],
    ["doctor"],
    ["ledger", "verify"],
    ["worker"],
]


@pytest.fixture
def no_configured_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with no .beyondpay/ at or above it, nothing configured."""
    from beyondpay.kit.settings import find_data_dir

    for name in list(os.environ):
        if name.startswith("BEYONDPAY_") and not name.startswith("BEYONDPAY_TEST_"):
            monkeypatch.delenv(name)
    if find_data_dir(tmp_path) is not None:
        pytest.skip(f"a .beyondpay/ above the temporary folder: {find_data_dir(tmp_path)}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return elsewhere


@pytest.mark.parametrize("command", ADMIN_COMMANDS, ids=lambda command: " ".join(command[:2]))
def test_admin_commands_refuse_to_make_a_second_database_and_ring(
    no_configured_data: Path, command: list[str]
) -> None:
    result = runner.invoke(cli, command)
    output = " ".join(result.output.split())
    assert result.exit_code == 1, output
    assert f"refused: the data directory would be {no_configured_data / '.beyondpay'}" in output
    assert "BEYONDPAY_DATA_DIR" in output
    assert not (no_configured_data / ".beyondpay").exists(), "nothing was created"


def test_a_data_dir_named_but_empty_is_refused_too(no_configured_data: Path) -> None:
    empty = no_configured_data / "typo"
    result = runner.invoke(
        cli, ["merchants", "create", "--name", "Acme"], env={"BEYONDPAY_DATA_DIR": str(empty)}
    )
    output = " ".join(result.output.split())
    assert result.exit_code == 1
    assert f"the data directory would be {empty} (BEYONDPAY_DATA_DIR)" in output
    assert "no embedded database" in output and "no development key ring" in output
    assert not empty.exists()


async def test_admin_commands_in_a_subfolder_use_the_projects_data(
    no_configured_data: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve` made the project's .beyondpay/ (here: its development ring, beside a configured
    database); a command run deeper in the project uses that ring, so its keys authenticate."""
    from beyondpay.db.session import Database
    from beyondpay.kit.settings import Settings
    from beyondpay.merchants.service import api_key_service

    project = no_configured_data / "project"
    ring = Settings(data_dir=project / ".beyondpay").key_ring()
    ring_text = (project / ".beyondpay" / "secret_keys").read_text()
    deep = project / "src" / "deep"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)

    def invoke(*args: str) -> str:
        result = runner.invoke(cli, list(args), env={"BEYONDPAY_DATABASE_URL": database_url})
        assert result.exit_code == 0, result.output
        return result.output

    keys = _keys_in(await asyncio.to_thread(invoke, "merchants", "create", "--name", "Acme"))
    admin = KEY_TEXT.search(await asyncio.to_thread(invoke, "admin-keys", "create"))
    assert admin is not None
    assert not (deep / ".beyondpay").exists()
    assert (project / ".beyondpay" / "secret_keys").read_text() == ring_text
    database = Database(database_url, pool_size=1, max_overflow=0)
    try:
        async with database.unit_of_work() as session:
            caller = await api_key_service.authenticate(session, ring, keys["sk_test"])
            assert caller.merchant_id is not None
            assert (await api_key_service.authenticate(session, ring, admin.group(0))).kind
    finally:
        await database.dispose()
