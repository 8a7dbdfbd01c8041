"""Customer routes: parse, authorize, call the service, render."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

from beyondpay.api.auth import SessionDep, authorize
from beyondpay.api.expand import refuse_expansions
from beyondpay.api.lists import list_object, list_of
from beyondpay.api.mutation import Mutation, Outcome, run_mutation
from beyondpay.api.openapi import operation
from beyondpay.api.params import body, query
from beyondpay.api.responses import json_response
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

router = APIRouter(prefix="/v1/customers", tags=["customers"])

Reader = Annotated[Caller, Depends(authorize(Scope.customers_read))]
Writer = Annotated[Caller, Depends(authorize(Scope.customers_write))]
CustomerId = Annotated[str, Path(max_length=255, description="The customer's id (`cus_…`).")]


@router.post(
    "",
    summary="Create a customer",
    **operation(body=CustomerCreateParams, returns=Customer, access="customers:write"),
)
async def create_customer(
    request: Request,
    session: SessionDep,
    caller: Writer,
    params: Annotated[CustomerCreateParams, Depends(body(CustomerCreateParams))],
) -> Response:
    refuse_expansions(params.expand, set())

    async def execute(_mutation: Mutation) -> Outcome:
        row = await customer_service.create(session, caller, params)
        return Outcome(customer_object(row))

    return await run_mutation(request, session, caller, params, execute)


@router.get(
    "/search",
    summary="Search customers with Stripe's search query language",
    **operation(query=CustomerSearchParams, returns=CustomerSearchResult, access="customers:read"),
)
async def search_customers(
    request: Request,
    session: SessionDep,
    caller: Reader,
    params: Annotated[CustomerSearchParams, Depends(query(CustomerSearchParams))],
) -> Response:
    # Declared before /{customer}, which would otherwise take "search" for an id.
    refuse_expansions(params.expand, set(), listing=True)
    rows, has_more, next_page = await customer_service.search(session, caller, params)
    return json_response(
        {
            "object": "search_result",
            "url": request.url.path,
            "has_more": has_more,
            "data": [customer_object(row) for row in rows],
            "next_page": next_page,
        }
    )


@router.get(
    "/{customer}",
    summary="Retrieve a customer",
    # A deleted customer is still retrieved, as Stripe does, in its deleted shape.
    **operation(
        query=CustomerRetrieveParams, returns=Customer | DeletedCustomer, access="customers:read"
    ),
)
async def retrieve_customer(
    customer: CustomerId,
    session: SessionDep,
    caller: Reader,
    params: Annotated[CustomerRetrieveParams, Depends(query(CustomerRetrieveParams))],
) -> Response:
    refuse_expansions(params.expand, set())
    row = await customer_service.get(session, caller, customer)
    return json_response(customer_object(row))


@router.post(
    "/{customer}",
    summary="Update a customer",
    **operation(body=CustomerUpdateParams, returns=Customer, access="customers:write"),
)
async def update_customer(
    customer: CustomerId,
    request: Request,
    session: SessionDep,
    caller: Writer,
    params: Annotated[CustomerUpdateParams, Depends(body(CustomerUpdateParams))],
) -> Response:
    refuse_expansions(params.expand, set())

    async def execute(_mutation: Mutation) -> Outcome:
        row = await customer_service.update(session, caller, customer, params)
        return Outcome(customer_object(row))

    return await run_mutation(request, session, caller, params, execute)


@router.delete(
    "/{customer}",
    summary="Delete a customer",
    **operation(returns=DeletedCustomer, access="customers:write"),
)
async def delete_customer(
    customer: CustomerId, request: Request, session: SessionDep, caller: Writer
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        row = await customer_service.delete(session, caller, customer)
        return Outcome(customer_object(row))

    return await run_mutation(request, session, caller, None, execute)


CustomerList = list_of(Customer)


@router.get(
    "",
    summary="List customers",
    **operation(query=CustomerListParams, returns=CustomerList, access="customers:read"),
)
async def list_customers(
    request: Request,
    session: SessionDep,
    caller: Reader,
    params: Annotated[CustomerListParams, Depends(query(CustomerListParams))],
) -> Response:
    refuse_expansions(params.expand, set(), listing=True)
    rows, has_more = await customer_service.list(session, caller, params)
    return json_response(
        list_object(request.url.path, [customer_object(row) for row in rows], has_more)
    )
