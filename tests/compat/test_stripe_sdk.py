"""The official Stripe Python SDK, pointed at a beyondpay server on loopback, works unchanged.

Each test speaks to the server only through the SDK (real HTTP over TCP), as a merchant's
integration would: the SDK chooses its classes from our ``object`` fields, pages with our
``url`` and cursors, and maps our error envelopes and status codes to its exception classes.
"""

from __future__ import annotations

import uuid

import pytest
import stripe

from tests.compat.server import sdk_client
from tests.support import TestMerchant

PAGE_LIMIT = 10
CUSTOMERS_MANY = 25  # three pages of PAGE_LIMIT


def _assert_headers_of(error: stripe.StripeError, status: int) -> None:
    """The SDK read our Request-Id, and we echoed the Stripe-Version it sent."""
    assert error.http_status == status
    assert error.request_id is not None
    assert error.request_id.startswith("req_")
    assert error.headers.get("stripe-version") == stripe.api_version


def _code(error: stripe.StripeError) -> str | None:
    """The envelope's ``code``: the SDK sets ``error.code`` only on some classes, but parses
    the whole envelope into ``error.error`` for all of them."""
    assert error.error is not None
    return error.error.code


def test_create_retrieve_update_delete(server_url: str, sdk_merchant: TestMerchant) -> None:
    client = sdk_client(server_url, sdk_merchant.keys["sk_test"])

    created = client.v1.customers.create(
        params={
            "name": "Asha Rao",
            "email": "asha@example.com",
            "metadata": {"order": "42"},
            "address": {"city": "Pune", "country": "IN"},
        }
    )
    assert isinstance(created, stripe.Customer)
    assert created.id.startswith("cus_")
    assert created.livemode is False
    assert created.metadata.to_dict() == {"order": "42"}
    assert created.address is not None
    assert created.address.city == "Pune"
    response = created.last_response
    assert response is not None
    assert response.request_id is not None
    assert response.request_id.startswith("req_")
    assert response.headers["stripe-version"] == stripe.api_version

    fetched = client.v1.customers.retrieve(created.id)
    assert fetched.to_dict() == created.to_dict()

    updated = client.v1.customers.update(
        created.id, params={"metadata": {"order": "", "tier": "gold"}, "description": "VIP"}
    )
    assert updated.metadata.to_dict() == {"tier": "gold"}
    assert updated.description == "VIP"
    assert updated.email == "asha@example.com"

    deleted = client.v1.customers.delete(created.id)
    assert deleted.id == created.id
    assert deleted.deleted is True
    assert client.v1.customers.retrieve(created.id).deleted is True
    assert created.id not in [customer.id for customer in client.v1.customers.list().data]


def test_list_pages_through_every_customer_newest_first(
    server_url: str, sdk_merchant: TestMerchant
) -> None:
    client = sdk_client(server_url, sdk_merchant.keys["sk_test"])
    created = [
        client.v1.customers.create(params={"name": f"Customer {number}"}).id
        for number in range(CUSTOMERS_MANY)
    ]

    first_page = client.v1.customers.list(params={"limit": PAGE_LIMIT})
    assert isinstance(first_page, stripe.ListObject)
    assert first_page.url == "/v1/customers"
    assert first_page.has_more is True
    assert [customer.id for customer in first_page.data] == created[::-1][:PAGE_LIMIT]

    paged = [customer.id for customer in first_page.auto_paging_iter()]
    assert paged == created[::-1]

    oldest = client.v1.customers.list(params={"limit": PAGE_LIMIT, "starting_after": created[4]})
    assert [customer.id for customer in oldest.data] == created[3::-1]
    assert oldest.has_more is False


def test_invalid_key_is_an_authentication_error(server_url: str) -> None:
    for key in ("sk_test_" + "0" * 40, "not-a-key"):
        client = sdk_client(server_url, key)
        with pytest.raises(stripe.AuthenticationError) as caught:
            client.v1.customers.list()
        _assert_headers_of(caught.value, 401)
        assert _code(caught.value) == "api_key_invalid"


def test_restricted_key_without_scope_is_a_permission_error(
    server_url: str, sdk_merchant: TestMerchant
) -> None:
    restricted = sdk_client(server_url, sdk_merchant.keys["rk_test"])
    assert restricted.v1.customers.list().data == []  # customers:read is held
    with pytest.raises(stripe.PermissionError) as caught:
        restricted.v1.customers.create(params={"name": "Asha"})
    _assert_headers_of(caught.value, 403)
    assert _code(caught.value) == "scope_missing"


def test_publishable_key_is_a_permission_error(server_url: str, sdk_merchant: TestMerchant) -> None:
    client = sdk_client(server_url, sdk_merchant.keys["pk_test"])
    with pytest.raises(stripe.PermissionError) as caught:
        client.v1.customers.list()
    _assert_headers_of(caught.value, 403)
    assert _code(caught.value) == "secret_key_required"


