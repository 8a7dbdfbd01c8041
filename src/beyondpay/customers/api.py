"""Customer routes: parse, authorize, call the service, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from beyondpay.api.access import CustomersReader, CustomersWriter
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, Listed, Query, RingDep, Router, listed
from beyondpay.customers.schemas import (
    Customer,
    CustomerCreateParams,
    CustomerListParams,
    CustomerSearchParams,
    CustomerSearchResult,
    CustomerUpdateParams,
    DeletedCustomer,
    customer_object,
)
from beyondpay.customers.service import customer_service

router = Router(prefix="/v1/customers", tags=["customers"])

CustomerId = Annotated[str, Path(max_length=255, description="The customer's id (`cus_…`).")]


@router.post("", returns=Customer)
async def create_customer(
    session: SessionDep, caller: CustomersWriter, ring: RingDep, params: Body[CustomerCreateParams]
) -> Outcome:
    """Create a customer."""
    return Outcome(customer_object(await customer_service.create(session, caller, params, ring)))


# Declared before /{customer}, which would otherwise take "search" for an id.
@router.get("/search", returns=CustomerSearchResult, listing=True)
async def search_customers(
    session: SessionDep, caller: CustomersReader, params: Query[CustomerSearchParams]
) -> Listed:
    """Search customers with Stripe's search query language."""
    rows, has_more, next_page = await customer_service.search(session, caller, params)
    data = [customer_object(row) for row in rows]
    return Listed(data, has_more, object="search_result", extra={"next_page": next_page})


# A deleted customer is still retrieved, as Stripe does, in its deleted shape.
@router.get("/{customer}", returns=Customer | DeletedCustomer)
async def retrieve_customer(
    customer: CustomerId, session: SessionDep, caller: CustomersReader
) -> dict[str, Any]:
    """Retrieve a customer."""
    return customer_object(await customer_service.get(session, caller, customer))


@router.post("/{customer}", returns=Customer)
async def update_customer(
    customer: CustomerId,
    session: SessionDep,
    caller: CustomersWriter,
    params: Body[CustomerUpdateParams],
) -> Outcome:
    """Update a customer."""
    row = await customer_service.update(session, caller, customer, params)
    return Outcome(customer_object(row))


@router.delete("/{customer}", returns=DeletedCustomer)
async def delete_customer(
    customer: CustomerId, session: SessionDep, caller: CustomersWriter
) -> Outcome:
    """Delete a customer."""
    return Outcome(customer_object(await customer_service.delete(session, caller, customer)))


@router.get("", returns=Customer)
async def list_customers(
    session: SessionDep, caller: CustomersReader, params: Query[CustomerListParams]
) -> Listed:
    """List customers."""
    return listed(customer_object, await customer_service.list(session, caller, params))
