"""The official ``stripe`` SDK (stripe-python 16) through subscriptions over real HTTP: a
monthly price, a subscription with a 7-day trial on a customer with a test clock (its zero
first invoice paid), read back, listed with its items, updated (cancel_at_period_end,
metadata), canceled; the refusals raised as ``InvalidRequestError`` naming the parameter.

Issue 18's whole flow (the clock through the trial, three renewals, a declined renewal
retried then paid, a plan change with proration, cancellation at period end, every invoice's
GST lines, an inter-state renewal's IGST, the ledger verified) is
tests/compat/test_stripe_subscription_flow.py, on a server that runs the worker; a send_invoice
invoice paid on its hosted page in Chromium is tests/compat/test_stripe_hosted_invoice.py."""

from __future__ import annotations

import time

import pytest
import stripe

from tests.compat.server import new_merchant, sdk_client

DAY_S = 86_400


@pytest.fixture
async def client(server_url: str, compat_database_url: str) -> stripe.StripeClient:
    merchant = await new_merchant(compat_database_url)
    return sdk_client(server_url, merchant.keys["sk_test"])


def test_a_trial_subscription_on_a_test_clock_read_updated_and_canceled(
    client: stripe.StripeClient,
) -> None:
    now_s = int(time.time())
    clock = client.v1.test_helpers.test_clocks.create({"frozen_time": now_s})
    customer = client.v1.customers.create(
        {
            "email": "asha@example.com",
            "test_clock": clock.id,
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    price = client.v1.prices.create(
        {
            "currency": "inr",
            "unit_amount": 99_900,
            "product_data": {"name": "Pro"},
            "recurring": {"interval": "month"},
        }
    )
    subscription = client.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": price.id}], "trial_period_days": 7}
    )
    assert isinstance(subscription, stripe.Subscription)
    assert subscription.status == "trialing" and subscription.test_clock == clock.id
    assert subscription.trial_start == now_s and subscription.trial_end == now_s + 7 * DAY_S
    item = subscription["items"].data[0]
    assert isinstance(item, stripe.SubscriptionItem)
    assert item.price.id == price.id and item.quantity == 1
    assert item.current_period_start == now_s and item.current_period_end == now_s + 7 * DAY_S
    invoice = client.v1.invoices.retrieve(str(subscription.latest_invoice))
    assert invoice.status == "paid" and invoice.total == 0
    assert invoice.billing_reason == "subscription_create"
    assert invoice.parent is not None and invoice.parent.subscription_details is not None
    assert invoice.parent.subscription_details.subscription == subscription.id

    updated = client.v1.subscriptions.update(
        subscription.id, {"cancel_at_period_end": True, "metadata": {"plan": "pro"}}
    )
    assert updated.cancel_at_period_end is True and updated.metadata.to_dict() == {"plan": "pro"}
    listed = client.v1.subscriptions.list({"customer": customer.id})
    assert [row.id for row in listed.data] == [subscription.id]
    items = client.v1.subscription_items.list({"subscription": subscription.id})
    assert [row.id for row in items.data] == [item.id]
    assert client.v1.subscription_items.retrieve(item.id).id == item.id

    canceled = client.v1.subscriptions.cancel(subscription.id)
    assert canceled.status == "canceled" and canceled.ended_at is not None
    assert canceled.cancellation_details is not None
    assert canceled.cancellation_details.reason == "cancellation_requested"
    assert client.v1.subscriptions.list({"customer": customer.id}).data == []


def test_refusals_name_the_parameter(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"email": "asha@example.com"})
    one_time = client.v1.prices.create(
        {"currency": "inr", "unit_amount": 500, "product_data": {"name": "Setup"}}
    )
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.subscriptions.create({"customer": customer.id, "items": [{"price": one_time.id}]})
    assert refused.value.param == "items[0][price]"


def test_subscription_items_search_pause_collection_and_cancellation_details(
    client: stripe.StripeClient,
) -> None:
    """The SDK's own calls for the item writes, search, pause_collection and a cancellation
    with details, prorated and invoiced at once (on a trial: nothing to prorate)."""
    customer = client.v1.customers.create({"email": "asha@example.com"})
    prices = [
        client.v1.prices.create(
            {
                "currency": "inr",
                "unit_amount": amount,
                "product_data": {"name": name},
                "recurring": {"interval": "month"},
            }
        )
        for name, amount in (("Pro", 99_900), ("Seat", 10_000))
    ]
    subscription = client.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [{"price": prices[0].id}],
            "trial_period_days": 7,
            "metadata": {"plan": "pro"},
        }
    )
    item = client.v1.subscription_items.create(
        {"subscription": subscription.id, "price": prices[1].id, "quantity": 2}
    )
    assert isinstance(item, stripe.SubscriptionItem) and item.quantity == 2
    item = client.v1.subscription_items.update(item.id, {"quantity": 4, "metadata": {"k": "v"}})
    assert item.quantity == 4 and item.metadata.to_dict() == {"k": "v"}
    deleted = client.v1.subscription_items.delete(item.id, {"proration_behavior": "none"})
    assert deleted.deleted is True and deleted.id == item.id

    found = client.v1.subscriptions.search({"query": "metadata['plan']:'pro'"})
    assert [row.id for row in found.data] == [subscription.id]

    paused = client.v1.subscriptions.update(
        subscription.id, {"pause_collection": {"behavior": "mark_uncollectible"}}
    )
    assert paused.pause_collection is not None
    assert paused.pause_collection.behavior == "mark_uncollectible"
    cleared = client.v1.subscriptions.update(subscription.id, {"pause_collection": ""})
    assert cleared.pause_collection is None

    canceled = client.v1.subscriptions.cancel(
        subscription.id,
        {
            "prorate": True,
            "invoice_now": True,
            "cancellation_details": {"comment": "Moving on", "feedback": "unused"},
        },
    )
    assert canceled.status == "canceled"
    assert canceled.cancellation_details is not None
    assert canceled.cancellation_details.comment == "Moving on"
    assert canceled.cancellation_details.feedback == "unused"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.subscriptions.resume(subscription.id)
    assert refused.value.code == "subscription_unexpected_state"
