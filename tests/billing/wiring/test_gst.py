"""GST on invoices over HTTP: a GST tax rate (the invoice's default, or an item's own) charged
as CGST + SGST within the merchant's state and as IGST across states, on the draft and fixed
at finalization; a tax-inclusive price; a merchant without a GSTIN charges no GST."""

from __future__ import annotations

from typing import Any

import httpx

from beyondpay.billing.tax.domain import gstin_check_character
from tests.billing.invoices.support import customer, ok
from tests.billing.wiring.test_pricing import product_price
from tests.payments.support import get, post
from tests.support import TestMerchant

MERCHANT_GSTIN = "27AAPFU0939F1ZV"  # Maharashtra


def gstin(state: str, pan: str = "AABCT1332L") -> str:
    first = f"{state}{pan}1Z"
    return first + gstin_check_character(first)


async def gst_rate(client: httpx.AsyncClient, merchant: TestMerchant, **extra: Any) -> str:
    rate = await ok(
        await post(
            client,
            merchant,
            "/v1/tax_rates",
            **{
                "display_name": "GST",
                "percentage": "18",
                "inclusive": "false",
                "tax_type": "gst",
                "country": "IN",
                **extra,
            },
        )
    )
    return str(rate["id"])


async def registered(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    await ok(await post(client, merchant, "/v1/tax_ids", type="in_gst", value=MERCHANT_GSTIN))


async def gst_customer(
    client: httpx.AsyncClient, merchant: TestMerchant, state: str
) -> dict[str, Any]:
    buyer = await customer(client, merchant)
    await ok(
        await post(
            client,
            merchant,
            f"/v1/customers/{buyer['id']}/tax_ids",
            type="in_gst",
            value=gstin(state),
        )
    )
    return buyer


async def invoice_with(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    buyer: dict[str, Any],
    rate: str,
    amount: int = 100_000,
) -> dict[str, Any]:
    invoice = await ok(
        await post(
            client,
            merchant,
            "/v1/invoices",
            customer=buyer["id"],
            **{"default_tax_rates[0]": rate},
        )
    )
    await ok(
        await post(
            client,
            merchant,
            "/v1/invoiceitems",
            invoice=invoice["id"],
            amount=amount,
            description="Consulting",
        )
    )
    return await get(client, merchant, f"/v1/invoices/{invoice['id']}")


async def test_within_the_merchants_state_gst_is_cgst_and_sgst(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    await registered(client, merchant)
    rate = await gst_rate(client, merchant)
    buyer = await gst_customer(client, merchant, "27")
    drafted = await invoice_with(client, merchant, buyer, rate)
    assert drafted["default_tax_rates"][0]["id"] == rate
    assert (drafted["subtotal"], drafted["total"], drafted["total_excluding_tax"]) == (
        100_000,
        118_000,
        100_000,
    )
    [tax] = drafted["total_taxes"]
    assert tax["tax_rate_details"] == {"tax_rate": rate}
    assert (tax["amount"], tax["taxable_amount"], tax["tax_behavior"]) == (
        18_000,
        100_000,
        "exclusive",
    )
    assert drafted["lines"]["data"][0]["taxes"] == [tax]
    gst = drafted["gst"]
    assert gst["supplier_gstin"] == MERCHANT_GSTIN and gst["customer_gstin"] == gstin("27")
    assert (gst["place_of_supply"], gst["supply_type"]) == ("27", "intra_state")
    assert (gst["cgst"], gst["sgst"], gst["igst"]) == (9_000, 9_000, 0)
    finalized = await ok(await post(client, merchant, f"/v1/invoices/{drafted['id']}/finalize"))
    assert finalized["amount_due"] == 118_000 and finalized["gst"] == gst


async def test_across_states_gst_is_igst_and_fixed_at_finalization(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    await registered(client, merchant)
    rate = await gst_rate(client, merchant)
    buyer = await gst_customer(client, merchant, "29")  # Karnataka
    drafted = await invoice_with(client, merchant, buyer, rate, amount=55_555)
    gst = drafted["gst"]
    assert (gst["place_of_supply"], gst["supply_type"]) == ("29", "inter_state")
    assert (gst["cgst"], gst["sgst"], gst["igst"]) == (0, 0, 10_000)  # 9,999.9 rounded
    finalized = await ok(await post(client, merchant, f"/v1/invoices/{drafted['id']}/finalize"))
    # The customer's details changing later leaves the issued invoice as it was.
    tax_ids = await get(client, merchant, f"/v1/customers/{buyer['id']}/tax_ids")
    await ok(
        await client.delete(
            f"/v1/customers/{buyer['id']}/tax_ids/{tax_ids['data'][0]['id']}",
            headers=merchant.auth(),
        )
    )
    again = await get(client, merchant, f"/v1/invoices/{finalized['id']}")
    assert again["gst"] == finalized["gst"] and again["gst"]["customer_gstin"] == gstin("29")
    # A finalized invoice's tax settings are fixed.
    refused = await post(
        client, merchant, f"/v1/invoices/{finalized['id']}", **{"default_tax_rates": ""}
    )
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "default_tax_rates"


async def test_an_inclusive_price_holds_its_tax_and_an_items_rates_replace_the_defaults(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    await registered(client, merchant)
    rate = await gst_rate(client, merchant)
    other = await gst_rate(client, merchant, display_name="GST 5", percentage="5")
    buyer = await gst_customer(client, merchant, "27")
    price = await product_price(client, merchant, 118_000, tax_behavior="inclusive")
    invoice = await ok(
        await post(
            client,
            merchant,
            "/v1/invoices",
            customer=buyer["id"],
            **{"default_tax_rates[0]": other},
        )
    )
    item = await ok(
        await post(
            client,
            merchant,
            "/v1/invoiceitems",
            invoice=invoice["id"],
            **{"pricing[price]": price["id"], "tax_rates[0]": rate},
        )
    )
    assert [found["id"] for found in item["tax_rates"]] == [rate]
    drafted = await get(client, merchant, f"/v1/invoices/{invoice['id']}")
    [tax] = drafted["total_taxes"]
    assert (tax["tax_rate_details"]["tax_rate"], tax["tax_behavior"]) == (rate, "inclusive")
    assert (tax["amount"], tax["taxable_amount"]) == (18_000, 100_000)
    assert (drafted["subtotal"], drafted["total"]) == (118_000, 118_000)
    assert (drafted["total_excluding_tax"], drafted["subtotal_excluding_tax"]) == (
        100_000,
        100_000,
    )
    assert (drafted["gst"]["cgst"], drafted["gst"]["sgst"]) == (9_000, 9_000)


async def test_a_merchant_without_a_gstin_charges_no_gst(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    rate = await gst_rate(client, merchant)
    buyer = await customer(client, merchant)
    drafted = await invoice_with(client, merchant, buyer, rate)
    assert drafted["gst"] is None and drafted["total_taxes"] == []
    assert drafted["total"] == 100_000
    bad = await post(
        client,
        merchant,
        "/v1/invoices",
        customer=buyer["id"],
        **{"account_tax_ids[0]": "txi_missing"},
    )
    assert bad.status_code == 404 and bad.json()["error"]["param"] == "account_tax_ids"
