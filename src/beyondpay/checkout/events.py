"""The events checkout records (Stripe's names), and the one place that records them. A
session's event carries ``url: null``: the link is the page's credential and events are read
by many (webhooks, keys with ``events:read``); Stripe's is null too once a session is no longer
open, which is when every one of these is recorded."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.checkout.models import CheckoutSessionRow
from beyondpay.checkout.schemas import session_object
from beyondpay.events.service import event_service


class CheckoutEvent(StrEnum):
    completed = "checkout.session.completed"
    expired = "checkout.session.expired"
    async_payment_succeeded = "checkout.session.async_payment_succeeded"
    async_payment_failed = "checkout.session.async_payment_failed"


async def record(session: AsyncSession, row: CheckoutSessionRow, type: CheckoutEvent) -> None:
    """``type`` about ``row``, rendered now, in the caller's transaction."""
    await event_service.record(
        session,
        merchant_id=row.merchant_id,
        livemode=row.livemode,
        type=type,
        object=session_object(row, url=None),
    )
