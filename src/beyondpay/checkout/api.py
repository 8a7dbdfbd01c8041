"""Checkout Session routes: parse, authorize, call the service, render. The hosted page is
``web/checkout.py``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from beyondpay.api.access import CheckoutSessionsReader, CheckoutSessionsWriter
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, Listed, Query, Router, listed
from beyondpay.checkout.models import CheckoutSessionRow
from beyondpay.checkout.schemas import (
    CheckoutLineItem,
    CheckoutLineItemListParams,
    CheckoutSession,
    CheckoutSessionCreateParams,
    CheckoutSessionExpireParams,
    CheckoutSessionListParams,
    session_object,
)
from beyondpay.checkout.service import checkout_session_service, session_url
from beyondpay.checkout.subscription_mode import EXPANSIONS, expanded

router = Router(prefix="/v1/checkout/sessions", tags=["checkout"])

SessionId = Annotated[
    str, Path(max_length=255, description="The Checkout Session's id (`cs_test_…`, `cs_live_…`).")
]


def _rendered(row: CheckoutSessionRow) -> dict[str, Any]:
    return session_object(row, session_url(row.id))


@router.post("", returns=CheckoutSession)
async def create_checkout_session(
    session: SessionDep, caller: CheckoutSessionsWriter, params: Body[CheckoutSessionCreateParams]
) -> Outcome:
    """Create a Checkout Session (payment or subscription mode): send the customer to its
    `url` to pay.

    The session's PaymentIntent is made when the customer first pays on the page, as Stripe's
    is; the session expires at `expires_at` (30 minutes to 24 hours, default 24 hours).
    In setup mode (`mode=setup`, no `line_items`) the page saves a card for later instead: a
    SetupIntent, made when the customer first submits a card, is named by `setup_intent`.
    """
    return Outcome(_rendered(await checkout_session_service.create(session, caller, params)))


@router.get("/{checkout_session}", returns=CheckoutSession, expand=EXPANSIONS)
async def retrieve_checkout_session(
    checkout_session: SessionId,
    session: SessionDep,
    caller: CheckoutSessionsReader,
    expand: list[str],
) -> dict[str, Any]:
    """Retrieve a Checkout Session; `expand[]=subscription` renders its subscription."""
    row = await checkout_session_service.get(session, caller, checkout_session)
    return await expanded(session, caller, row, _rendered(row), expand)


@router.get("", returns=CheckoutSession)
async def list_checkout_sessions(
    session: SessionDep, caller: CheckoutSessionsReader, params: Query[CheckoutSessionListParams]
) -> Listed:
    """List Checkout Sessions, newest first; filter by `payment_intent`, `subscription`,
    `customer`, `status`, `created`."""
    return listed(_rendered, await checkout_session_service.list(session, caller, params))


@router.post("/{checkout_session}/expire", returns=CheckoutSession)
async def expire_checkout_session(
    checkout_session: SessionId,
    session: SessionDep,
    caller: CheckoutSessionsWriter,
    params: Body[CheckoutSessionExpireParams],
) -> Outcome:
    """Expire an open Checkout Session: its page no longer takes payments.

    Its PaymentIntent, if one was made and is still waiting, is canceled. A session whose
    payment is processing cannot be expired (400); nor can a complete or expired one.
    """
    del params
    row = await checkout_session_service.expire(session, caller, checkout_session)
    return Outcome(_rendered(row))


@router.get("/{checkout_session}/line_items", returns=CheckoutLineItem)
async def list_checkout_session_line_items(
    checkout_session: SessionId,
    session: SessionDep,
    caller: CheckoutSessionsReader,
    params: Query[CheckoutLineItemListParams],
) -> Listed:
    """List a Checkout Session's line items, in their order."""
    data, has_more = await checkout_session_service.line_items(
        session, caller, checkout_session, params
    )
    return Listed(data, has_more)
