"""The official ``stripe`` SDK as a platform over real HTTP (Connect): a connected account
created and retrieved as the SDK's ``Account``, a transfer to it from the platform's available
funds and a partial reversal, the connected account's balance read with ``stripe_account=``
(the ``Stripe-Account`` header), and a stranger's account refused as Stripe refuses it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import stripe

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.payments.tasks import release_funds
from tests.compat.server import new_merchant, sdk_client
from tests.support import TestMerchant

AMOUNT = 10_000
NET = 9_800  # after the platform fee (the payments tests' figure)


@pytest.fixture
async def platform(compat_database_url: str) -> AsyncIterator[TestMerchant]:
    yield await new_merchant(compat_database_url)


@pytest.fixture
def client(server_url: str, platform: TestMerchant) -> stripe.StripeClient:
    return sdk_client(server_url, platform.keys["sk_test"])


async def _funds_available(database_url: str) -> None:
    """As if two days passed: the platform's card payment becomes available."""
    database = Database(database_url, pool_size=1, max_overflow=1)
    try:
        with use_clock(FrozenClock(datetime.now(UTC) + timedelta(days=2, minutes=1))):
            await release_funds(database)
    finally:
        await database.dispose()


async def test_a_platform_pays_a_connected_account_and_reads_its_balance(
    client: stripe.StripeClient, compat_database_url: str, server_url: str
) -> None:
    account = client.v1.accounts.create(
        {
            "type": "custom",
            "country": "IN",
            "email": "seller@example.com",
            "business_profile": {"name": "Chai Point"},
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"seller": "42"},
        }
    )
    assert isinstance(account, stripe.Account)
    assert account.id.startswith("acct_") and account.type == "custom"
    assert account.charges_enabled is False and account.requirements is not None
    assert "pan" in (account.requirements.currently_due or [])
    assert client.v1.accounts.retrieve(account.id).email == "seller@example.com"
    assert [item.id for item in client.v1.accounts.list().auto_paging_iter()] == [account.id]

    intent = client.v1.payment_intents.create(
        {"amount": AMOUNT, "currency": "inr", "payment_method": "pm_card_visa", "confirm": True}
    )
    assert intent.status == "succeeded"
    await _funds_available(compat_database_url)

    transfer = client.v1.transfers.create(
        {"amount": 6_000, "currency": "inr", "destination": account.id, "transfer_group": "o1"}
    )
    assert isinstance(transfer, stripe.Transfer)
    assert transfer.destination == account.id and transfer.amount == 6_000
    reversal = client.v1.transfers.reversals.create(transfer.id, {"amount": 1_000})
    assert isinstance(reversal, stripe.TransferReversal) and reversal.amount == 1_000
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.transfers.reversals.create(transfer.id, {"amount": 5_001})
    assert refused.value.param == "amount"
    with pytest.raises(stripe.InvalidRequestError) as overdrawn:
        client.v1.transfers.create({"amount": NET, "currency": "inr", "destination": account.id})
    assert overdrawn.value.code == "balance_insufficient"

    theirs = client.v1.balance.retrieve(options={"stripe_account": account.id})
    assert sum(item.amount for item in theirs.available) == 5_000
    mine = client.v1.balance.retrieve()
    assert sum(item.amount for item in mine.available) == NET - 5_000

    stranger = sdk_client(server_url, (await new_merchant(compat_database_url)).keys["sk_test"])
    with pytest.raises(stripe.PermissionError) as denied:
        stranger.v1.balance.retrieve(options={"stripe_account": account.id})
    assert "does not have access to account" in str(denied.value)
