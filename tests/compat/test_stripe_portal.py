"""The official ``stripe`` SDK driving the customer portal over real HTTP: configurations
created, retrieved, updated and listed (with auto-paging), a session made with the default
configuration and with one named and expanded, the SDK's classes for both objects, its errors
for a bad parameter and another merchant's customer, and the session's link opening the portal
(once) in a plain HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import stripe

from tests.compat.server import CLIENT_TIMEOUT_S, new_merchant, sdk_client
from tests.support import TestMerchant


@pytest.fixture
async def portal_merchant(compat_database_url: str) -> AsyncIterator[TestMerchant]:
    yield await new_merchant(compat_database_url)


@pytest.fixture
def client(server_url: str, portal_merchant: TestMerchant) -> stripe.StripeClient:
    return sdk_client(server_url, portal_merchant.keys["sk_test"])


def test_configurations_are_created_updated_and_listed(client: stripe.StripeClient) -> None:
    made = client.v1.billing_portal.configurations.create(
        {
            "features": {
                "invoice_history": {"enabled": True},
                "payment_method_update": {"enabled": True},
                "subscription_cancel": {
                    "enabled": True,
                    "mode": "at_period_end",
                    "cancellation_reason": {
                        "enabled": True,
                        "options": ["too_expensive", "unused"],
                    },
                },
                "subscription_update": {
                    "enabled": True,
                    "default_allowed_updates": ["price"],
                    "products": [{"product": "prod_basic", "prices": ["price_monthly"]}],
                },
            },
            "business_profile": {
                "headline": "Acme partners with beyondpay",
                "privacy_policy_url": "https://shop.example/privacy",
                "terms_of_service_url": "https://shop.example/terms",
            },
            "default_return_url": "https://shop.example/account",
            "metadata": {"plan_set": "2026"},
        }
    )
    assert isinstance(made, stripe.billing_portal.Configuration)
    assert made.id.startswith("bpc_") and made.is_default is False and made.active is True
    assert made.features.subscription_cancel.cancellation_reason.options == [
        "too_expensive",
        "unused",
    ]
    assert made.features.subscription_update.products is not None
    assert made.features.subscription_update.products[0].prices == ["price_monthly"]
    assert made.business_profile.headline == "Acme partners with beyondpay"
    updated = client.v1.billing_portal.configurations.update(
        made.id,
        {"features": {"invoice_history": {"enabled": False}}, "business_profile": {"headline": ""}},
    )
    assert updated.features.invoice_history.enabled is False
    assert updated.features.payment_method_update.enabled is True
    assert updated.business_profile.headline is None
    assert client.v1.billing_portal.configurations.retrieve(made.id).id == made.id
    listed = list(client.v1.billing_portal.configurations.list({"limit": 1}).auto_paging_iter())
    assert {item.is_default for item in listed} == {True, False}
    assert made.id in [item.id for item in listed]
    defaults = client.v1.billing_portal.configurations.list({"is_default": True})
    assert len(defaults.data) == 1 and defaults.data[0].is_default
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.billing_portal.configurations.update(defaults.data[0].id, {"active": False})
    assert raised.value.param == "active"


def test_a_session_opens_the_portal_once(client: stripe.StripeClient, server_url: str) -> None:
    customer = client.v1.customers.create({"name": "Asha Rao", "email": "asha@example.com"})
    session = client.v1.billing_portal.sessions.create(
        {"customer": customer.id, "return_url": "https://shop.example/account"}
    )
    assert isinstance(session, stripe.billing_portal.Session)
    assert session.id.startswith("bps_") and session.customer == customer.id
    assert session.return_url == "https://shop.example/account"
    assert isinstance(session.configuration, str) and session.configuration.startswith("bpc_")
    assert session.livemode is False and session.flow is None
    link = server_url + httpx.URL(session.url).raw_path.decode()
    with httpx.Client(follow_redirects=True) as browser:
        page = browser.get(link)
        assert page.status_code == 200, page.text
        assert "Asha Rao" in page.text and "Manage your billing" in page.text
    spent = httpx.get(link, timeout=CLIENT_TIMEOUT_S)
    assert spent.status_code == 410 and "already been used" in spent.text
    expanded = client.v1.billing_portal.sessions.create(
        {
            "customer": customer.id,
            "configuration": session.configuration,
            "expand": ["configuration"],
        }
    )
    assert isinstance(expanded.configuration, stripe.billing_portal.Configuration)
    assert expanded.configuration.id == session.configuration
    assert expanded.url != session.url


def test_refusals_are_the_sdks_errors(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.billing_portal.sessions.create({"customer": "cus_nobody"})
    assert missing.value.http_status == 404 and missing.value.param == "customer"
    with pytest.raises(stripe.InvalidRequestError) as bad:
        client.v1.billing_portal.sessions.create(
            {"customer": "cus_nobody", "locale": "tlh"}  # Klingon is not one of them
        )
    assert bad.value.http_status == 400 and bad.value.param == "locale"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.billing_portal.configurations.create(
            {"features": {"customer_update": {"enabled": True}}}
        )
    assert refused.value.param == "features[customer_update][enabled]"
