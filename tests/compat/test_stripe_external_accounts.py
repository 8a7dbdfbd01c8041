"""The official ``stripe`` SDK driving a merchant's payout bank accounts over real HTTP
(Stripe's external accounts): created (verified by the sandbox penny drop), retrieved as the
SDK's ``BankAccount``, listed, made the default, deleted; the default refused deletion."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import stripe

from tests.compat.server import new_merchant, sdk_client
from tests.support import TestMerchant


@pytest.fixture
async def payee(compat_database_url: str) -> AsyncIterator[TestMerchant]:
    yield await new_merchant(compat_database_url)


@pytest.fixture
def client(server_url: str, payee: TestMerchant) -> stripe.StripeClient:
    return sdk_client(server_url, payee.keys["sk_test"])


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


def test_the_sdk_creates_lists_updates_and_deletes_bank_accounts(
    client: stripe.StripeClient, payee: TestMerchant
) -> None:
    accounts = client.v1.accounts.external_accounts
    first = accounts.create(
        payee.id, {"external_account": _bank("000123456789"), "metadata": {"use": "payouts"}}
    )
    assert isinstance(first, stripe.BankAccount)
    assert first.id.startswith("ba_") and first.status == "verified"
    assert first.last4 == "6789" and first.bank_name == "ICICI BANK"
    assert first.default_for_currency is True
    second = accounts.create(payee.id, {"external_account": _bank("000222222227")})
    assert second.status == "verification_failed"  # the bank holds another holder's name

    fetched = accounts.retrieve(payee.id, first.id)
    assert fetched.id == first.id and fetched.metadata.to_dict() == {"use": "payouts"}
    listed = accounts.list(payee.id, {"object": "bank_account", "limit": 1})
    assert [item.id for item in listed.auto_paging_iter()] == [second.id, first.id]

    with pytest.raises(stripe.InvalidRequestError) as refused:
        accounts.delete(payee.id, first.id)
    assert refused.value.code == "bank_account_default_delete"
    accounts.update(payee.id, second.id, {"default_for_currency": True})
    deleted = accounts.delete(payee.id, first.id)
    assert deleted.id == first.id and deleted.to_dict().get("deleted") is True
    assert [item.id for item in accounts.list(payee.id).data] == [second.id]

    with pytest.raises(stripe.InvalidRequestError) as wrong:
        accounts.create(
            payee.id, {"external_account": {**_bank("000123456789"), "routing_number": "ICIC1"}}
        )
    assert wrong.value.param == "external_account[routing_number]"
    with pytest.raises(stripe.InvalidRequestError) as elsewhere:
        accounts.list("acct_someone_else")
    assert elsewhere.value.param == "account"
