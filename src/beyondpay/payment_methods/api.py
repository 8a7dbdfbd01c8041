"""Payment method routes: parse, authorize, call the service, render.

Every answer is the redacted rendering: a card's last four digits and fingerprint, a masked VPA.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from beyondpay.api.access import (
    PaymentMethodsReader,
    PaymentMethodsWriter,
    PaymentMethodsWriterOrBrowser,
    TokensReader,
    TokensWriter,
)
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, Listed, Query, RingDep, Router, listed
from beyondpay.payment_methods.schemas import (
    CustomerPaymentMethodListParams,
    PaymentMethod,
    PaymentMethodAttachParams,
    PaymentMethodCreateParams,
    PaymentMethodDetachParams,
    PaymentMethodListParams,
    PaymentMethodUpdateParams,
    Token,
    TokenCreateParams,
    payment_method_object,
)
from beyondpay.payment_methods.service import payment_method_service
from beyondpay.payment_methods.tokens import token_object, token_service

router = Router(prefix="/v1/payment_methods", tags=["payment_methods"])
# Not imported from customers.api: a module reaches another only through its service, schemas
# and events (DESIGN.md), and one path parameter's annotation is not worth an exception.
CustomerId = Annotated[str, Path(max_length=255, description="The customer's id (`cus_…`).")]
# GET /v1/customers/{customer}/payment_methods lives here: customers sits below payment methods.
customer_router = Router(prefix="/v1/customers", tags=["payment_methods"])

PaymentMethodId = Annotated[
    str,
    Path(
        max_length=255,
        description="The payment method's id (`pm_…`), or a test token (`pm_card_visa`, …).",
    ),
]


@router.post(
    "",
    returns=PaymentMethod,
    responses={402: "A card number, expiry or CVC the network refuses: a `card_error`."},
)
async def create_payment_method(
    session: SessionDep,
    caller: PaymentMethodsWriterOrBrowser,
    ring: RingDep,
    params: Body[PaymentMethodCreateParams],
) -> Outcome:
    """Create a payment method.

    A publishable key may create one (the card element does, in the customer's browser, so
    the card never reaches the merchant's server), but not attach it to a customer.
    """
    row = await payment_method_service.create(session, caller, ring, params)
    return Outcome(payment_method_object(row))


@router.get("/{payment_method}", returns=PaymentMethod)
async def retrieve_payment_method(
    payment_method: PaymentMethodId,
    session: SessionDep,
    caller: PaymentMethodsReader,
) -> dict[str, Any]:
    """Retrieve a payment method."""
    return payment_method_object(await payment_method_service.get(session, caller, payment_method))


@router.post(
    "/{payment_method}",
    returns=PaymentMethod,
    responses={402: "A card expiry the network refuses: a `card_error`."},
)
async def update_payment_method(
    payment_method: PaymentMethodId,
    session: SessionDep,
    caller: PaymentMethodsWriter,
    params: Body[PaymentMethodUpdateParams],
) -> Outcome:
    """Update a payment method."""
    row = await payment_method_service.update(session, caller, payment_method, params)
    return Outcome(payment_method_object(row))


@router.get("", returns=PaymentMethod)
async def list_payment_methods(
    session: SessionDep, caller: PaymentMethodsReader, params: Query[PaymentMethodListParams]
) -> Listed:
    """List a customer's payment methods (customer is required, as in Stripe)."""
    page = await payment_method_service.list(session, caller, params, params.customer)
    return listed(payment_method_object, page)


@router.post("/{payment_method}/attach", returns=PaymentMethod)
async def attach_payment_method(
    payment_method: PaymentMethodId,
    session: SessionDep,
    caller: PaymentMethodsWriter,
    ring: RingDep,
    params: Body[PaymentMethodAttachParams],
) -> Outcome:
    """Attach a payment method (or a test token's new one) to a customer."""
    row = await payment_method_service.attach(
        session, caller, ring, payment_method, params.customer
    )
    return Outcome(payment_method_object(row))


@router.post("/{payment_method}/detach", returns=PaymentMethod)
async def detach_payment_method(
    payment_method: PaymentMethodId,
    session: SessionDep,
    caller: PaymentMethodsWriter,
    _: Body[PaymentMethodDetachParams],
) -> Outcome:
    """Detach a payment method from its customer (it cannot be used again)."""
    row = await payment_method_service.detach(session, caller, payment_method)
    return Outcome(payment_method_object(row))


@customer_router.get("/{customer}/payment_methods", returns=PaymentMethod)
async def list_customer_payment_methods(
    customer: CustomerId,
    session: SessionDep,
    caller: PaymentMethodsReader,
    params: Query[CustomerPaymentMethodListParams],
) -> Listed:
    """List a customer's payment methods."""
    page = await payment_method_service.list(session, caller, params, customer, customer_param="id")
    return listed(payment_method_object, page)


@customer_router.get("/{customer}/payment_methods/{payment_method}", returns=PaymentMethod)
async def retrieve_customer_payment_method(
    customer: CustomerId,
    payment_method: PaymentMethodId,
    session: SessionDep,
    caller: PaymentMethodsReader,
) -> dict[str, Any]:
    """Retrieve a customer's payment method (404 unless it is attached to that customer)."""
    row = await payment_method_service.get_of_customer(session, caller, customer, payment_method)
    return payment_method_object(row)


# ---- tokens -----------------------------------------------------------------------------------

tokens_router = Router(prefix="/v1/tokens", tags=["tokens"])
TokenId = Annotated[str, Path(max_length=255, description="The token's id (`tok_…`).")]


@tokens_router.post(
    "",
    returns=Token,
    responses={402: "A card number, expiry or CVC the network refuses: a `card_error`."},
)
async def create_token(
    session: SessionDep, caller: TokensWriter, ring: RingDep, params: Body[TokenCreateParams]
) -> Outcome:
    """Create a card token (test mode only).

    A single-use token for a card, as Stripe's legacy flows make them: charge it
    (`POST /v1/charges` with `source`) or turn it into a payment method (`card[token]`) once.
    Live mode answers 403 `tokens_test_mode_only`: create a payment method instead.
    """
    return Outcome(token_object(*await token_service.create(session, caller, ring, params)))


@tokens_router.get("/{token}", returns=Token)
async def retrieve_token(
    token: TokenId, session: SessionDep, caller: TokensReader
) -> dict[str, Any]:
    """Retrieve a token."""
    return token_object(*await token_service.get(session, caller, token))
