"""The official ``stripe`` SDK making payouts over real HTTP: with the schedule set to manual
(Stripe refuses manual payouts while payouts are automatic), a payout to the merchant's
verified bank account is paid (``stripe.Payout``, its RRN as ``trace_id``), retrieved, listed
and updated; a payout to an account closed since its penny drop (``000111111113``) fails with
``account_closed`` and its money comes back (``payout.failed``, the balance as before)."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.payments.service import release_due_funds
from tests.compat.server import new_merchant, sdk_client
from tests.settlement.payouts.support import end_hold
from tests.support import TestMerchant

AMOUNT = 10_000
AVAILABLE = 9_800  # less the platform's 2 % fee


@pytest.fixture
async def payee(compat_database_url: str) -> TestMerchant:
    return await new_merchant(compat_database_url)


@pytest.fixture
def client(server_url: str, payee: TestMerchant) -> stripe.StripeClient:
    return sdk_client(server_url, payee.keys["sk_test"])


@pytest.fixture
async def database(compat_database_url: str) -> Any:
    handle = Database(compat_database_url, pool_size=1, max_overflow=1)
    yield handle
    await handle.dispose()


def _bank(account_number: str) -> dict[str, str]:
    return {
        "object": "bank_account",
        "country": "IN",
        "currency": "inr",
        "account_number": account_number,
        "routing_number": "ICIC0000001",
        "account_holder_name": "Asha Rao",
        "account_holder_type": "individual",
    }


def _available(client: stripe.StripeClient) -> int:
    balance = client.v1.balance.retrieve()
    available = sum(item.amount for item in balance.available if item.currency == "inr")
    transactions = client.v1.balance_transactions.list({"limit": 100})
    assert available == sum(item.net for item in transactions.data if item.status == "available")
    return available


async def _ready(client: stripe.StripeClient, payee: TestMerchant, database: Database) -> None:
    """A paid card payment whose funds are available, and a manual payout schedule."""
    intent = client.v1.payment_intents.create(
        {"amount": AMOUNT, "currency": "inr", "payment_method": "pm_card_visa", "confirm": True}
    )
    assert intent.status == "succeeded"
    async with database.unit_of_work() as session:
        # As if the card's two days to availability had passed.
        await session.execute(
            text(
                "UPDATE balance_transactions SET available_on = now() - interval '1 second'"
                " WHERE merchant_id = :merchant"
            ),
            {"merchant": payee.id},
        )
    async with database.unit_of_work() as session:
        assert await release_due_funds(session, 10) == 1
    account = client.v1.accounts.update(
        payee.id, {"settings": {"payouts": {"schedule": {"interval": "manual"}}}}
    )
    assert account.settings is not None
    assert account.settings.payouts is not None
    assert account.settings.payouts.schedule.interval == "manual"


async def test_the_sdk_makes_a_manual_payout(
    client: stripe.StripeClient, payee: TestMerchant, database: Database
) -> None:
    await _ready(client, payee, database)
    account = client.v1.accounts.external_accounts.create(
        payee.id, {"external_account": _bank("000123456789")}
    )
    await end_hold(database, payee)
    payout = client.v1.payouts.create(
        {"amount": 5_000, "currency": "inr", "metadata": {"run": "1"}}
    )
    assert isinstance(payout, stripe.Payout)
    assert payout.status == "paid" and payout.destination == account.id
    assert payout.trace_id is not None and payout.trace_id.status == "supported"
    assert payout.rail == "imps"  # type: ignore[attr-defined]  (our extension)
    assert client.v1.payouts.retrieve(payout.id).amount == 5_000
    updated = client.v1.payouts.update(payout.id, {"metadata": {"run": "2"}})
    assert updated.metadata.to_dict() == {"run": "2"}
    listed = client.v1.payouts.list({"status": "paid", "limit": 1})
    assert [item.id for item in listed.auto_paging_iter()] == [payout.id]
    assert _available(client) == AVAILABLE - 5_000


async def test_a_payout_to_a_closed_account_fails_and_returns_the_money(
    client: stripe.StripeClient, payee: TestMerchant, database: Database
) -> None:
    await _ready(client, payee, database)
    closed = client.v1.accounts.external_accounts.create(
        payee.id, {"external_account": _bank("000111111113")}
    )
    assert closed.status == "errored"  # the penny drop finds it closed today
    async with database.unit_of_work() as session:
        # The account was open when its penny drop passed, and closed since.
        await session.execute(
            text("UPDATE bank_accounts SET status = 'verified' WHERE id = :id"), {"id": closed.id}
        )
    await end_hold(database, payee)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payouts.create({"amount": AVAILABLE + 1, "currency": "inr"})
    assert refused.value.code == "balance_insufficient" and refused.value.param == "amount"

    payout = client.v1.payouts.create({"amount": 5_000, "currency": "inr"})
    assert payout.status == "failed" and payout.failure_code == "account_closed"
    assert payout.failure_balance_transaction is not None
    returned = client.v1.balance_transactions.retrieve(str(payout.failure_balance_transaction))
    assert returned.type == "payout_failure" and returned.net == 5_000
    assert _available(client) == AVAILABLE
    failed = client.v1.events.list({"type": "payout.failed"})
    assert [event.data.object["id"] for event in failed.data] == [payout.id]
