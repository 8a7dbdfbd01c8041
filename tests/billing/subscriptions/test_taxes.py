"""A subscription's tax rates over HTTP on a test clock: ``default_tax_rates`` and
``items[][tax_rates]`` set, rendered, refused naming the parameter, changed and cleared; its
invoices' lines are price lines (the item's price, its product's SAC) taxed by GST, split by
place of supply; pending prorations keep the item's price and rates on the renewal that takes
them; a rate archived after it was set still applies at renewal, as Stripe's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from beyondpay.db.session import Database
from tests.billing.invoices.support import customer, ok, run_invoice_jobs
from tests.payments.support import get, post
from tests.support import TestMerchant
from tests.test_clocks.support import advance, new_clock, run_advances

DAY_S = 86_400
START = int(datetime(2027, 1, 10, 6, 30, tzinfo=UTC).timestamp())
SUPPLIER_GSTIN = "27AAPFU0939F1ZV"  # Maharashtra


async def _setup(
    client: httpx.AsyncClient, merchant: TestMerchant, state: str = "MH"
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A clock, a customer in ``state`` on it, an 18% GST rate and a monthly ₹999 price of a
    product with SAC 998314."""
    await ok(await post(client, merchant, "/v1/tax_ids", type="in_gst", value=SUPPLIER_GSTIN))
    clock = await new_clock(client, merchant, START)
    buyer = await customer(
        client,
        merchant,
        test_clock=clock["id"],
        **{"address[state]": state, "address[country]": "IN"},
    )
    rate = await ok(
        await post(
            client,
            merchant,
            "/v1/tax_rates",
            display_name="GST",
            percentage="18",
            inclusive="false",
            tax_type="gst",
        )
    )
    product = await ok(await post(client, merchant, "/v1/products", name="Pro", hsn_sac="998314"))
    price = await ok(
        await post(
            client,
            merchant,
            "/v1/prices",
            product=product["id"],
            currency="inr",
            unit_amount=99_900,
            **{"recurring[interval]": "month"},
        )
    )
    return clock, buyer, rate, price


def _share(amount: int, start: int, end: int, at: int) -> int:
    """``amount`` for the period's seconds left after ``at``, to the nearest paisa (half up)."""
    return (amount * (end - at) * 2 + (end - start)) // (2 * (end - start))


async def _renew(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, clock: str, at: int
) -> None:
    await ok(await advance(client, merchant, clock, at))
    await run_advances(database)
    await run_invoice_jobs(database)


