"""Payment method routes: parse, authorize, call the service, render.

Every answer is the redacted rendering: a card's last four digits and fingerprint, a masked VPA.
"""

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
from beyondpay.kit.crypto import KeyRing
from beyondpay.merchants.domain import Caller, Scope
from beyondpay.payment_methods.schemas import (
    CustomerPaymentMethodListParams,
    PaymentMethod,
    PaymentMethodAttachParams,
    PaymentMethodCreateParams,
    PaymentMethodDetachParams,
    PaymentMethodListParams,
    PaymentMethodRetrieveParams,
    PaymentMethodUpdateParams,
    payment_method_object,
)
from beyondpay.payment_methods.service import payment_method_service

router = APIRouter(prefix="/v1/payment_methods", tags=["payment_methods"])
# GET /v1/customers/{customer}/payment_methods lives here: customers sits below payment methods.
customer_router = APIRouter(prefix="/v1/customers", tags=["payment_methods"])

Reader = Annotated[Caller, Depends(authorize(Scope.payment_methods_read))]
Writer = Annotated[Caller, Depends(authorize(Scope.payment_methods_write))]
PaymentMethodId = Annotated[
    str,
    Path(
        max_length=255,
        description="The payment method's id (`pm_…`), or a test token (`pm_card_visa`, …).",
    ),
]
CustomerId = Annotated[str, Path(max_length=255, description="The customer's id (`cus_…`).")]
PaymentMethodList = list_of(PaymentMethod)


def _ring(request: Request) -> KeyRing:
    ring: KeyRing = request.app.state.key_ring
    return ring


@router.post(
    "",
    summary="Create a payment method",
    **operation(
        body=PaymentMethodCreateParams, returns=PaymentMethod, access="payment_methods:write"
    ),
)
async def create_payment_method(
    request: Request,
    session: SessionDep,
    caller: Writer,
    params: Annotated[PaymentMethodCreateParams, Depends(body(PaymentMethodCreateParams))],
) -> Response:
    refuse_expansions(params.expand, set())
    ring = _ring(request)

    async def execute(_mutation: Mutation) -> Outcome:
        row = await payment_method_service.create(session, caller, ring, params)
        return Outcome(payment_method_object(row))

    return await run_mutation(request, session, caller, params, execute)


@router.get(
    "/{payment_method}",
    summary="Retrieve a payment method",
    **operation(
        query=PaymentMethodRetrieveParams, returns=PaymentMethod, access="payment_methods:read"
    ),
)
async def retrieve_payment_method(
    payment_method: PaymentMethodId,
    session: SessionDep,
    caller: Reader,
    params: Annotated[PaymentMethodRetrieveParams, Depends(query(PaymentMethodRetrieveParams))],
) -> Response:
    refuse_expansions(params.expand, set())
    row = await payment_method_service.get(session, caller, payment_method)
    return json_response(payment_method_object(row))


@router.post(
    "/{payment_method}",
    summary="Update a payment method",
    **operation(
        body=PaymentMethodUpdateParams, returns=PaymentMethod, access="payment_methods:write"
    ),
)
async def update_payment_method(
    payment_method: PaymentMethodId,
    request: Request,
    session: SessionDep,
    caller: Writer,
    params: Annotated[PaymentMethodUpdateParams, Depends(body(PaymentMethodUpdateParams))],
) -> Response:
    refuse_expansions(params.expand, set())

    async def execute(_mutation: Mutation) -> Outcome:
        row = await payment_method_service.update(session, caller, payment_method, params)
        return Outcome(payment_method_object(row))

    return await run_mutation(request, session, caller, params, execute)


@router.get(
    "",
    summary="List a customer's payment methods (customer is required, as in Stripe)",
    **operation(
        query=PaymentMethodListParams, returns=PaymentMethodList, access="payment_methods:read"
    ),
)
async def list_payment_methods(
    request: Request,
    session: SessionDep,
    caller: Reader,
    params: Annotated[PaymentMethodListParams, Depends(query(PaymentMethodListParams))],
) -> Response:
    refuse_expansions(params.expand, set(), listing=True)
    rows, has_more = await payment_method_service.list(session, caller, params, params.customer)
    data = [payment_method_object(row) for row in rows]
    return json_response(list_object(request.url.path, data, has_more))


@router.post(
    "/{payment_method}/attach",
    summary="Attach a payment method (or a test token's new one) to a customer",
    **operation(
        body=PaymentMethodAttachParams, returns=PaymentMethod, access="payment_methods:write"
    ),
)
async def attach_payment_method(
    payment_method: PaymentMethodId,
    request: Request,
    session: SessionDep,
    caller: Writer,
    params: Annotated[PaymentMethodAttachParams, Depends(body(PaymentMethodAttachParams))],
) -> Response:
    refuse_expansions(params.expand, set())
    ring = _ring(request)

    async def execute(_mutation: Mutation) -> Outcome:
        row = await payment_method_service.attach(
            session, caller, ring, payment_method, params.customer
        )
        return Outcome(payment_method_object(row))

    return await run_mutation(request, session, caller, params, execute)


@router.post(
    "/{payment_method}/detach",
    summary="Detach a payment method from its customer (it cannot be used again)",
    **operation(
        body=PaymentMethodDetachParams, returns=PaymentMethod, access="payment_methods:write"
    ),
)
async def detach_payment_method(
    payment_method: PaymentMethodId,
    request: Request,
    session: SessionDep,
    caller: Writer,
    params: Annotated[PaymentMethodDetachParams, Depends(body(PaymentMethodDetachParams))],
) -> Response:
    refuse_expansions(params.expand, set())

    async def execute(_mutation: Mutation) -> Outcome:
        row = await payment_method_service.detach(session, caller, payment_method)
        return Outcome(payment_method_object(row))

    return await run_mutation(request, session, caller, params, execute)


@customer_router.get(
    "/{customer}/payment_methods",
    summary="List a customer's payment methods",
    **operation(
        query=CustomerPaymentMethodListParams,
        returns=PaymentMethodList,
        access="payment_methods:read",
    ),
)
async def list_customer_payment_methods(
    customer: CustomerId,
    request: Request,
    session: SessionDep,
    caller: Reader,
    params: Annotated[
        CustomerPaymentMethodListParams, Depends(query(CustomerPaymentMethodListParams))
    ],
) -> Response:
    refuse_expansions(params.expand, set(), listing=True)
    rows, has_more = await payment_method_service.list(
        session, caller, params, customer, customer_param="id"
    )
    data = [payment_method_object(row) for row in rows]
    return json_response(list_object(request.url.path, data, has_more))
