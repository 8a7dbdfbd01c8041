"""The official ``stripe`` SDK with tax rates and tax ids over real HTTP: a GST rate made,
read, archived and listed; a customer's GSTIN added, refused when mistyped (the error names
``value``), listed, read and deleted; the merchant's own GSTIN through ``/v1/tax_ids``."""

from __future__ import annotations

import pytest
import stripe

from tests.compat.server import new_merchant, sdk_client

GSTIN = "27AAPFU0939F1ZV"  # the example GST guides print (Maharashtra)
OWN_GSTIN = "29AAPFU0939F1ZR"  # the same PAN registered in Karnataka


@pytest.fixture
async def client(server_url: str, compat_database_url: str) -> stripe.StripeClient:
    merchant = await new_merchant(compat_database_url)
    return sdk_client(server_url, merchant.keys["sk_test"])


def test_a_gst_rate_through_the_sdk(client: stripe.StripeClient) -> None:
    rate = client.v1.tax_rates.create(
        {
            "display_name": "GST",
            "percentage": 18.0,
            "inclusive": False,
            "country": "IN",
            "state": "KA",
            "tax_type": "gst",
            "jurisdiction": "IN-KA",
            "metadata": {"hsn": "9983"},
        }
    )
    assert isinstance(rate, stripe.TaxRate)
    assert rate.id.startswith("txr_") and rate.percentage == 18.0 and rate.tax_type == "gst"
    assert rate.metadata["hsn"] == "9983" and rate.active is True
    inclusive = client.v1.tax_rates.create(
        {"display_name": "GST", "percentage": 12.5, "inclusive": True}
    )
    assert inclusive.percentage == 12.5 and inclusive.inclusive is True
    assert client.v1.tax_rates.retrieve(rate.id).display_name == "GST"

    archived = client.v1.tax_rates.update(rate.id, {"active": False, "display_name": "IGST"})
    assert archived.active is False and archived.display_name == "IGST"
    assert archived.percentage == 18.0

    listed = client.v1.tax_rates.list({"active": True})
    assert [item.id for item in listed.data] == [inclusive.id]
    every = [item.id for item in client.v1.tax_rates.list({"limit": 1}).auto_paging_iter()]
    assert every == [inclusive.id, rate.id]

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.tax_rates.create(
            {"display_name": "GST", "percentage": 18.125, "inclusive": False}
        )
    assert raised.value.param == "percentage"


def test_a_customer_s_gstin_through_the_sdk(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(
        {"name": "Asha Traders", "address": {"state": "MH", "country": "IN"}}
    )
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.tax_ids.create(
            customer.id, {"type": "in_gst", "value": "27AAPFU0939F1ZW"}
        )
    assert raised.value.code == "tax_id_invalid" and raised.value.param == "value"
    assert "check character" in str(raised.value.user_message)

    tax_id = client.v1.customers.tax_ids.create(customer.id, {"type": "in_gst", "value": GSTIN})
    assert isinstance(tax_id, stripe.TaxId)
    assert (tax_id.type, tax_id.value, tax_id.country) == ("in_gst", GSTIN, "IN")
    assert tax_id.customer == customer.id and tax_id.owner is not None
    assert tax_id.owner.type == "customer" and tax_id.verification is not None
    assert tax_id.verification.status == "unavailable"

    listed = client.v1.customers.tax_ids.list(customer.id)
    assert [item.id for item in listed.data] == [tax_id.id]
    assert client.v1.customers.tax_ids.retrieve(customer.id, tax_id.id).value == GSTIN
    by_owner = client.v1.tax_ids.list({"owner": {"type": "customer", "customer": customer.id}})
    assert [item.id for item in by_owner.data] == [tax_id.id]

    deleted = client.v1.customers.tax_ids.delete(customer.id, tax_id.id)
    assert deleted.deleted is True and deleted.id == tax_id.id
    assert client.v1.customers.tax_ids.list(customer.id).data == []
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.tax_ids.retrieve(tax_id.id)
    assert missing.value.http_status == 404


def test_the_merchant_s_own_gstin_through_the_sdk(client: stripe.StripeClient) -> None:
    own = client.v1.tax_ids.create({"type": "in_gst", "value": OWN_GSTIN})
    assert own.owner is not None and own.owner.type == "self" and own.customer is None
    explicit = client.v1.tax_ids.create(
        {"type": "eu_vat", "value": "DE123456789", "owner": {"type": "self"}}
    )
    assert explicit.country == "DE"
    listed = client.v1.tax_ids.list()
    assert [item.id for item in listed.data] == [explicit.id, own.id]
    assert client.v1.tax_ids.retrieve(own.id).value == OWN_GSTIN
    assert client.v1.tax_ids.delete(explicit.id).deleted is True
    assert [item.id for item in client.v1.tax_ids.list().data] == [own.id]
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.tax_ids.create(
            {"type": "in_gst", "value": OWN_GSTIN, "owner": {"type": "account", "account": "a"}}
        )
    assert raised.value.param == "owner[type]"
