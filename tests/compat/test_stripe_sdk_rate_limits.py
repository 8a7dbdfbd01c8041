"""The SDK's ``RateLimitError``: a key over its limit gets Stripe's 429, which the SDK maps.

A module of its own because it needs a server with a tiny limit (one server at a time).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from beyondpay.kit.settings import Settings
from tests.compat.server import new_merchant, sdk_client, serving
from tests.support import TEST_RING_TEXT, TestMerchant

REQUESTS_PER_MINUTE = 3


@pytest.fixture(scope="module")
def limited_server_url(compat_database_url: str) -> Iterator[str]:
    settings = Settings(
        secret_keys=TEST_RING_TEXT, rate_limit_test_per_key=f"{REQUESTS_PER_MINUTE}/minute"
    )
    with serving(settings, compat_database_url) as url:
        yield url


@pytest.fixture
async def limited_merchant(compat_database_url: str) -> TestMerchant:
    return await new_merchant(compat_database_url)


def test_a_key_over_its_limit_gets_a_rate_limit_error(
    limited_server_url: str, limited_merchant: TestMerchant
) -> None:
    client = sdk_client(limited_server_url, limited_merchant.keys["sk_test"])
    for _ in range(REQUESTS_PER_MINUTE):
        client.v1.customers.list()
    with pytest.raises(stripe.RateLimitError) as caught:
        client.v1.customers.create(params={"name": "Asha"})
    error = caught.value
    assert error.http_status == 429
    assert error.error is not None
    assert error.error.code == "rate_limit"
    assert error.error.type == "rate_limit_error"
    assert error.request_id is not None
    assert error.request_id.startswith("req_")
    assert error.headers.get("stripe-version") == stripe.api_version
    assert int(error.headers["retry-after"]) >= 1

    # Another key of the same merchant has its own counter.
    other = sdk_client(limited_server_url, limited_merchant.keys["sk_live"])
    assert other.v1.customers.list().data == []
