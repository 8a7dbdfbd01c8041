"""The issue's check: a week of the sandbox rails' files, with every fault injected each day,
reconciled day after day. Every injected fault is found and classified as injected, nothing
else is flagged, and the mismatch figure is printed (docs/settlement.md records it)."""

from __future__ import annotations

from datetime import date, timedelta

import httpx

from beyondpay.db.session import Database
from tests.settlement.reconciliation.support import (
    ALL_FAULTS,
    admin_headers,
    exceptions,
    run,
    trade_day,
)
from tests.support import TestMerchant

MONDAY = date(2026, 11, 2)
WEEK_DAYS = 7
# A day's card payments in the week: enough lines that the faults are a share of them.
WEEK_PAYMENTS_A_DAY = 20


async def test_a_week_of_files_with_faults_every_fault_found_and_nothing_else(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    admin = await admin_headers(database)
    days = [MONDAY + timedelta(days=offset) for offset in range(WEEK_DAYS)]
    for day in days:
        await trade_day(client, database, merchant, day, WEEK_PAYMENTS_A_DAY)
    # The day after the week receives the week's last late line.
    runs = [await run(client, admin, day, ALL_FAULTS) for day in [*days, days[-1] + timedelta(1)]]

    injected = {
        (fault["kind"], fault["file"], fault["key"], fault["business_date"])
        for week_run in runs
        for fault in week_run["faults_injected"]
    }
    recorded = await exceptions(client, admin)
    # A line held back to the next day is missing from its own day's file until it arrives:
    # its arrival (the `late` break) resolves that, and only that.
    arrived = [e for e in recorded if e["resolved_by"] == "reconciliation"]
    late_keys = {key for kind, _, key, _ in injected if kind == "late"}
    assert {e["reference"] for e in arrived} == late_keys
    assert all(e["kind"] == "missing_from_file" for e in arrived)
    found = {
        (e["kind"], e["file"], e["reference"], e["business_date"])
        for e in recorded
        if e["resolved_by"] != "reconciliation"
    }
    assert found == injected
    kinds = {kind for kind, *_ in injected}
    assert kinds == set(ALL_FAULTS)
    assert all(e["status"] == "open" for e in recorded if e["resolved_by"] is None)

    lines = sum(week_run["lines"] for week_run in runs)
    unmatched = sum(week_run["unmatched"] for week_run in runs)
    missing = sum(week_run["missing"] for week_run in runs)
    ppm = (unmatched + missing) * 1_000_000 // (lines + missing)
    for week_run in runs:
        print(
            f"reconciliation {week_run['business_date']}: lines={week_run['lines']}"
            f" matched={week_run['matched']} unmatched={week_run['unmatched']}"
            f" missing={week_run['missing']} mismatch_ppm={week_run['mismatch_ppm']}"
        )
    print(
        f"reconciliation week: lines={lines} unmatched={unmatched} missing={missing}"
        f" faults_injected={len(injected)} mismatch_ppm={ppm}"
    )
    assert 0 < ppm < 1_000_000


async def test_a_clean_week_flags_nothing(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    admin = await admin_headers(database)
    days = [MONDAY + timedelta(days=offset) for offset in range(2)]
    for day in days:
        await trade_day(client, database, merchant, day)
    for day in days:
        clean = await run(client, admin, day)
        assert clean["mismatch_ppm"] == 0 and clean["exceptions_opened"] == 0
        assert clean["lines"] == clean["matched"] == 7  # 4 captures, 1 refund, 2 payouts
        assert clean["unmatched"] == clean["missing"] == 0
    assert await exceptions(client, admin) == []
