"""Payouts' jobs: a payout held by the cooling period sent when the hold ends; a deemed credit
confirmed by a status check; a NEFT payout settled at its batch by the rail's own report; a
payout whose process died between its phases finished by the job, paid once; every job run
twice does nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.payments.service import rail_answer_wait
from beyondpay.rails.service import settle_payout
from beyondpay.settlement.payouts.schedules import merchant_caller
from beyondpay.settlement.payouts.schemas import PayoutCreateParams
from beyondpay.settlement.payouts.service import payout_service
from beyondpay.settlement.payouts.tasks import advance_on, reconcile_due_payouts
from tests.payments.support import get
from tests.settlement.payouts.support import (
    AVAILABLE,
    bank_account,
    consistent,
    created,
    payout_events,
    ready,
)
from tests.support import TestMerchant


class _Killed(Exception):
    """The process dies right after its recovery point committed."""


class _DiesAfterCheckpoint:
    recovery_point = "started"

    def __init__(self, session: object) -> None:
        self.session = session

    async def checkpoint(self, recovery_point: str) -> None:
        await self.session.commit()  # type: ignore[attr-defined]
        raise _Killed(recovery_point)


async def _queued_sends(database: Database, payout_id: str) -> int:
    async with database.unit_of_work() as session:
        count = await session.execute(
            text(
                "SELECT count(*) FROM procrastinate_jobs"
                " WHERE task_name = 'settlement_payouts:send_payout'"
                " AND args->>'payout_id' = :id"
            ),
            {"id": payout_id},
        )
        return int(count.scalar_one())


async def test_a_held_payout_is_sent_by_the_job_when_the_hold_ends(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    await ready(client, merchant, database)
    await bank_account(
        client,
        merchant,
        database,
        hold=True,
        account_number="000987654321",
        default_for_currency="true",
    )
    payout = await created(client, merchant, amount="3000")
    assert payout["status"] == "pending"
    assert await _queued_sends(database, payout["id"]) == 1
    # Before the hold ends the job leaves it waiting, however often it runs.
    assert await advance_on(database, payout["id"]) == "pending"
    assert await reconcile_due_payouts(database) == 0
    later = FrozenClock(datetime.now(UTC) + timedelta(days=1, minutes=1))
    with use_clock(later):
        assert await reconcile_due_payouts(database) == 1
        assert await reconcile_due_payouts(database) == 0  # twice: nothing twice
        assert await advance_on(database, payout["id"]) == "paid"
    assert (await get(client, merchant, f"/v1/payouts/{payout['id']}"))["status"] == "paid"
    assert await payout_events(database, payout["id"]) == [
        "payout.created",
        "payout.updated",
        "payout.paid",
    ]
    assert await consistent(client, merchant, database) == AVAILABLE - 3_000


async def test_a_deemed_payout_is_confirmed_by_a_status_check(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    await ready(client, merchant, database, account_number="000555555553")
    payout = await created(client, merchant, amount="3000")
    assert payout["status"] == "in_transit"
    assert await reconcile_due_payouts(database) == 0  # not before the rail's 90 s
    with use_clock(FrozenClock(datetime.now(UTC) + timedelta(seconds=91))):
        assert await reconcile_due_payouts(database) == 1
        assert await reconcile_due_payouts(database) == 0
    assert (await get(client, merchant, f"/v1/payouts/{payout['id']}"))["status"] == "paid"
    assert await payout_events(database, payout["id"]) == [
        "payout.created",
        "payout.updated",
        "payout.updated",
        "payout.paid",
    ]
    assert await consistent(client, merchant, database) == AVAILABLE - 3_000


async def test_a_neft_payout_is_paid_at_its_batch_by_the_rails_report(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    await ready(client, merchant, database)
    payout = await created(client, merchant, amount="3000", rail="neft")
    assert payout["status"] == "in_transit" and payout["rail"] == "neft"
    async with database.unit_of_work() as session:
        reference = (
            await session.execute(
                text("SELECT rail_reference FROM payouts WHERE id = :id"), {"id": payout["id"]}
            )
        ).scalar_one()
    batch = datetime.fromtimestamp(payout["arrival_date"], UTC)
    for _ in range(2):  # the rail's report twice: told once
        with use_clock(FrozenClock(batch + timedelta(seconds=1))):
            async with database.unit_of_work() as session:
                await settle_payout(session, str(reference))
    assert (await get(client, merchant, f"/v1/payouts/{payout['id']}"))["status"] == "paid"
    assert (await payout_events(database, payout["id"])).count("payout.paid") == 1
    assert await consistent(client, merchant, database) == AVAILABLE - 3_000


async def test_a_payout_killed_between_its_phases_is_finished_once_by_the_job(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    await ready(client, merchant, database)
    caller = merchant_caller(merchant.id, False)
    params = PayoutCreateParams(amount=3000, currency="inr")
    async with database.sessionmaker() as session:
        with pytest.raises(_Killed):
            await payout_service.create(session, caller, params, _DiesAfterCheckpoint(session))
    (listed,) = (await get(client, merchant, "/v1/payouts"))["data"]
    assert listed["status"] == "pending"  # the money left available; the rail never answered
    assert await consistent(client, merchant, database) == AVAILABLE - 3_000
    assert await reconcile_due_payouts(database) == 0  # its answer may still be coming
    after = FrozenClock(datetime.now(UTC) + rail_answer_wait() + timedelta(seconds=1))
    with use_clock(after):
        assert await reconcile_due_payouts(database) == 1
        assert await reconcile_due_payouts(database) == 0
        assert await advance_on(database, listed["id"]) == "paid"
    assert (await get(client, merchant, f"/v1/payouts/{listed['id']}"))["status"] == "paid"
    assert (await payout_events(database, listed["id"])).count("payout.paid") == 1
    assert await consistent(client, merchant, database) == AVAILABLE - 3_000
