"""The official ``stripe`` SDK through a dispute's life over real HTTP: a payment with Stripe's
dispute test card 4000 0000 0000 0259 is disputed after capture (the sandbox network's report
delivered as the worker would), the SDK lists it, submits ``winning_evidence`` and the dispute
is won with the balance back; another is closed (lost); the balance always equals the sum of
its balance transactions."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from beyondpay.db.session import Database
from tests.compat.server import new_merchant, sdk_client
from tests.disputes.support import AMOUNT, DISPUTE_FEE, PROCESSING_FEE, open_disputes

NET = AMOUNT - PROCESSING_FEE


@pytest.fixture
async def client(server_url: str, compat_database_url: str) -> stripe.StripeClient:
    merchant = await new_merchant(compat_database_url)
    return sdk_client(server_url, merchant.keys["sk_test"])


@pytest.fixture
async def database(compat_database_url: str) -> Any:
    handle = Database(compat_database_url, pool_size=1, max_overflow=1)
    yield handle
    await handle.dispose()


def _balance(client: stripe.StripeClient) -> tuple[int, int]:
    balance = client.v1.balance.retrieve()
    available = sum(item.amount for item in balance.available if item.currency == "inr")
    pending = sum(item.amount for item in balance.pending if item.currency == "inr")
    transactions = client.v1.balance_transactions.list({"limit": 100})
    assert not transactions.has_more
    assert available + pending == sum(item.net for item in transactions.data)
    return available, pending


def _pay_with_the_dispute_card(client: stripe.StripeClient) -> stripe.PaymentIntent:
    method = client.v1.payment_methods.create(
        {
            "type": "card",
            "card": {"number": "4000000000000259", "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    intent = client.v1.payment_intents.create(
        {"amount": AMOUNT, "currency": "inr", "payment_method": method.id, "confirm": True}
    )
    assert intent.status == "succeeded"
    return intent


async def test_a_dispute_opened_evidence_submitted_won(
    client: stripe.StripeClient, database: Database
) -> None:
    intent = _pay_with_the_dispute_card(client)
    assert client.v1.disputes.list().data == []
    await open_disputes(database)
    disputes = client.v1.disputes.list({"payment_intent": intent.id})
    (dispute,) = disputes.data
    assert isinstance(dispute, stripe.Dispute)
    assert dispute.status == "needs_response" and dispute.amount == AMOUNT
    assert dispute.charge == intent.latest_charge and dispute.reason == "fraudulent"
    assert dispute.evidence_details.submission_count == 0
    (withdrawal,) = dispute.balance_transactions
    assert isinstance(withdrawal, stripe.BalanceTransaction)
    assert (withdrawal.type, withdrawal.net) == ("adjustment", -AMOUNT - DISPUTE_FEE)
    assert client.v1.charges.retrieve(str(intent.latest_charge)).disputed is True
    assert _balance(client) == (-AMOUNT - DISPUTE_FEE, NET)

    won = client.v1.disputes.update(
        dispute.id,
        {
            "evidence": {
                "uncategorized_text": "winning_evidence",
                "customer_name": "Asha Verma",
                "product_description": "A kettle",
            },
            "metadata": {"case": "C-1"},
        },
    )
    assert isinstance(won, stripe.Dispute)
    assert won.status == "won" and won.evidence_details.submission_count == 1
    assert won.evidence.customer_name == "Asha Verma" and won.metadata["case"] == "C-1"
    assert client.v1.disputes.retrieve(dispute.id).status == "won"
    assert _balance(client) == (0, NET)  # the amount and the fee are back
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.disputes.update(dispute.id, {"evidence": {"uncategorized_text": "more"}})
    assert raised.value.code == "dispute_unexpected_state" and raised.value.param == "evidence"


async def test_a_dispute_closed_is_lost_and_a_refund_of_it_refused(
    client: stripe.StripeClient, database: Database
) -> None:
    intent = client.v1.payment_intents.create(
        {
            "amount": AMOUNT,
            "currency": "inr",
            "payment_method": "pm_card_createDispute",
            "confirm": True,
        }
    )
    await open_disputes(database)
    (dispute,) = client.v1.disputes.list({"charge": str(intent.latest_charge)}).data
    lost = client.v1.disputes.close(dispute.id)
    assert lost.status == "lost"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create({"payment_intent": intent.id})
    assert raised.value.code == "charge_disputed"
    assert _balance(client) == (-AMOUNT - DISPUTE_FEE, NET)
