"""Risk before the switch in the PSP (issue #8): a payment far above the payer's usual from a
device bound today is challenged, and goes through only with the payer's passkey (step-up);
the verdict is stored once per payment, so the retry with the passkey is judged the same."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from tests.psp.authenticator import SoftwareAuthenticator
from tests.psp.test_passkeys import register_passkey, step_up
from tests.psp.transfers_support import balance, pay, ready_payer

OPENING_BALANCE = 1_00_000_00


async def test_a_spike_from_a_new_device_needs_the_passkey(
    client: httpx.AsyncClient, database: Database
) -> None:
    authenticator = SoftwareAuthenticator()
    asha = await ready_payer(client)
    await register_passkey(client, asha.payer, authenticator)
    ravi = await ready_payer(client, name="Ravi Kumar")
    assert (await pay(client, asha, 100_00, vpa=ravi.vpa)).status_code == 200

    request_id = uuid.uuid4().hex
    challenged = await pay(client, asha, 1_000_00, vpa=ravi.vpa, request_id=request_id)
    assert challenged.status_code == 402, challenged.text
    assert challenged.json()["error"]["code"] == "step_up_required"
    assert challenged.json()["error"]["type"] == "card_error"  # a decline, as Stripe's 3-D Secure
    assert await balance(client, ravi) == OPENING_BALANCE + 100_00

    answered = await pay(
        client,
        asha,
        1_000_00,
        vpa=ravi.vpa,
        request_id=request_id,
        step_up=await step_up(client, asha.payer, authenticator),
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "succeeded"
    assert await balance(client, ravi) == OPENING_BALANCE + 1_100_00

    async with database.unit_of_work() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT decision, rules FROM risk_assessments"
                    " WHERE scope = :payer AND payment_id = :id"
                ),
                {"payer": asha.payer.payer_id, "id": request_id},
            )
        ).all()
    [(decision, rules)] = rows
    assert decision == "challenge"
    assert any(rule["id"] == "default_new_device_spike" for rule in rules)
