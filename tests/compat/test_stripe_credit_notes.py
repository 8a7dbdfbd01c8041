"""The official ``stripe`` SDK through credit notes and the customer balance over real HTTP: a
balance adjustment (``CustomerBalanceTransaction``) the next invoice spends; a GST invoice
(CGST + SGST) paid with a saved card, a credit note previewed, issued with part refunded to the
card and part credited to the balance, its lines listed, updated and read back; a credit note
lowering an open invoice's amount due, then voided; an over-credit refused as
``InvalidRequestError`` naming the parameter."""

from __future__ import annotations

import pytest
import stripe

from beyondpay.billing.tax.domain import gstin_check_character
from tests.compat.server import new_merchant, sdk_client

MERCHANT_GSTIN = "27AAPFU0939F1ZV"  # Maharashtra


@pytest.fixture
async def client(server_url: str, compat_database_url: str) -> stripe.StripeClient:
    merchant = await new_merchant(compat_database_url)
    return sdk_client(server_url, merchant.keys["sk_test"])


def _customer(client: stripe.StripeClient) -> stripe.Customer:
    return client.v1.customers.create(
        {
            "email": "asha@example.com",
            "name": "Asha Rao",
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )


def _invoice(
    client: stripe.StripeClient, customer: str, amount: int, **params: object
) -> stripe.Invoice:
    invoice = client.v1.invoices.create({"customer": customer, **params})  # type: ignore[typeddict-item]
    assert invoice.id is not None
    client.v1.invoice_items.create({"customer": customer, "invoice": invoice.id, "amount": amount})
    return client.v1.invoices.finalize_invoice(invoice.id)


def test_a_balance_adjustment_the_next_invoice_spends(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    adjustment = client.v1.customers.balance_transactions.create(
        customer.id, {"amount": -30_000, "currency": "inr", "description": "Goodwill"}
    )
    assert isinstance(adjustment, stripe.CustomerBalanceTransaction)
    assert (adjustment.type, adjustment.amount, adjustment.ending_balance) == (
        "adjustment",
        -30_000,
        -30_000,
    )
    assert client.v1.customers.retrieve(customer.id).balance == -30_000
    invoice = _invoice(client, customer.id, 100_000)
    assert (invoice.starting_balance, invoice.ending_balance, invoice.amount_due) == (
        -30_000,
        0,
        70_000,
    )
    paid = client.v1.invoices.pay(str(invoice.id))
    assert paid.status == "paid" and paid.amount_paid == 70_000
    history = client.v1.customers.balance_transactions.list(customer.id)
    assert [entry.type for entry in history.data] == ["applied_to_invoice", "adjustment"]
    updated = client.v1.customers.balance_transactions.update(
        customer.id, adjustment.id, {"metadata": {"ticket": "7"}}
    )
    assert updated.metadata is not None and updated.metadata["ticket"] == "7"
    read = client.v1.customers.balance_transactions.retrieve(customer.id, adjustment.id)
    assert read.description == "Goodwill"


def test_a_gst_credit_note_refunded_and_credited(client: stripe.StripeClient) -> None:
    client.v1.tax_ids.create({"type": "in_gst", "value": MERCHANT_GSTIN})
    rate = client.v1.tax_rates.create(
        {
            "display_name": "GST",
            "percentage": 18,
            "inclusive": False,
            "tax_type": "gst",
            "country": "IN",
        }
    )
    customer = _customer(client)
    first = "27AABCT1332L1Z"
    client.v1.customers.tax_ids.create(
        customer.id, {"type": "in_gst", "value": first + gstin_check_character(first)}
    )
    invoice = _invoice(client, customer.id, 100_000, default_tax_rates=[rate.id])
    paid = client.v1.invoices.pay(str(invoice.id))
    assert paid.status == "paid" and paid.total == 118_000
    line = paid.lines.data[0].id
    asked: dict[str, object] = {
        "invoice": str(invoice.id),
        "lines": [{"type": "invoice_line_item", "invoice_line_item": line, "amount": 50_000}],
    }
    preview = client.v1.credit_notes.preview(asked)  # type: ignore[arg-type]
    assert isinstance(preview, stripe.CreditNote) and preview.total == 59_000
    lines = client.v1.credit_notes.preview_lines.list(asked)  # type: ignore[arg-type]
    assert [each.amount for each in lines.data] == [50_000]

    note = client.v1.credit_notes.create(
        {**asked, "refund_amount": 40_000, "credit_amount": 19_000, "reason": "order_change"}  # type: ignore[typeddict-item]
    )
    assert isinstance(note, stripe.CreditNote) and note.status == "issued"
    assert (note.type, note.total, note.subtotal) == ("post_payment", 59_000, 50_000)
    assert note.number.startswith("CN/") and len(note.number) == 16
    [tax] = note.total_taxes or []
    assert (tax.amount, tax.taxable_amount) == (9_000, 50_000)
    assert note.refunds[0].amount_refunded == 40_000
    refund = client.v1.refunds.retrieve(str(note.refunds[0].refund))
    assert refund.amount == 40_000 and refund.status == "succeeded"
    assert note.customer_balance_transaction is not None
    assert client.v1.customers.retrieve(customer.id).balance == -19_000
    assert [each.invoice_line_item for each in client.v1.credit_notes.line_items.list(note.id)] == [
        line
    ]
    updated = client.v1.credit_notes.update(note.id, {"memo": "Half the seats"})
    assert updated.memo == "Half the seats"
    listed = client.v1.credit_notes.list({"invoice": str(invoice.id)})
    assert [each.id for each in listed.data] == [note.id]
    assert client.v1.invoices.retrieve(str(invoice.id)).post_payment_credit_notes_amount == 59_000

    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.credit_notes.create({"invoice": str(invoice.id), "amount": 59_001})
    assert refused.value.param == "amount"


def test_a_credit_note_lowers_an_open_invoice_then_is_voided(client: stripe.StripeClient) -> None:
    customer = _customer(client)
    invoice = _invoice(client, customer.id, 20_000)
    note = client.v1.credit_notes.create({"invoice": str(invoice.id), "amount": 5_000})
    assert note.type == "pre_payment" and note.pre_payment_amount == 5_000
    lowered = client.v1.invoices.retrieve(str(invoice.id))
    assert (lowered.amount_due, lowered.pre_payment_credit_notes_amount) == (15_000, 5_000)
    voided = client.v1.credit_notes.void_credit_note(note.id)
    assert voided.status == "void" and voided.voided_at is not None
    assert client.v1.invoices.retrieve(str(invoice.id)).amount_due == 20_000
    paid = client.v1.invoices.pay(str(invoice.id))
    assert paid.amount_paid == 20_000
