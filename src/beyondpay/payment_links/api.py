"""Payment link routes: parse, authorize, call the service, render. The link's public page is
``web/payment_links.py``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from beyondpay.api.access import PaymentLinksReader, PaymentLinksWriter
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, Listed, Query, Router, listed
from beyondpay.checkout.schemas import CheckoutLineItem
from beyondpay.payment_links.schemas import (
    PaymentLink,
    PaymentLinkCreateParams,
    PaymentLinkLineItemListParams,
    PaymentLinkListParams,
    PaymentLinkUpdateParams,
)
from beyondpay.payment_links.service import payment_link_service, rendered

router = Router(prefix="/v1/payment_links", tags=["payment_links"])

LinkId = Annotated[str, Path(max_length=255, description="The payment link's id (`plink_…`).")]


@router.post("", returns=PaymentLink)
async def create_payment_link(
    session: SessionDep, caller: PaymentLinksWriter, params: Body[PaymentLinkCreateParams]
) -> Outcome:
    """Create a payment link: share its `url`; each visit opens a new Checkout Session with
    its line items (one-time prices of one currency)."""
    return Outcome(rendered(await payment_link_service.create(session, caller, params)))


@router.get("/{payment_link}", returns=PaymentLink)
async def retrieve_payment_link(
    payment_link: LinkId, session: SessionDep, caller: PaymentLinksReader
) -> dict[str, Any]:
    """Retrieve a payment link."""
    return rendered(await payment_link_service.get(session, caller, payment_link))


@router.post("/{payment_link}", returns=PaymentLink)
async def update_payment_link(
    payment_link: LinkId,
    session: SessionDep,
    caller: PaymentLinksWriter,
    params: Body[PaymentLinkUpdateParams],
) -> Outcome:
    """Update a payment link: `active` (false stops it opening sessions), line items'
    quantities, `restrictions` (`""` removes them), `after_completion`, `metadata`."""
    row = await payment_link_service.update(session, caller, payment_link, params)
    return Outcome(rendered(row))


@router.get("", returns=PaymentLink)
async def list_payment_links(
    session: SessionDep, caller: PaymentLinksReader, params: Query[PaymentLinkListParams]
) -> Listed:
    """List payment links, newest first; filter by `active`."""
    return listed(rendered, await payment_link_service.list(session, caller, params))


@router.get("/{payment_link}/line_items", returns=CheckoutLineItem)
async def list_payment_link_line_items(
    payment_link: LinkId,
    session: SessionDep,
    caller: PaymentLinksReader,
    params: Query[PaymentLinkLineItemListParams],
) -> Listed:
    """List a payment link's line items, in their order."""
    data, has_more = await payment_link_service.line_items(session, caller, payment_link, params)
    return Listed(data, has_more)