def test_invalid_requests_name_the_parameter(server_url: str, sdk_merchant: TestMerchant) -> None:
    client = sdk_client(server_url, sdk_merchant.keys["sk_test"])

    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.customers.create(params={"name": "Asha", "nickname": "A"})  # type: ignore[typeddict-unknown-key]
    _assert_headers_of(unknown.value, 400)
    assert unknown.value.code == "parameter_unknown"
    assert unknown.value.param == "nickname"

    with pytest.raises(stripe.InvalidRequestError) as nested:
        client.v1.customers.create(params={"address": {"town": "Pune"}})  # type: ignore[typeddict-unknown-key]
    assert nested.value.code == "parameter_unknown"
    assert nested.value.param == "address[town]"

    with pytest.raises(stripe.InvalidRequestError) as email:
        client.v1.customers.create(params={"email": "not-an-email"})
    _assert_headers_of(email.value, 400)
    assert email.value.param == "email"

    with pytest.raises(stripe.InvalidRequestError) as limit:
        client.v1.customers.list(params={"limit": 1000})
    assert limit.value.param == "limit"

    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.customers.retrieve("cus_doesnotexist")
    _assert_headers_of(missing.value, 404)
    assert missing.value.code == "resource_missing"
    assert missing.value.param == "id"


def test_idempotency_key_replays_and_refuses_other_parameters(
    server_url: str, sdk_merchant: TestMerchant
) -> None:
    client = sdk_client(server_url, sdk_merchant.keys["sk_test"])
    key = f"compat-{uuid.uuid4()}"

    first = client.v1.customers.create(params={"name": "Asha"}, options={"idempotency_key": key})
    again = client.v1.customers.create(params={"name": "Asha"}, options={"idempotency_key": key})
    assert again.id == first.id
    assert again.last_response is not None
    assert again.last_response.headers["idempotent-replayed"] == "true"

    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.customers.create(params={"name": "Ravi"}, options={"idempotency_key": key})
    _assert_headers_of(caught.value, 400)
    assert _code(caught.value) == "idempotency_error"
    assert [customer.id for customer in client.v1.customers.list().data] == [first.id]


def test_customer_search(server_url: str, sdk_merchant: TestMerchant) -> None:
    client = sdk_client(server_url, sdk_merchant.keys["sk_test"])
    asha = client.v1.customers.create(params={"name": "Asha", "email": "a@b.com"})
    client.v1.customers.create(params={"name": "Ravi", "email": "r@b.com"})

    found = client.v1.customers.search({"query": "email:'a@b.com'"})
    assert isinstance(found, stripe.SearchResultObject)
    assert [customer.id for customer in found.data] == [asha.id]
    assert isinstance(found.data[0], stripe.Customer)
    assert found.has_more is False

    paged = client.v1.customers.search({"query": "email~'b.com'", "limit": 1})
    assert paged.has_more is True
    assert paged.next_page is not None
    every = [customer.id for customer in paged.auto_paging_iter()]
    assert len(every) == 2 and every[1] == asha.id  # newest first, across pages

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.search({"query": "email:'a' AND name:'b' OR phone:'c'"})
    assert caught.value.param == "query"


def test_card_payment_method_attached_and_listed(
    server_url: str, sdk_merchant: TestMerchant
) -> None:
    client = sdk_client(server_url, sdk_merchant.keys["sk_test"])
    customer = client.v1.customers.create(params={"name": "Asha"})
    created = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "314"},
        }
    )
    assert isinstance(created, stripe.PaymentMethod)
    assert created.card is not None
    assert (created.card.brand, created.card.last4) == ("visa", "4242")
    attached = client.v1.payment_methods.attach(created.id, params={"customer": customer.id})
    assert attached.customer == customer.id

    listed = client.v1.payment_methods.list({"customer": customer.id, "type": "card"})
    assert [method.id for method in listed.data] == [created.id]
    assert isinstance(listed.data[0], stripe.PaymentMethod)
    of_customer = client.v1.customers.payment_methods.list(customer.id)
    assert [method.id for method in of_customer.data] == [created.id]

    token = client.v1.payment_methods.attach("pm_card_mastercard", params={"customer": customer.id})
    assert token.card is not None and token.card.brand == "mastercard"

    with pytest.raises(stripe.CardError) as declined:
        client.v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": "4242424242424241", "exp_month": 1, "exp_year": 2040},
            }
        )
    assert declined.value.code == "incorrect_number"
    assert declined.value.param == "card[number]"

    detached = client.v1.payment_methods.detach(created.id)
    assert detached.customer is None
