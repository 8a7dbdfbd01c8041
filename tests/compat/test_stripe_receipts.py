"""Receipts with the official ``stripe`` SDK over real HTTP: an intent with ``receipt_email``
confirmed with ``pm_card_visa`` sends a receipt email (the server's worker sends it after commit
to the test-mode SMTP sink), which holds the charge's ``receipt_url``; that page renders; and
updating a charge's ``receipt_email`` sends it again, under the same receipt number."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, Final

import httpx
import pytest
import stripe

from beyondpay.kit.settings import Settings
from tests.compat.server import CLIENT_TIMEOUT_S, new_merchant, sdk_client, serving
from tests.support import TEST_RING_TEXT, TestMerchant

WAIT_S: Final = 20.0
POLL_S: Final = 0.1


@pytest.fixture(scope="module")
def receipts_server_url(compat_database_url: str) -> Iterator[str]:
    settings = Settings(secret_keys=TEST_RING_TEXT, rate_limit_test_per_key="1000/second")
    with serving(settings, compat_database_url, run_worker=True, public=True) as url:
        yield url


@pytest.fixture
async def shop(compat_database_url: str) -> AsyncIterator[TestMerchant]:
    yield await new_merchant(compat_database_url)


def _emails(server_url: str, merchant: TestMerchant, count: int, **query: str) -> list[Any]:
    """The sink's emails for the merchant, once ``count`` have arrived (or the wait is over)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        listed = httpx.get(
            f"{server_url}/v1/notifications/sandbox/emails",
            params=query,
            headers=merchant.auth(),
            timeout=CLIENT_TIMEOUT_S,
        )
        assert listed.status_code == 200, listed.text
        data: list[Any] = listed.json()["data"]
        if len(data) >= count or time.monotonic() > deadline:
            return data
        time.sleep(POLL_S)


def test_a_receipt_email_links_to_a_page_that_renders(
    receipts_server_url: str, shop: TestMerchant
) -> None:
    client = sdk_client(receipts_server_url, shop.keys["sk_test"])
    intent = client.v1.payment_intents.create(
        {
            "amount": 10_000_000,
            "currency": "inr",
            "payment_method": "pm_card_visa",
            "receipt_email": "asha@example.com",
            "confirm": True,
        }
    )
    assert intent.status == "succeeded" and intent.receipt_email == "asha@example.com"

    [email] = _emails(receipts_server_url, shop, 1)
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert isinstance(charge, stripe.Charge)
    assert charge.receipt_email == "asha@example.com"
    assert charge.receipt_url is not None
    assert charge.receipt_url.startswith(f"{receipts_server_url}/receipts/")
    assert charge.receipt_number == "0000-0001"
    assert email["recipients"] == ["asha@example.com"]
    assert email["related"] == charge.id
    assert charge.receipt_url in email["text"]
    assert email["subject"] == "Your receipt from Acme #0000-0001"

    page = httpx.get(charge.receipt_url, timeout=CLIENT_TIMEOUT_S)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "₹1,00,000.00" in page.text and "Receipt #0000-0001" in page.text

    # Stripe: updating receipt_email sends the receipt again.
    updated = client.v1.charges.update(charge.id, {"receipt_email": "ravi@example.com"})
    assert updated.receipt_email == "ravi@example.com"
    [resent] = _emails(receipts_server_url, shop, 1, to="ravi@example.com")
    assert resent["subject"] == "Your receipt from Acme #0000-0001"
    assert charge.receipt_url in resent["text"]
