"""Who hears a PaymentIntent's events: the handlers registered for its owner's id prefix (an
invoice's ``in_``, a Checkout Session's ``cs_``), in the transaction that records them; a
plain payment, owned by nothing, is heard by none (nothing is looked up on its path)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.payments.service import IntentChange, off_intent_event, on_intent_event
from tests.billing.invoices.support import customer, draft, ok
from tests.payments.support import post
from tests.support import TestMerchant

heard: list[IntentChange] = []


async def _hear(session: AsyncSession, change: IntentChange) -> None:
    heard.append(change)


@pytest.fixture
def listening() -> Iterator[list[IntentChange]]:
    heard.clear()
    on_intent_event(_hear, owner_prefix="in_")
    yield heard
    off_intent_event(_hear)


async def test_only_an_owned_intents_events_reach_its_owners_handlers(
    client: httpx.AsyncClient, merchant: TestMerchant, listening: list[IntentChange]
) -> None:
    paid = await ok(
        await post(
            client,
            merchant,
            "/v1/payment_intents",
            amount=5_000,
            currency="inr",
            payment_method="pm_card_visa",
            confirm="true",
        )
    )
    assert paid["status"] == "succeeded"
    assert listening == []  # a plain payment: no owner, no handler
    buyer = await customer(client, merchant)
    invoice = await draft(client, merchant, buyer["id"])
    await ok(await post(client, merchant, f"/v1/invoices/{invoice['id']}/pay"))
    assert {change.owner for change in listening} == {invoice["id"]}
    assert [change.type for change in listening][-1] == "payment_intent.succeeded"
