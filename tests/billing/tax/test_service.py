"""What later parts of billing call: the rates a line names, the merchant's GSTIN and state, a
customer's GSTIN and place of supply, and an invoice's GST (which tax, within or across states)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from beyondpay.billing.tax.domain import GstKind, SupplyBasis, gstin_check_character
from beyondpay.billing.tax.errors import TaxRateInactiveError
from beyondpay.billing.tax.schemas import (
    CustomerTaxIdCreateParams,
    CustomerTaxIdListParams,
    TaxIdCreateParams,
    TaxRateCreateParams,
    TaxRateUpdateParams,
)
from beyondpay.billing.tax.service import (
    CustomerGst,
    GstParty,
    customer_gst,
    invoice_gst,
    supplier_gst,
    tax_id_service,
    tax_rate_service,
)
from beyondpay.customers.schemas import CustomerCreateParams
from beyondpay.customers.service import customer_service
from beyondpay.db.session import Database
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.merchants.domain import Caller, KeyKind, MerchantStatus
from tests.support import TestMerchant


def _gstin(state: str, pan: str = "AAPFU0939F") -> str:
    body = f"{state}{pan}1Z"
    return body + gstin_check_character(body)


KARNATAKA = _gstin("29")
MAHARASHTRA = _gstin("27")
TAMIL_NADU = _gstin("33", "ABCDE1234F")


def _caller(merchant: TestMerchant) -> Caller:
    return Caller(
        key_id="key_test",
        kind=KeyKind.secret,
        livemode=False,
        merchant_id=merchant.id,
        merchant_status=MerchantStatus.active,
    )


async def _customer(database: Database, caller: Caller, **params: Any) -> str:
    async with database.unit_of_work() as session:
        row = await customer_service.create(
            session, caller, CustomerCreateParams.model_validate(params)
        )
        return row.id


async def _own_gstin(database: Database, caller: Caller, value: str) -> str:
    async with database.unit_of_work() as session:
        row = await tax_id_service.create(
            session, caller, TaxIdCreateParams(type="in_gst", value=value)
        )
        return row.id


async def _customer_gstin(database: Database, caller: Caller, customer: str, value: str) -> None:
    async with database.unit_of_work() as session:
        await tax_id_service.create_for_customer(
            session, caller, customer, CustomerTaxIdCreateParams(type="in_gst", value=value)
        )


async def test_the_supplier_is_the_oldest_own_gstin_or_the_one_named(
    database: Database, merchant: TestMerchant
) -> None:
    caller = _caller(merchant)
    async with database.unit_of_work() as session:
        assert await supplier_gst(session, caller) == GstParty(None, None)
    first = await _own_gstin(database, caller, KARNATAKA)
    second = await _own_gstin(database, caller, MAHARASHTRA)
    customer = await _customer(database, caller, name="Asha")
    await _customer_gstin(database, caller, customer, TAMIL_NADU)
    async with database.unit_of_work() as session:
        assert await supplier_gst(session, caller) == GstParty(KARNATAKA, "29")
        assert await supplier_gst(session, caller, tax_id=second) == GstParty(MAHARASHTRA, "27")
        customers = (
            await tax_id_service.list_of_customer(
                session, caller, customer, CustomerTaxIdListParams()
            )
        )[0]
        with pytest.raises(ResourceMissingError) as raised:  # a customer's is not the merchant's
            await supplier_gst(session, caller, tax_id=customers[0].id)
        assert raised.value.param == "account_tax_ids"
    async with database.unit_of_work() as session:
        await tax_id_service.delete(session, caller, first)
    async with database.unit_of_work() as session:
        assert await supplier_gst(session, caller) == GstParty(MAHARASHTRA, "27")


async def test_a_customer_s_gstin_and_place_of_supply(
    database: Database, merchant: TestMerchant
) -> None:
    caller = _caller(merchant)
    bengaluru = {"city": "Bengaluru", "state": "KA", "country": "IN"}
    pune = {"city": "Pune", "state": "IN-MH", "country": "IN"}
    registered = await _customer(database, caller, address=bengaluru)
    await _customer_gstin(database, caller, registered, TAMIL_NADU)
    shipped = await _customer(
        database, caller, address=bengaluru, shipping={"name": "Asha", "address": pune}
    )
    abroad = await _customer(database, caller, address={"country": "DE", "city": "Berlin"})
    unknown = await _customer(database, caller, name="No address")
    async with database.unit_of_work() as session:
        assert await customer_gst(session, caller, registered) == CustomerGst(
            TAMIL_NADU, "33", SupplyBasis.gstin
        )
        assert await customer_gst(session, caller, shipped) == CustomerGst(
            None, "27", SupplyBasis.shipping
        )
        assert await customer_gst(session, caller, abroad) == CustomerGst(
            None, "96", SupplyBasis.address
        )
        assert await customer_gst(session, caller, unknown) == CustomerGst(None, None, None)
        assert await customer_gst(session, caller, unknown, supplier_state="29") == CustomerGst(
            None, "29", SupplyBasis.supplier
        )
        with pytest.raises(ResourceMissingError) as raised:
            await customer_gst(session, caller, "cus_nope", param="customer")
        assert raised.value.param == "customer"


async def test_an_invoice_s_gst_within_and_across_states(
    database: Database, merchant: TestMerchant
) -> None:
    caller = _caller(merchant)
    local = await _customer(database, caller, address={"state": "Karnataka", "country": "IN"})
    elsewhere = await _customer(database, caller, address={"state": "MH", "country": "IN"})
    async with database.unit_of_work() as session:
        assert await invoice_gst(session, caller, local) is None  # no GSTIN: no GST
    await _own_gstin(database, caller, KARNATAKA)
    async with database.unit_of_work() as session:
        within = await invoice_gst(session, caller, local)
        across = await invoice_gst(session, caller, elsewhere)
    assert within is not None and across is not None
    assert (within.kind, within.place_of_supply, within.supplier_state) == (
        GstKind.intra_state,
        "29",
        "29",
    )
    assert (across.kind, across.place_of_supply, across.basis) == (
        GstKind.inter_state,
        "27",
        SupplyBasis.address,
    )
    assert within.supplier_gstin == KARNATAKA and within.customer_gstin is None


async def test_the_rates_a_line_names(database: Database, merchant: TestMerchant) -> None:
    caller = _caller(merchant)
    async with database.unit_of_work() as session:
        gst = await tax_rate_service.create(
            session,
            caller,
            TaxRateCreateParams(display_name="GST", percentage=Decimal("18"), inclusive=False),
        )
        cess = await tax_rate_service.create(
            session,
            caller,
            TaxRateCreateParams(display_name="Cess", percentage=Decimal("1"), inclusive=False),
        )
        ids = [cess.id, gst.id, cess.id]
        rows = await tax_rate_service.get_many(session, caller, ids, param="tax_rates")
        assert [row.id for row in rows] == [cess.id, gst.id]
        assert rows[1].rate_basis_points == 1_800
        with pytest.raises(ResourceMissingError) as missing:
            await tax_rate_service.get_many(session, caller, ["txr_nope"], param="tax_rates")
        assert missing.value.param == "tax_rates"
        with pytest.raises(InvalidRequestError):
            await tax_rate_service.get_many(
                session, caller, [f"txr_{n}" for n in range(11)], param="tax_rates"
            )
        await tax_rate_service.update(session, caller, gst.id, TaxRateUpdateParams(active=False))
        with pytest.raises(TaxRateInactiveError) as inactive:
            await tax_rate_service.get_many(session, caller, [gst.id], param="default_tax_rates")
        assert inactive.value.param == "default_tax_rates"
        kept = await tax_rate_service.get_many(
            session, caller, [gst.id], param="tax_rates", require_active=False
        )
        assert [row.id for row in kept] == [gst.id]
