"""Tax rate and tax id routes: parse, authorize, call the service, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from beyondpay.api.access import TaxIdsReader, TaxIdsWriter, TaxRatesReader, TaxRatesWriter
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, Listed, Query, Router, listed
from beyondpay.billing.tax.schemas import (
    CustomerTaxIdCreateParams,
    CustomerTaxIdListParams,
    DeletedTaxId,
    TaxId,
    TaxIdCreateParams,
    TaxIdListParams,
    TaxRate,
    TaxRateCreateParams,
    TaxRateListParams,
    TaxRateUpdateParams,
    deleted_tax_id_object,
    tax_id_object,
    tax_rate_object,
)
from beyondpay.billing.tax.service import tax_id_service, tax_rate_service

router = Router(prefix="/v1/tax_rates", tags=["tax_rates"])
tax_ids_router = Router(prefix="/v1/tax_ids", tags=["tax_ids"])
customer_tax_ids_router = Router(prefix="/v1/customers", tags=["tax_ids"])

TaxRateId = Annotated[str, Path(max_length=255, description="The tax rate's id (`txr_…`).")]
TaxIdId = Annotated[str, Path(max_length=255, description="The tax id's id (`txi_…`).")]
CustomerId = Annotated[str, Path(max_length=255, description="The customer's id (`cus_…`).")]


# ---- tax rates --------------------------------------------------------------------------------


@router.post("", returns=TaxRate)
async def create_tax_rate(
    session: SessionDep, caller: TaxRatesWriter, params: Body[TaxRateCreateParams]
) -> Outcome:
    """Create a tax rate.

    `percentage` has at most 2 decimals (it is kept in basis points: 18.25% is 1825). A GST
    rate is the whole rate (18, `tax_type=gst`): an invoice splits its tax into CGST and SGST
    or charges it as IGST, by the place of supply.
    """
    return Outcome(tax_rate_object(await tax_rate_service.create(session, caller, params)))


@router.get("/{tax_rate}", returns=TaxRate)
async def retrieve_tax_rate(
    tax_rate: TaxRateId, session: SessionDep, caller: TaxRatesReader
) -> dict[str, Any]:
    """Retrieve a tax rate."""
    return tax_rate_object(await tax_rate_service.get(session, caller, tax_rate))


@router.post("/{tax_rate}", returns=TaxRate)
async def update_tax_rate(
    tax_rate: TaxRateId,
    session: SessionDep,
    caller: TaxRatesWriter,
    params: Body[TaxRateUpdateParams],
) -> Outcome:
    """Update a tax rate: archive it (`active=false`), relabel it; never its percentage."""
    row = await tax_rate_service.update(session, caller, tax_rate, params)
    return Outcome(tax_rate_object(row))


@router.get("", returns=TaxRate)
async def list_tax_rates(
    session: SessionDep, caller: TaxRatesReader, params: Query[TaxRateListParams]
) -> Listed:
    """List tax rates."""
    return listed(tax_rate_object, await tax_rate_service.list(session, caller, params))


# ---- tax ids: the merchant's own, and any owner's ---------------------------------------------


@tax_ids_router.post("", returns=TaxId)
async def create_tax_id(
    session: SessionDep, caller: TaxIdsWriter, params: Body[TaxIdCreateParams]
) -> Outcome:
    """Create a tax id: the merchant's own (`owner[type]=self`, the default) or a customer's.

    An `in_gst` is checked as a GSTIN: a 400 `tax_id_invalid` naming `value` says what is wrong.
    """
    return Outcome(tax_id_object(await tax_id_service.create(session, caller, params)))


@tax_ids_router.get("/{tax_id}", returns=TaxId)
async def retrieve_tax_id(
    tax_id: TaxIdId, session: SessionDep, caller: TaxIdsReader
) -> dict[str, Any]:
    """Retrieve a tax id, whoever owns it."""
    return tax_id_object(await tax_id_service.get(session, caller, tax_id))


@tax_ids_router.delete("/{tax_id}", returns=DeletedTaxId)
async def delete_tax_id(tax_id: TaxIdId, session: SessionDep, caller: TaxIdsWriter) -> Outcome:
    """Delete a tax id, whoever owns it."""
    return Outcome(deleted_tax_id_object(await tax_id_service.delete(session, caller, tax_id)))


@tax_ids_router.get("", returns=TaxId)
async def list_tax_ids(
    session: SessionDep, caller: TaxIdsReader, params: Query[TaxIdListParams]
) -> Listed:
    """List an owner's tax ids: the merchant's own (the default), or `owner[customer]`'s."""
    return listed(tax_id_object, await tax_id_service.list(session, caller, params))


# ---- a customer's tax ids ---------------------------------------------------------------------


@customer_tax_ids_router.post("/{customer}/tax_ids", returns=TaxId)
async def create_customer_tax_id(
    customer: CustomerId,
    session: SessionDep,
    caller: TaxIdsWriter,
    params: Body[CustomerTaxIdCreateParams],
) -> Outcome:
    """Create a customer's tax id.

    An `in_gst` is checked as a GSTIN: a 400 `tax_id_invalid` naming `value` says what is wrong.
    """
    row = await tax_id_service.create_for_customer(session, caller, customer, params)
    return Outcome(tax_id_object(row))


@customer_tax_ids_router.get("/{customer}/tax_ids/{tax_id}", returns=TaxId)
async def retrieve_customer_tax_id(
    customer: CustomerId, tax_id: TaxIdId, session: SessionDep, caller: TaxIdsReader
) -> dict[str, Any]:
    """Retrieve a customer's tax id (404 unless it is that customer's)."""
    row = await tax_id_service.get_of_customer(session, caller, customer, tax_id)
    return tax_id_object(row)


@customer_tax_ids_router.delete("/{customer}/tax_ids/{tax_id}", returns=DeletedTaxId)
async def delete_customer_tax_id(
    customer: CustomerId, tax_id: TaxIdId, session: SessionDep, caller: TaxIdsWriter
) -> Outcome:
    """Delete a customer's tax id."""
    row = await tax_id_service.delete(session, caller, tax_id, customer_id=customer)
    return Outcome(deleted_tax_id_object(row))


@customer_tax_ids_router.get("/{customer}/tax_ids", returns=TaxId)
async def list_customer_tax_ids(
    customer: CustomerId,
    session: SessionDep,
    caller: TaxIdsReader,
    params: Query[CustomerTaxIdListParams],
) -> Listed:
    """List a customer's tax ids."""
    page = await tax_id_service.list_of_customer(session, caller, customer, params)
    return listed(tax_id_object, page)
