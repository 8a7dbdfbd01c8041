"""Customer routes: parse, authorize, call the service, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path

from beyondpay.api.auth import SessionDep, authorize
from beyondpay.api.lists import list_of
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, Listed, Query, Router, listed
from beyondpay.customers.schemas import (
    Customer,
    CustomerCreateParams,
    CustomerListParams,
    CustomerRetrieveParams,
    CustomerSearchParams,
    CustomerSearchResult,
    CustomerUpdateParams,
    DeletedCustomer,
    customer_object,
)
from beyondpay.customers.service import customer_service
from beyondpay.merchants.domain import Caller, Scope

router = Router(prefix="/v1/customers", tags=["customers"])

Reader = Annotated[Caller, Depends(authorize(Scope.customers_read))]
Writer = Annotated[Caller, Depends(authorize(Scope.customers_write))]
CustomerId = Annotated[str, Path(max_length=255, description="The customer's id (`cus_…`).")]
CustomerList = list_of(Customer)


@router.post("", summary="Create a customer", returns=Customer)
async def create_customer(
    session: SessionDep, caller: Writer, params: Body[CustomerCreateParams]
) -> Outcome:
    return Outcome(customer_object(await customer_service.create(session, caller, params)))


# Declared before /{customer}, which would otherwise take "search" for an id.
@router.get(
    "/search",
    summary="Search customers with Stripe's search query language",
    returns=CustomerSearchResult,
    listing=True,
)
async def search_customers(
    session: SessionDep, caller: Reader, params: Query[CustomerSearchParams]
) -> Listed:
    rows, has_more, next_page = await customer_service.search(session, caller, params)
    data = [customer_object(row) for row in rows]
    return Listed(data, has_more, object="search_result", extra={"next_page": next_page})


# A deleted customer is still retrieved, as Stripe does, in its deleted shape.
@router.get("/{customer}", summary="Retrieve a customer", returns=Customer | DeletedCustomer)
async def retrieve_customer(
    customer: CustomerId, session: SessionDep, caller: Reader, _: Query[CustomerRetrieveParams]
) -> dict[str, Any]:
    return customer_object(await customer_service.get(session, caller, customer))


@router.post("/{customer}", summary="Update a customer", returns=Customer)
async def update_customer(
    customer: CustomerId, session: SessionDep, caller: Writer, params: Body[CustomerUpdateParams]
) -> Outcome:
    row = await customer_service.update(session, caller, customer, params)
    return Outcome(customer_object(row))


@router.delete("/{customer}", summary="Delete a customer", returns=DeletedCustomer)
async def delete_customer(customer: CustomerId, session: SessionDep, caller: Writer) -> Outcome:
    return Outcome(customer_object(await customer_service.delete(session, caller, customer)))


@router.get("", summary="List customers", returns=CustomerList)
async def list_customers(
    session: SessionDep, caller: Reader, params: Query[CustomerListParams]
) -> Listed:
    return listed(customer_object, await customer_service.list(session, caller, params))
