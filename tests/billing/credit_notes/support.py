"""Helpers for credit note tests over HTTP: a paid or open GST invoice, a credit note."""

from __future__ import annotations

from typing import Any

import httpx

from tests.billing.invoices.support import customer, draft, ok
from tests.billing.wiring.test_gst import gst_customer, gst_rate, invoice_with, registered
from tests.payments.support import post
from tests.support import TestMerchant


async def gst_invoice(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    state: str,
    amount: int = 100_000,
    *,
    pay: bool = True,
) -> dict[str, Any]:
    """A finalized invoice of ``amount`` at 18% GST to a customer in ``state`` (the merchant is
    in Maharashtra, 27), paid with the customer's saved card unless ``pay`` is False."""
    await registered(client, merchant)
    rate = await gst_rate(client, merchant)
    buyer = await gst_customer(client, merchant, state)
    drafted = await invoice_with(client, merchant, buyer, rate, amount=amount)
    invoice = await ok(await post(client, merchant, f"/v1/invoices/{drafted['id']}/finalize"))
    if pay:
        invoice = await ok(await post(client, merchant, f"/v1/invoices/{drafted['id']}/pay"))
    return invoice


async def plain_invoice(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    amounts: tuple[int, ...] = (100_000,),
    *,
    pay: bool = True,
) -> dict[str, Any]:
    """A finalized invoice without tax, paid with a saved card unless ``pay`` is False."""
    buyer = await customer(client, merchant)
    drafted = await draft(client, merchant, buyer["id"], amounts)
    invoice = await ok(await post(client, merchant, f"/v1/invoices/{drafted['id']}/finalize"))
    if pay:
        invoice = await ok(await post(client, merchant, f"/v1/invoices/{drafted['id']}/pay"))
    return invoice


async def credit_note(
    client: httpx.AsyncClient, merchant: TestMerchant, invoice: str, **params: Any
) -> httpx.Response:
    return await post(client, merchant, "/v1/credit_notes", invoice=invoice, **params)
