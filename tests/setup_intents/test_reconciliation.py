"""A confirmation whose process died between its phases (after the recovery point, before the
card network's answer was applied) is finished by the reconciliation job: the network is asked
again with the same request id, which it answers once."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text

from beyondpay.db.phases import STARTED
from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, get_clock, use_clock
from beyondpay.merchants.domain import Caller, KeyKind, MerchantStatus
from beyondpay.setup_intents.schemas import SetupIntentCreateParams
from beyondpay.setup_intents.service import setup_intent_service
from beyondpay.setup_intents.tasks import reconcile_due_setup_intents
from tests.payments.support import get
from tests.support import TestMerchant, ring_for_tests


class _Died(Exception):
    pass


class _DiesAfterRecoveryPoint:
    """Phases whose process dies right after committing the recovery point."""

    def __init__(self, session: object) -> None:
        self.session = session
        self.recovery_point = STARTED

    async def checkpoint(self, recovery_point: str) -> None:
        await self.session.commit()  # type: ignore[attr-defined]
        raise _Died()


async def test_a_verification_never_applied_is_finished_by_the_job(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    caller = Caller(
        key_id="key_test",
        kind=KeyKind.secret,
        livemode=False,
        merchant_id=merchant.id,
        merchant_status=MerchantStatus.active,
    )
    params = SetupIntentCreateParams.model_validate(
        {"payment_method": "pm_card_visa", "confirm": True}
    )
    async with database.sessionmaker() as session:
        with pytest.raises(_Died):
            await setup_intent_service.create(
                session, caller, ring_for_tests(), params, _DiesAfterRecoveryPoint(session)
            )
    async with database.unit_of_work() as session:
        intent_id, operation = (
            await session.execute(
                text("SELECT id, rail_operation FROM setup_intents WHERE merchant_id = :m"),
                {"m": merchant.id},
            )
        ).one()
    assert operation == "verify"
    busy = await client.post(f"/v1/setup_intents/{intent_id}/cancel", headers=merchant.auth())
    assert busy.status_code == 429 and busy.json()["error"]["code"] == "lock_timeout"
    assert await reconcile_due_setup_intents(database) == 0, "not due before the answer wait"
    with use_clock(FrozenClock(get_clock().now() + timedelta(minutes=5))):
        assert await reconcile_due_setup_intents(database) == 1
        assert await reconcile_due_setup_intents(database) == 0
    intent = await get(client, merchant, f"/v1/setup_intents/{intent_id}")
    assert intent["status"] == "succeeded"