async def test_tax_rates_are_set_rendered_refused_and_cleared(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    _, buyer, rate, price = await _setup(client, merchant)
    missing = await post(
        client,
        merchant,
        "/v1/subscriptions",
        customer=buyer["id"],
        **{"items[0][price]": price["id"], "default_tax_rates[0]": "txr_missing"},
    )
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "default_tax_rates"
    archived = await ok(
        await post(
            client,
            merchant,
            "/v1/tax_rates",
            display_name="Old",
            percentage="12",
            inclusive="false",
            active="false",
        )
    )
    inactive = await post(
        client,
        merchant,
        "/v1/subscriptions",
        customer=buyer["id"],
        **{"items[0][price]": price["id"], "items[0][tax_rates][0]": archived["id"]},
    )
    assert inactive.status_code == 400
    assert inactive.json()["error"]["param"] == "items[0][tax_rates]"

    subscription = await ok(
        await post(
            client,
            merchant,
            "/v1/subscriptions",
            customer=buyer["id"],
            trial_period_days="7",
            **{"items[0][price]": price["id"], "default_tax_rates[0]": rate["id"]},
        )
    )
    assert [found["id"] for found in subscription["default_tax_rates"]] == [rate["id"]]
    (item,) = subscription["items"]["data"]
    assert item["tax_rates"] == []
    path = f"/v1/subscriptions/{subscription['id']}"
    moved = await ok(
        await post(
            client,
            merchant,
            path,
            default_tax_rates="",
            **{"items[0][id]": item["id"], "items[0][tax_rates][0]": rate["id"]},
        )
    )
    assert moved["default_tax_rates"] == []
    assert [found["id"] for found in moved["items"]["data"][0]["tax_rates"]] == [rate["id"]]
    wrong = await post(
        client,
        merchant,
        path,
        **{"items[0][id]": item["id"], "items[0][tax_rates][0]": "txr_missing"},
    )
    assert wrong.status_code == 404 and wrong.json()["error"]["param"] == "items[0][tax_rates]"
    cleared = await ok(
        await post(
            client, merchant, path, **{"items[0][id]": item["id"], "items[0][tax_rates]": ""}
        )
    )
    assert cleared["items"]["data"][0]["tax_rates"] == []


async def test_renewals_and_pending_prorations_are_price_lines_with_gst(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock, buyer, rate, price = await _setup(client, merchant, state="KA")
    subscription = await ok(
        await post(
            client,
            merchant,
            "/v1/subscriptions",
            customer=buyer["id"],
            **{"items[0][price]": price["id"], "items[0][tax_rates][0]": rate["id"]},
        )
    )
    await run_invoice_jobs(database)
    first = await get(client, merchant, f"/v1/invoices/{subscription['latest_invoice']}")
    assert first["status"] == "paid" and first["total"] == 117_882
    assert (first["gst"]["supply_type"], first["gst"]["igst"]) == ("inter_state", 17_982)
    (line,) = first["lines"]["data"]
    assert line["pricing"]["price_details"] == {"price": price["id"], "product": price["product"]}
    assert line["parent"]["type"] == "subscription_item_details", line["parent"]
    assert [tax["amount"] for tax in line["taxes"]] == [17_982]

    # Two seats from mid-period, prorated into pending items that keep the price and the rate.
    (item,) = subscription["items"]["data"]
    start, end = item["current_period_start"], item["current_period_end"]
    at = start + 10 * DAY_S
    await _renew(client, merchant, database, clock["id"], at)
    await ok(
        await post(
            client,
            merchant,
            f"/v1/subscriptions/{subscription['id']}",
            **{"items[0][id]": item["id"], "items[0][quantity]": "2"},
        )
    )
    # The rate is archived: what was set goes on applying (Stripe's rule).
    await ok(await post(client, merchant, f"/v1/tax_rates/{rate['id']}", active="false"))
    await _renew(client, merchant, database, clock["id"], end + DAY_S)
    renewed = await get(client, merchant, f"/v1/subscriptions/{subscription['id']}")
    renewal = await get(client, merchant, f"/v1/invoices/{renewed['latest_invoice']}")
    lines = renewal["lines"]["data"]
    amounts = sorted(line["amount"] for line in lines)
    assert amounts == sorted(
        [-_share(99_900, start, end, at), _share(2 * 99_900, start, end, at), 2 * 99_900]
    )
    assert {line["pricing"]["price_details"]["price"] for line in lines} == {price["id"]}
    assert all([tax["amount"] for tax in line["taxes"]] for line in lines)
    tax = sum(tax["amount"] for line in lines for tax in line["taxes"])
    assert renewal["total"] == sum(amounts) + tax and renewal["status"] == "paid"
    assert renewal["gst"]["igst"] == tax and renewal["gst"]["cgst"] == 0


async def test_an_inclusive_price_and_a_change_of_rates_with_the_plan(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    """A price with ``tax_behavior=inclusive`` holds its GST; a plan change that also changes
    the default rates credits the old plan at the old rate and charges the new at the new."""
    clock, buyer, eighteen, _ = await _setup(client, merchant)
    twelve = await ok(
        await post(
            client,
            merchant,
            "/v1/tax_rates",
            display_name="GST",
            percentage="12",
            inclusive="false",
            tax_type="gst",
        )
    )
    inclusive = await ok(
        await post(
            client,
            merchant,
            "/v1/prices",
            currency="inr",
            unit_amount=118_000,
            tax_behavior="inclusive",
            **{"product_data[name]": "Team", "recurring[interval]": "month"},
        )
    )
    subscription = await ok(
        await post(
            client,
            merchant,
            "/v1/subscriptions",
            customer=buyer["id"],
            **{"items[0][price]": inclusive["id"], "default_tax_rates[0]": eighteen["id"]},
        )
    )
    await run_invoice_jobs(database)
    first = await get(client, merchant, f"/v1/invoices/{subscription['latest_invoice']}")
    assert (first["subtotal"], first["total_excluding_tax"], first["total"]) == (
        118_000,
        100_000,
        118_000,
    )
    assert (first["gst"]["cgst"], first["gst"]["sgst"]) == (9_000, 9_000)

    (item,) = subscription["items"]["data"]
    start, end = item["current_period_start"], item["current_period_end"]
    at = start + 10 * DAY_S
    await _renew(client, merchant, database, clock["id"], at)
    bigger = await ok(
        await post(
            client,
            merchant,
            "/v1/prices",
            currency="inr",
            unit_amount=200_000,
            **{"product_data[name]": "Business", "recurring[interval]": "month"},
        )
    )
    changed = await ok(
        await post(
            client,
            merchant,
            f"/v1/subscriptions/{subscription['id']}",
            proration_behavior="always_invoice",
            **{
                "items[0][id]": item["id"],
                "items[0][price]": bigger["id"],
                "default_tax_rates[0]": twelve["id"],
            },
        )
    )
    assert [rate["id"] for rate in changed["default_tax_rates"]] == [twelve["id"]]
    prorated = await get(client, merchant, f"/v1/invoices/{changed['latest_invoice']}")
    credit, charge = prorated["lines"]["data"]
    assert credit["amount"] == -_share(118_000, start, end, at)
    assert charge["amount"] == _share(200_000, start, end, at)
    assert [rate["id"] for rate in credit["tax_rates"]] == [eighteen["id"]]
    assert [rate["id"] for rate in charge["tax_rates"]] == [twelve["id"]]
    assert credit["taxes"][0]["tax_behavior"] == "inclusive"
    assert charge["taxes"][0]["amount"] == (charge["amount"] * 12 + 50) // 100
