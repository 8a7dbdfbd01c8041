"""What a subscription's start takes for Checkout's subscription mode, over the API as any
caller may send it: ``payment_behavior=default_incomplete`` (the first invoice waits for its
caller, no collection job), ``payment_settings[save_default_payment_method]=on_subscription``
(the card that pays the first invoice becomes the default), ``description`` and
``add_invoice_items`` (one-time prices on the first invoice only), with refusals naming their
parameter."""

from __future__ import annotations

import httpx

from beyondpay.db.session import Database
from tests.billing.invoices.support import customer, ok, queued
from tests.billing.subscriptions.support import monthly_price, subscribe
from tests.payments.support import get, post
from tests.support import TestMerchant


async def test_default_incomplete_waits_and_the_paying_card_becomes_the_default(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    price = await monthly_price(client, merchant, 49_900)
    fee = await ok(
        await post(
            client,
            merchant,
            "/v1/prices",
            currency="inr",
            unit_amount=15_000,
            **{"product_data[name]": "Setup"},
        )
    )
    buyer = await customer(client, merchant)  # a default card the job would otherwise charge
    subscription = await subscribe(
        client,
        merchant,
        buyer["id"],
        price["id"],
        payment_behavior="default_incomplete",
        description="Pro for Asha",
        **{
            "payment_settings[save_default_payment_method]": "on_subscription",
            "add_invoice_items[0][price]": fee["id"],
            "add_invoice_items[0][quantity]": "2",
        },
    )
    assert subscription["status"] == "incomplete" and subscription["description"] == "Pro for Asha"
    assert subscription["payment_settings"]["save_default_payment_method"] == "on_subscription"
    assert subscription["default_payment_method"] is None
    invoice = await get(
        client,
        merchant,
        f"/v1/invoices/{subscription['latest_invoice']}",
        **{"expand[]": "payments"},
    )
    assert invoice["status"] == "open" and invoice["amount_due"] == 49_900 + 2 * 15_000
    intent_id = invoice["payments"]["data"][0]["payment"]["payment_intent"]
    assert not [job for job in await queued(database, "invoices:collect")]
    # The caller confirms the invoice's intent with a card: it becomes the default.
    confirmed = await post(
        client,
        merchant,
        f"/v1/payment_intents/{intent_id}/confirm",
        payment_method="pm_card_mastercard",
    )
    assert confirmed.status_code == 200, confirmed.text
    active = await get(client, merchant, f"/v1/subscriptions/{subscription['id']}")
    assert active["status"] == "active"
    assert active["default_payment_method"] == confirmed.json()["payment_method"]


async def test_refusals_name_the_parameter(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    price = await monthly_price(client, merchant)
    buyer = await customer(client, merchant)
    refused = await subscribe(
        client,
        merchant,
        buyer["id"],
        price["id"],
        400,
        **{"add_invoice_items[0][price]": price["id"]},
    )
    assert refused["error"]["param"] == "add_invoice_items[0][price]"
    trial = await subscribe(
        client,
        merchant,
        buyer["id"],
        price["id"],
        400,
        trial_period_days=7,
        **{"add_invoice_items[0][price]": price["id"]},
    )
    assert trial["error"]["param"] == "add_invoice_items"
    setting = await subscribe(
        client,
        merchant,
        buyer["id"],
        price["id"],
        400,
        **{"payment_settings[save_default_payment_method]": "always"},
    )
    assert setting["error"]["param"] == "payment_settings[save_default_payment_method]"
