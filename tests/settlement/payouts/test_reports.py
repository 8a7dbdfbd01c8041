"""Payouts in Stripe's reports: ``payouts.itemized.1`` lists the merchant's payouts, and
``reconciliation.itemized.1`` names the automatic payout each balance transaction went out in
(the window's payout for what became available in the window; nothing for the rest)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.payments.tasks import release_funds
from beyondpay.reporting.domain import decimal
from beyondpay.reporting.tasks import run_report_on
from beyondpay.settlement.payouts.schedules import payout_schedule_service
from beyondpay.settlement.payouts.service import automatic_payout_id
from beyondpay.settlement.payouts.tasks import advance_on
from beyondpay.settlement.windows.tasks import close_due_windows
from tests.payments.support import get, pay, post
from tests.settlement.payouts.support import AVAILABLE, bank_account
from tests.settlement.windows.support import ist
from tests.support import TestMerchant

MONDAY_CUT_OFF = ist(2026, 12, 14, 18, 0)
TUESDAY_ETA = ist(2026, 12, 15, 11, 0)
WEDNESDAY = ist(2026, 12, 16, 12, 0)


async def _report(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, report_type: str
) -> list[dict[str, str]]:
    interval = {
        "parameters[interval_start]": str(int(ist(2026, 12, 12, 0, 0).timestamp())),
        "parameters[interval_end]": str(int(WEDNESDAY.timestamp())),
    }
    with use_clock(FrozenClock(WEDNESDAY + timedelta(hours=1))):
        created = await post(
            client, merchant, "/v1/reporting/report_runs", report_type=report_type, **interval
        )
        assert created.status_code == 200, created.text
        await run_report_on(database, created.json()["id"])
        done: dict[str, Any] = await get(
            client, merchant, f"/v1/reporting/report_runs/{created.json()['id']}"
        )
    assert done["status"] == "succeeded", done
    contents = await client.get(done["result"]["url"], headers=merchant.auth())
    assert contents.status_code == 200, contents.text
    return list(csv.DictReader(io.StringIO(contents.text)))


async def test_reports_name_the_automatic_payout_of_each_transaction(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    with use_clock(FrozenClock(ist(2026, 12, 12, 10, 30))):  # available Monday 10:30
        paid = await pay(client, merchant, payment_method="pm_card_visa")
    await bank_account(client, merchant, database)
    with use_clock(FrozenClock(ist(2026, 12, 14, 9, 0))):
        async with database.unit_of_work() as session:
            await payout_schedule_service.update(
                session, merchant.id, False, interval="daily", delay_days=1
            )
    with use_clock(FrozenClock(ist(2026, 12, 14, 12, 0))):
        assert await release_funds(database) == 1
    with use_clock(FrozenClock(MONDAY_CUT_OFF + timedelta(seconds=31))):
        assert await close_due_windows(database) == ["sw_t1_202612141800"]
    payout_id = automatic_payout_id(merchant.id, False, "sw_t1_202612141800")
    with use_clock(FrozenClock(TUESDAY_ETA)):
        assert await advance_on(database, payout_id) == "paid"

    itemized = await _report(client, merchant, database, "reconciliation.itemized.1")
    by_source = {row["source_id"]: row for row in itemized}
    assert by_source[paid["latest_charge"]]["automatic_payout_id"] == payout_id
    # The payout's own balance transaction went out in no payout.
    assert by_source[payout_id]["automatic_payout_id"] == ""

    payouts = await _report(client, merchant, database, "payouts.itemized.1")
    assert [(row["payout_id"], row["amount"], row["status"]) for row in payouts] == [
        (payout_id, decimal(AVAILABLE), "paid")
    ]
    assert payouts[0]["automatic"] == "true"
    assert payouts[0]["settlement_window"] == "sw_t1_202612141800"
    assert payouts[0]["arrival_date_utc"] == "2026-12-15 05:30:00"  # 11:00 IST
    assert len(payouts[0]["trace_id"]) == 12  # the IMPS RRN
