"""The sandbox's 3-D Secure and bank pages follow the configured port when BEYONDPAY_PUBLIC_URL
is unset: a server on a non-default port links payers to itself, not to :8000."""

from __future__ import annotations

import uuid

import httpx
import pytest

from beyondpay.kit.settings import Settings
from tests.support import TEST_RING_TEXT, TestMerchant

PORT = 18123


@pytest.fixture
def api_settings() -> Settings:
    return Settings(secret_keys=TEST_RING_TEXT, rate_limits_enabled=False, port=PORT)


async def test_three_d_secure_page_is_on_the_configured_port(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    response = await client.post(
        "/v1/payment_intents",
        headers={**merchant.auth(), "Idempotency-Key": str(uuid.uuid4())},
        data={
            "amount": "2000",
            "currency": "inr",
            "payment_method": "pm_card_threeDSecure2Required",
            "confirm": "true",
            "return_url": "https://shop.example/done",
        },
    )
    assert response.status_code == 200, response.text
    link = httpx.URL(response.json()["next_action"]["redirect_to_url"]["url"])
    assert (link.scheme, link.host, link.port) == ("http", "127.0.0.1", PORT)
    assert link.path.startswith("/sandbox/3ds/")
    page = await client.get(link.path)
    assert page.status_code == 200 and "authentication" in page.text.lower()
