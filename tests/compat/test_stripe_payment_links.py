"""The official ``stripe`` SDK driving payment links over real HTTP: a link created with a
catalog price, a limit and a redirect, read back as the SDK's ``PaymentLink``, its line items
listed, updated (deactivated, metadata, a quantity), listed by ``active``; a visit of its
``url`` opening a Checkout Session that records the link."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import stripe

from tests.compat.server import new_merchant, sdk_client
from tests.support import TestMerchant


@pytest.fixture
async def links_merchant(compat_database_url: str) -> AsyncIterator[TestMerchant]:
    yield await new_merchant(compat_database_url)


@pytest.fixture
def client(server_url: str, links_merchant: TestMerchant) -> stripe.StripeClient:
    return sdk_client(server_url, links_merchant.keys["sk_test"])


def test_the_sdk_creates_retrieves_updates_and_lists_a_link(
    client: stripe.StripeClient, server_url: str
) -> None:
    price = client.v1.prices.create(
        {"currency": "inr", "unit_amount": 49_900, "product_data": {"name": "Tea sampler"}}
    )
    link = client.v1.payment_links.create(
        {
            "line_items": [{"price": price.id, "quantity": 2}],
            "restrictions": {"completed_sessions": {"limit": 10}},
            "after_completion": {
                "type": "redirect",
                "redirect": {"url": "https://shop.example/thanks?s={CHECKOUT_SESSION_ID}"},
            },
            "payment_method_types": ["card", "upi"],
            "metadata": {"campaign": "diwali"},
        }
    )
    assert isinstance(link, stripe.PaymentLink)
    assert link.id.startswith("plink_") and link.active and link.currency == "inr"
    assert link.restrictions is not None
    assert link.restrictions.completed_sessions.limit == 10
    assert link.restrictions.completed_sessions.count == 0
    assert link.after_completion.type == "redirect"
    assert link.after_completion.redirect is not None
    assert link.payment_method_types == ["card", "upi"]
    assert link.metadata.to_dict() == {"campaign": "diwali"}
    again = client.v1.payment_links.retrieve(link.id)
    assert again.to_dict() == link.to_dict()
    items = client.v1.payment_links.line_items.list(link.id)
    assert [(i.description, i.quantity, i.amount_total) for i in items.data] == [
        ("Tea sampler", 2, 99_800)
    ]
    assert items.data[0].price is not None and items.data[0].price.id == price.id
    changed = client.v1.payment_links.update(
        link.id,
        {
            "active": False,
            "metadata": {"campaign": "", "season": "winter"},
            "line_items": [{"id": items.data[0].id, "quantity": 3}],
        },
    )
    assert changed.active is False and changed.metadata.to_dict() == {"season": "winter"}
    assert client.v1.payment_links.line_items.list(link.id).data[0].quantity == 3
    inactive = client.v1.payment_links.list({"active": False})
    assert [found.id for found in inactive.data] == [link.id]
    assert link.id not in [found.id for found in client.v1.payment_links.list({"active": True})]
    reopened = client.v1.payment_links.update(link.id, {"active": True})
    with httpx.Client(follow_redirects=False) as browser:
        # The link's path on the test server (its url names the configured public address).
        visit = browser.get(server_url + httpx.URL(reopened.url).path)
    assert visit.status_code == 303
    opened = client.v1.checkout.sessions.list()
    assert opened.data[0].payment_link == link.id
    assert opened.data[0].amount_total == 3 * 49_900
