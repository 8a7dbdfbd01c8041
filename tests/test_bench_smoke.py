"""Every benchmark runs, briefly (``--smoke``), so a benchmark that breaks fails CI. No figure is
asserted: on a shared CI machine the figures of a one-second run mean nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Final

import psycopg
import pytest

from beyondpay.db.urls import libpq_url

BENCH: Final = Path(__file__).resolve().parents[1] / "bench"
BENCH_SCRIPTS: Final = ("ledger", "api", "payments", "risk", "webhooks", "psp")
SMOKE_RUN_S_MAX: Final = 240


def test_every_bench_script_is_smoked() -> None:
    assert {path.stem for path in BENCH.glob("*.py")} - {"bench_support"} == set(BENCH_SCRIPTS)


@pytest.mark.slow
# One at a time: each starts servers and load generators, and two at once beside the rest of
# the suite turn a two-core machine's storms of requests into connection timeouts.
@pytest.mark.xdist_group("bench_smoke")
@pytest.mark.parametrize("script", BENCH_SCRIPTS)
def test_bench_runs_in_smoke_mode(script: str, postgres_server_url: str) -> None:
    suffix = f"_smoke_{uuid.uuid4().hex[:8]}"
    env = {name: value for name, value in os.environ.items() if not name.startswith("BEYONDPAY_")}
    src = str(BENCH.parent / "src")
    env |= {
        "BEYONDPAY_DATABASE_URL": postgres_server_url,
        "BEYONDPAY_BENCH_DATABASE_SUFFIX": suffix,
        "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])),
    }
    if redis_url := os.environ.get("BEYONDPAY_TEST_REDIS_URL"):
        env["BEYONDPAY_REDIS_URL"] = redis_url
    try:
        run = subprocess.run(
            [sys.executable, str(BENCH / f"{script}.py"), "--smoke"],
            env=env,
            cwd=BENCH.parent,
            capture_output=True,
            text=True,
            timeout=SMOKE_RUN_S_MAX,
            check=False,
        )
    finally:
        _drop_databases_ending(postgres_server_url, suffix)
    assert run.returncode == 0, f"bench/{script}.py --smoke:\n{run.stdout}\n{run.stderr}"


def _drop_databases_ending(server_url: str, suffix: str) -> None:
    with psycopg.connect(libpq_url(server_url), autocommit=True) as connection:
        names = connection.execute(
            "SELECT datname FROM pg_database WHERE right(datname, %s) = %s", (len(suffix), suffix)
        ).fetchall()
        for (name,) in names:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
