"""Limits hold under a race: 50 parallel ₹30,000 payments from one payer, each on its own
connection, against the ₹1,00,000 P2P daily limit — exactly 3 succeed, and the payer's bank
account is debited exactly ₹90,000. The payer's limit counter of the day is locked by each
payment until it commits, so no two payments check the limit against the same total."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import httpx
import pytest

from beyondpay.kit.settings import Settings
from tests.psp.authenticator import SoftwareAuthenticator
from tests.psp.support import post
from tests.psp.test_passkeys import register_passkey, step_up
from tests.psp.transfers_support import PIN, balance, pay, ready_payer
from tests.support import TEST_RING_TEXT

PAYMENTS_RACING = 50
AMOUNT = 30_000_00
OPENING_BALANCE = 1_00_000_00

pytestmark = pytest.mark.slow


@pytest.fixture
def api_settings() -> Settings:
    # No new-device cooling here: the device was bound a moment ago, and the P2P daily limit is
    # what this test races. The pool's connections (its size plus overflow) race at once; the
    # rest wait for one, as they would behind a load balancer.
    return Settings(
        secret_keys=TEST_RING_TEXT,
        rate_limits_enabled=False,
        database_pool_timeout_s=60,
        psp_new_device_cooling_s=0,
    )


async def test_fifty_parallel_payments_fit_the_daily_limit_exactly_three_times(
    client: httpx.AsyncClient,
) -> None:
    asha = await ready_payer(client)
    ravi = await ready_payer(client, name="Ravi Kumar", bank="sbx2")
    answers = await asyncio.gather(
        *(
            post(
                client,
                "/v1/psp/payments",
                {
                    "client_request_id": uuid.uuid4().hex,
                    "vpa": ravi.vpa,
                    "amount": AMOUNT,
                    "pin": PIN,
                },
                headers=asha.headers,
            )
            for _ in range(PAYMENTS_RACING)
        )
    )
    outcomes = Counter(
        answer.json().get("status") or answer.json()["error"]["code"] for answer in answers
    )
    assert outcomes == {"succeeded": 3, "daily_limit_exceeded": PAYMENTS_RACING - 3}, outcomes
    refused = [answer for answer in answers if answer.status_code != 200]
    assert {answer.status_code for answer in refused} == {402}
    assert {answer.json()["error"]["npci_code"] for answer in refused} == {"Z8"}
    assert await balance(client, asha) == OPENING_BALANCE - 3 * AMOUNT
    assert await balance(client, ravi) == OPENING_BALANCE + 3 * AMOUNT
    listed = await client.get("/v1/psp/transactions", params={"limit": 100}, headers=asha.headers)
    assert len(listed.json()["data"]) == 3


async def test_the_twenty_first_payment_to_people_in_a_day_is_z7(
    client: httpx.AsyncClient,
) -> None:
    authenticator = SoftwareAuthenticator()
    asha = await ready_payer(client)
    await register_passkey(client, asha.payer, authenticator)
    ravi = await ready_payer(client, name="Ravi Kumar")
    for _ in range(20):
        request_id = uuid.uuid4().hex
        answer = await pay(client, asha, 1_00, vpa=ravi.vpa, request_id=request_id)
        if answer.status_code == 402 and answer.json()["error"]["code"] == "step_up_required":
            # Ten payments in an hour is the risk engine's velocity rule: the passkey answers.
            answer = await pay(
                client,
                asha,
                1_00,
                vpa=ravi.vpa,
                request_id=request_id,
                step_up=await step_up(client, asha.payer, authenticator),
            )
        assert answer.status_code == 200, answer.text
    refused = await pay(client, asha, 1_00, vpa=ravi.vpa)
    assert refused.status_code == 402, refused.text
    error = refused.json()["error"]
    assert (error["code"], error["npci_code"]) == ("daily_count_limit_exceeded", "Z7")
    assert "20 payments" in error["message"]


async def test_one_client_request_id_sent_five_times_at_once_pays_once(
    client: httpx.AsyncClient,
) -> None:
    """Retries that race the first attempt queue on the account's PIN lock, then find its
    receipt: every answer is the same receipt and the money moves once."""
    asha = await ready_payer(client)
    ravi = await ready_payer(client, name="Ravi Kumar")
    request_id = uuid.uuid4().hex
    answers = await asyncio.gather(
        *(pay(client, asha, 700_00, vpa=ravi.vpa, request_id=request_id) for _ in range(5))
    )
    assert {answer.status_code for answer in answers} == {200}, [a.text for a in answers]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert await balance(client, ravi) == OPENING_BALANCE + 700_00
