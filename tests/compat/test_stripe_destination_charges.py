"""The official ``stripe`` SDK as a platform over real HTTP (Connect's destination charges): a
PaymentIntent with ``transfer_data[destination]`` and ``application_fee_amount`` whose charge
names its transfer and application fee (the SDK's ``Transfer`` and ``ApplicationFee``), the
connected account's balance pending (read with ``stripe_account=``), and a refund with
``reverse_transfer`` and ``refund_application_fee`` that takes both back as Stripe computes
(in proportion to the refund, rounded down)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import stripe

from tests.compat.server import new_merchant, sdk_client
from tests.support import TestMerchant

AMOUNT = 10_000
FEE = 1_234


@pytest.fixture
async def platform(compat_database_url: str) -> AsyncIterator[TestMerchant]:
    yield await new_merchant(compat_database_url)


@pytest.fixture
def client(server_url: str, platform: TestMerchant) -> stripe.StripeClient:
    return sdk_client(server_url, platform.keys["sk_test"])


def test_a_destination_charge_with_a_fee_and_its_refund(client: stripe.StripeClient) -> None:
    account = client.v1.accounts.create({"type": "express", "country": "IN"})
    intent = client.v1.payment_intents.create(
        {
            "amount": AMOUNT,
            "currency": "inr",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "transfer_data": {"destination": account.id},
            "application_fee_amount": FEE,
            "transfer_group": "order-9",
        }
    )
    assert intent.status == "succeeded"
    assert intent.transfer_data is not None and intent.transfer_data.destination == account.id
    assert intent.application_fee_amount == FEE
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert isinstance(charge.transfer, str) and charge.transfer.startswith("tr_")
    assert isinstance(charge.application_fee, str)
    fee = client.v1.application_fees.retrieve(charge.application_fee)
    assert isinstance(fee, stripe.ApplicationFee)
    assert fee.amount == FEE and fee.account == account.id and fee.charge == charge.id
    transfer = client.v1.transfers.retrieve(charge.transfer)
    assert transfer.amount == AMOUNT and transfer.destination == account.id

    theirs = client.v1.balance.retrieve(options={"stripe_account": account.id})
    assert sum(item.amount for item in theirs.pending) == AMOUNT - FEE
    assert sum(item.amount for item in theirs.available) == 0

    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.create(
            {
                "amount": AMOUNT,
                "currency": "inr",
                "transfer_data": {"destination": account.id, "amount": 100},
                "application_fee_amount": FEE,
            }
        )
    assert refused.value.param == "transfer_data[amount]"

    refund = client.v1.refunds.create(
        {
            "charge": charge.id,
            "amount": 3_333,
            "reverse_transfer": True,
            "refund_application_fee": True,
        }
    )
    assert refund.status == "succeeded"
    transfer = client.v1.transfers.retrieve(charge.transfer)
    assert transfer.amount_reversed == 3_333  # the whole refund: the transfer is the whole amount
    fee = client.v1.application_fees.retrieve(charge.application_fee)
    assert fee.amount_refunded == 3_333 * FEE // AMOUNT  # 411, rounded down
    refunds = client.v1.application_fees.refunds.list(fee.id)
    assert [item.amount for item in refunds.data] == [411]
    assert isinstance(refunds.data[0], stripe.ApplicationFeeRefund)
    assert [item.id for item in client.v1.application_fees.list().auto_paging_iter()] == [fee.id]
