"""The official ``stripe`` SDK (stripe-python 16, API version ``2026-10-28.endive``) through
invoices over real HTTP: invoice items pending and on a draft, an invoice created, finalized
(number, links), paid with the customer's saved card and read back with its payment expanded,
its lines listed and paged; another voided; a declined payment raised as ``CardError``; the
refusals the SDK raises as ``InvalidRequestError`` with Stripe-like codes; a search; GST
invoices (CGST + SGST within a state, IGST across) with a catalog price, a tax rate and a
coupon."""

from __future__ import annotations

import pytest
import stripe

from beyondpay.billing.tax.domain import gstin_check_character
from tests.compat.server import new_merchant, sdk_client


@pytest.fixture
async def client(server_url: str, compat_database_url: str) -> stripe.StripeClient:
    merchant = await new_merchant(compat_database_url)
    return sdk_client(server_url, merchant.keys["sk_test"])


def _customer(client: stripe.StripeClient, card: str = "pm_card_visa") -> stripe.Customer:
    created = client.v1.customers.create(
        {
            "email": "asha@example.com",
            "name": "Asha Rao",
            "payment_method": card,
            "invoice_settings": {"default_payment_method": card},
        }
    )
    assert created.invoice_settings is not None
    assert created.invoice_settings.default_payment_method is not None
    return created


