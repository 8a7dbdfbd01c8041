"""`beyondpay reconciliation run DATE`: the operator's command reconciles a day as the route
does (refunds' records wired in) and prints the run's counts."""

from __future__ import annotations

import asyncio

import httpx
from typer.testing import CliRunner

from beyondpay.cli import cli
from beyondpay.db.session import Database
from tests.settlement.reconciliation.support import trade_day
from tests.settlement.reconciliation.test_week import MONDAY
from tests.support import TEST_RING_TEXT, TestMerchant

runner = CliRunner()


async def test_the_command_reconciles_a_clean_day(
    database_url: str, client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    await trade_day(client, database, merchant, MONDAY)
    env = {"BEYONDPAY_DATABASE_URL": database_url, "BEYONDPAY_SECRET_KEYS": TEST_RING_TEXT}
    result = await asyncio.to_thread(
        runner.invoke, cli, ["reconciliation", "run", MONDAY.isoformat()], env=env
    )
    assert result.exit_code == 0, result.output
    printed = " ".join(result.output.split())  # the console wraps long lines
    assert "lines=7 matched=7 unmatched=0 missing=0 mismatch_ppm=0" in printed
    refused = await asyncio.to_thread(
        runner.invoke, cli, ["reconciliation", "run", "2026-13-01"], env=env
    )
    assert refused.exit_code == 2 and "YYYY-MM-DD" in refused.output
