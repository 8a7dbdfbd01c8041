"""`beyondpay serve` on the embedded default stops what it starts: SIGTERM (systemd, Docker)
and Ctrl-C stop the embedded PostgreSQL; after a SIGKILL the next `serve` takes the server over
and stops it on exit; a second `serve` on the same data is refused while one runs.

Each test runs real processes on one project folder (initialized once, by the first), so the
module runs in one xdist group, in order, bounded in time."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("serve_lifecycle"),
    pytest.mark.timeout(120),
]

READY_S_MAX = 60.0
STOP_S_MAX = 30.0
KEY_TEXT_PREFIXES = ("sk_test_", "pk_test_", "sk_live_", "pk_live_")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(**extra: str) -> dict[str, str]:
    """Nothing configured (the embedded default), as on a newcomer's machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEYONDPAY_")}
    return env | extra


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("project")
    (folder / "src").mkdir()
    yield folder
    # Whatever a failed test left running is stopped, so no server outlives the run.
    pid = _postgres_pid(folder)
    if pid is not None and _running(pid):
        os.kill(pid, signal.SIGINT)  # PostgreSQL's fast shutdown


class Serve:
    def __init__(self, project: Path, port: int, *args: str, env: dict[str, str] | None = None):
        self.port = port
        self.log = project / f"serve-{port}.log"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "beyondpay.cli", "serve", "--workers", "1", *args],
                cwd=project,
                env=env or _environment(BEYONDPAY_PORT=str(port)),
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_S_MAX
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                answer = httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2)
                if answer.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"not ready within {READY_S_MAX} s:\n{self.output()}")

    def stop(self, sent: signal.Signals) -> int:
        self.process.send_signal(sent)
        return self.process.wait(timeout=STOP_S_MAX)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_S_MAX)


def _postgres_pid(project: Path) -> int | None:
    try:
        return int((project / ".beyondpay" / "pgdata" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _assert_gone(pid: int) -> None:
    deadline = time.monotonic() + STOP_S_MAX
    while time.monotonic() < deadline and _running(pid):
        time.sleep(0.2)
    assert not _running(pid), f"the embedded PostgreSQL (pid {pid}) is still running"


def _handles(project: Path) -> list[int]:
    listed: list[int] = json.loads(
        (project / ".beyondpay" / "pgdata" / ".handle_pids.json").read_text()
    )
    return listed


def test_sigterm_stops_the_embedded_postgres_and_a_second_serve_is_refused(
    project: Path,
) -> None:
    port = _free_port()
    # --port wins over BEYONDPAY_PORT, for the address it listens on and the links it gives.
    server = Serve(project, port, "--port", str(port), env=_environment(BEYONDPAY_PORT="1"))
    try:
        server.wait_ready()
        postgres = _postgres_pid(project)
        assert postgres is not None and _running(postgres)

        second = subprocess.run(
            [sys.executable, "-m", "beyondpay.cli", "serve", "--port", str(_free_port())],
            cwd=project,
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=STOP_S_MAX,
            check=False,
        )
        said = " ".join(second.stdout.split())
        assert second.returncode == 1, said + second.stderr
        assert f"already running on the data in {project / '.beyondpay'}" in said
        assert f"(pid {server.process.pid})" in said
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200

        key = json.loads((project / ".beyondpay" / "dev_keys.json").read_text())["sk_test"]
        intent = httpx.post(
            f"http://127.0.0.1:{port}/v1/payment_intents",
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": str(uuid.uuid4())},
            data={
                "amount": "2000",
                "currency": "inr",
                "payment_method": "pm_card_threeDSecure2Required",
                "confirm": "true",
                "return_url": "https://shop.example/done",
            },
            timeout=30,
        )
        assert intent.status_code == 200, intent.text
        link = httpx.URL(intent.json()["next_action"]["redirect_to_url"]["url"])
        assert (link.host, link.port) == ("127.0.0.1", port)

        assert server.stop(signal.SIGTERM) == 0, server.output()
        _assert_gone(postgres)
        assert _handles(project) == []
    finally:
        server.kill()


@pytest.fixture
def served_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A project of its own that `serve` has run in once (its .beyondpay/ made), so that the
    test using it does not depend on another test having run before it on the same worker. A
    short path, as the module's: the embedded server's socket path must fit in 107 bytes."""
    folder = tmp_path_factory.mktemp("served")
    (folder / "src").mkdir()
    server = Serve(folder, _free_port())
    try:
        server.wait_ready()
        assert server.stop(signal.SIGTERM) == 0, server.output()
    finally:
        server.kill()
    yield folder
    pid = _postgres_pid(folder)
    if pid is not None and _running(pid):
        os.kill(pid, signal.SIGINT)  # PostgreSQL's fast shutdown


def test_an_admin_command_in_a_subfolder_uses_the_servers_database(served_project: Path) -> None:
    """Run from src/, `merchants create` finds the project's .beyondpay/ (the embedded database
    `serve` made, its ring), makes no second one, and stops the server it started."""
    project = served_project
    ring = (project / ".beyondpay" / "secret_keys").read_text()
    created = subprocess.run(
        [sys.executable, "-m", "beyondpay.cli", "merchants", "create", "--name", "Acme"],
        cwd=project / "src",
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=READY_S_MAX,
        check=False,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    assert all(prefix in created.stdout for prefix in KEY_TEXT_PREFIXES)
    assert not (project / "src" / ".beyondpay").exists()
    assert (project / ".beyondpay" / "secret_keys").read_text() == ring
    assert _postgres_pid(project) is None, "the server the command started is stopped"


def test_after_sigkill_the_next_serve_takes_over_and_stops_on_ctrl_c(project: Path) -> None:
    port = _free_port()
    killed = Serve(project, port)
    try:
        killed.wait_ready()
        postgres = _postgres_pid(project)
        assert postgres is not None
        killed.kill()  # SIGKILL: no finally, no atexit; its pid stays in the handles file
        assert _running(postgres) and _handles(project) == [killed.process.pid]
    finally:
        killed.kill()

    server = Serve(project, port)
    try:
        server.wait_ready()
        assert _postgres_pid(project) == postgres, "the running server is taken over"
        assert _handles(project) == [server.process.pid]
        server.stop(signal.SIGINT)
        _assert_gone(postgres)
    finally:
        server.kill()