def test_items_an_invoice_finalized_paid_and_its_lines(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    pending = client.v1.invoice_items.create(
        {
            "customer": customer.id,
            "currency": "inr",
            "unit_amount_decimal": "49900",
            "quantity": 3,
            "description": "Seats",
            "metadata": {"plan": "team"},
        }
    )
    assert isinstance(pending, stripe.InvoiceItem) and pending.invoice is None
    assert pending.amount == 149_700 and pending.quantity == 3
    assert pending.pricing is not None and pending.pricing.unit_amount_decimal is not None
    invoice = client.v1.invoices.create(
        {
            "customer": customer.id,
            "pending_invoice_items_behavior": "include",
            "description": "December",
            "metadata": {"order": "42"},
        }
    )
    assert isinstance(invoice, stripe.Invoice) and invoice.status == "draft"
    extra = client.v1.invoice_items.create(
        {"customer": customer.id, "invoice": invoice.id, "amount": 5_000, "description": "Setup"}
    )
    assert extra.invoice == invoice.id
    updated = client.v1.invoice_items.update(extra.id, {"description": "One-time setup"})
    assert updated.description == "One-time setup"

    finalized = client.v1.invoices.finalize_invoice(invoice.id)
    assert finalized.status == "open" and finalized.number is not None
    assert finalized.number.startswith("INV/") and len(finalized.number) <= 16
    assert finalized.total == finalized.amount_due == 154_700
    assert finalized.hosted_invoice_url is not None and finalized.invoice_pdf is not None
    assert finalized.status_transitions.finalized_at is not None

    paid = client.v1.invoices.pay(invoice.id)
    assert paid.status == "paid" and paid.amount_paid == 154_700 and paid.amount_remaining == 0
    assert paid.attempted and paid.attempt_count == 1
    read = client.v1.invoices.retrieve(invoice.id, {"expand": ["payments"]})
    assert read.payments is not None and len(read.payments.data) == 1
    payment = read.payments.data[0]
    assert payment.status == "paid" and payment.payment.type == "payment_intent"
    assert isinstance(payment.payment.payment_intent, str)
    intent = client.v1.payment_intents.retrieve(payment.payment.payment_intent)
    assert intent.status == "succeeded" and intent.amount == 154_700

    lines = client.v1.invoices.line_items.list(invoice.id, {"limit": 1})
    assert lines.has_more and len(lines.data) == 1
    assert lines.data[0].object == "line_item" and lines.data[0].amount == 149_700
    assert lines.data[0].parent is not None
    assert lines.data[0].parent.invoice_item_details is not None
    assert lines.data[0].parent.invoice_item_details.invoice_item == pending.id
    every = list(client.v1.invoices.line_items.list(invoice.id, {"limit": 1}).auto_paging_iter())
    assert [line.amount for line in every] == [149_700, 5_000]

    with pytest.raises(stripe.InvalidRequestError) as already:
        client.v1.invoices.pay(invoice.id)
    assert already.value.code == "invoice_already_paid"
    with pytest.raises(stripe.InvalidRequestError) as fixed:
        client.v1.invoice_items.update(extra.id, {"amount": 1})
    assert fixed.value.code == "invoice_not_editable"


def test_a_voided_invoice_and_a_declined_payment(client: stripe.StripeClient) -> None:
    customer = _customer(client, "pm_card_chargeDeclined")
    voided = client.v1.invoices.create({"customer": customer.id})
    client.v1.invoice_items.create({"customer": customer.id, "invoice": voided.id, "amount": 2_500})
    client.v1.invoices.finalize_invoice(voided.id)
    after = client.v1.invoices.void_invoice(voided.id)
    assert after.status == "void" and after.status_transitions.voided_at is not None
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.invoices.pay(voided.id)
    assert refused.value.code == "invoice_unexpected_state"

    declined = client.v1.invoices.create({"customer": customer.id})
    client.v1.invoice_items.create(
        {"customer": customer.id, "invoice": declined.id, "amount": 2_500}
    )
    with pytest.raises(stripe.CardError) as card_error:
        client.v1.invoices.pay(declined.id)  # a draft is finalized first
    assert card_error.value.code == "card_declined"
    still = client.v1.invoices.retrieve(declined.id)
    assert still.status == "open" and still.attempt_count == 1
    uncollectible = client.v1.invoices.mark_uncollectible(declined.id)
    assert uncollectible.status == "uncollectible"
    paid = client.v1.invoices.pay(declined.id, {"paid_out_of_band": True})
    assert paid.status == "paid" and paid.amount_paid_off_stripe == 2_500

    listed = client.v1.invoices.list({"customer": customer.id, "status": "void"})
    assert [item.id for item in listed.data] == [voided.id]
    found = client.v1.invoices.search({"query": f"customer:'{customer.id}' AND status:'paid'"})
    assert [item.id for item in found.data] == [declined.id]


def test_items_deleted_and_a_draft_deleted(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    item = client.v1.invoice_items.create(
        {"customer": customer.id, "currency": "inr", "amount": 100}
    )
    deleted = client.v1.invoice_items.delete(item.id)
    assert deleted.deleted is True and deleted.id == item.id
    draft = client.v1.invoices.create(
        {"customer": customer.id, "collection_method": "send_invoice", "days_until_due": 10}
    )
    assert draft.due_date is not None and draft.due_date - draft.created == 10 * 86_400
    gone = client.v1.invoices.delete(draft.id)
    assert gone.deleted is True
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.invoices.retrieve(draft.id)
    assert missing.value.code == "resource_missing"


def _gst_invoice(
    client: stripe.StripeClient, customer_state: str, **invoice: object
) -> stripe.Invoice:
    """A merchant registered in Maharashtra, a customer registered in ``customer_state``, an
    18% GST rate and a ₹1,000 price (SAC 998222), drafted into one invoice with 10% off."""
    if not list(client.v1.tax_ids.list().data):
        client.v1.tax_ids.create({"type": "in_gst", "value": "27AAPFU0939F1ZV"})
    customer = _customer(client)
    first = f"{customer_state}AABCT1332L1Z"
    client.v1.customers.tax_ids.create(
        customer.id, {"type": "in_gst", "value": first + gstin_check_character(first)}
    )
    rate = client.v1.tax_rates.create(
        {"display_name": "GST", "percentage": 18, "inclusive": False, "tax_type": "gst"}
    )
    product = client.v1.products.create({"name": "Audit", "hsn_sac": "998222"})  # type: ignore[typeddict-unknown-key]
    price = client.v1.prices.create(
        {"product": product.id, "unit_amount": 100_000, "currency": "inr"}
    )
    coupon = client.v1.coupons.create({"percent_off": 10, "duration": "once"})
    drafted = client.v1.invoices.create(
        {
            "customer": customer.id,
            "default_tax_rates": [rate.id],
            "discounts": [{"coupon": coupon.id}],
            **invoice,  # type: ignore[typeddict-item]
        }
    )
    item = client.v1.invoice_items.create(
        {"customer": customer.id, "invoice": drafted.id, "pricing": {"price": price.id}}
    )
    assert item.pricing is not None and item.pricing.price_details is not None
    assert item.pricing.price_details.price == price.id
    return client.v1.invoices.finalize_invoice(drafted.id)


def test_gst_within_a_state_is_cgst_and_sgst_on_the_discounted_amount(
    client: stripe.StripeClient,
) -> None:
    invoice = _gst_invoice(client, "27")
    assert (invoice.subtotal, invoice.total_excluding_tax, invoice.total) == (
        100_000,
        90_000,
        106_200,
    )
    assert invoice.total_taxes is not None
    [tax] = invoice.total_taxes
    assert (tax.amount, tax.taxable_amount, tax.tax_behavior) == (16_200, 90_000, "exclusive")
    assert invoice.total_discount_amounts is not None
    assert [found.amount for found in invoice.total_discount_amounts] == [10_000]
    gst = invoice["gst"]
    assert (gst["supply_type"], gst["cgst"], gst["sgst"], gst["igst"]) == (
        "intra_state",
        8_100,
        8_100,
        0,
    )


def test_gst_across_states_is_igst(client: stripe.StripeClient) -> None:
    invoice = _gst_invoice(client, "29")
    gst = invoice["gst"]
    assert (gst["place_of_supply"], gst["supply_type"], gst["igst"]) == (
        "29",
        "inter_state",
        16_200,
    )
    assert gst["customer_gstin"].startswith("29")
