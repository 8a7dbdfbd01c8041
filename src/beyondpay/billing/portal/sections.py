"""The portal's seams to the billing parts above the catalog: what the "Subscriptions" and
"Invoice history" sections show and the subscription actions they offer.

The invoice history reads ``billing.invoices``. Subscriptions are being built (issue 18), so
their seams answer what a customer without one has: nothing to list, no plan to switch to, no
subscription to act on. When ``billing.subscriptions`` lands, each body becomes a call to its
service, with the same signature; the page, its forms, its anti-forgery and idempotency checks,
and the configuration's switches are already in place and tested.

Every seam is called with the portal's caller (the session's merchant and mode) and the
session's customer: an implementation must answer only about that customer's objects (a
subscription id of another customer is :class:`SubscriptionMissingError`, as an unknown one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.invoices.service import hosted_invoice_url, invoice_pdf_url, invoice_service
from beyondpay.billing.portal.errors import PortalObjectMissingError
from beyondpay.kit.money import Money
from beyondpay.merchants.domain import Caller


class SubscriptionMissingError(PortalObjectMissingError):
    code = "portal_subscription_missing"


@dataclass(frozen=True, slots=True)
class SubscriptionSummary:
    """A subscription as the portal lists it (texts already formatted for the customer)."""

    id: str
    description: str  # "Pro plan, 2 seats"
    status: str  # Stripe's: active, trialing, past_due, …
    amount: str  # "₹1,499.00 / month"
    current_period_end: datetime | None
    cancel_at_period_end: bool
    price_id: str | None  # the current plan, so the switch form leaves it out


@dataclass(frozen=True, slots=True)
class InvoiceSummary:
    """An invoice as the history lists it; its links open the hosted invoice and its PDF."""

    id: str
    number: str | None
    created: datetime
    amount: str  # "₹1,769.82"
    status: str  # open, paid, void, uncollectible
    hosted_invoice_url: str | None
    invoice_pdf: str | None


@dataclass(frozen=True, slots=True)
class PlanChoice:
    """A price a subscription may be switched to: one of the configuration's
    ``features.subscription_update.products[].prices``, named for the customer."""

    price_id: str
    label: str  # "Pro plan · ₹1,499.00 / month"


async def subscriptions_for(
    session: AsyncSession, caller: Caller, customer_id: str
) -> list[SubscriptionSummary]:
    """The customer's subscriptions that are not ended (incomplete_expired and canceled ones
    are history), newest first. Wired to ``billing.subscriptions`` when it lands."""
    return []


async def invoices_for(
    session: AsyncSession, caller: Caller, customer_id: str, *, limit: int
) -> list[InvoiceSummary]:
    """The customer's finalized invoices (drafts are the merchant's business), newest first,
    at most ``limit``."""
    rows = await invoice_service.finalized_of_customer(session, caller, customer_id, limit=limit)
    return [
        InvoiceSummary(
            id=row.id,
            number=row.number,
            created=row.created_at,
            amount=Money(row.total, row.currency).format(),
            status=row.status,
            hosted_invoice_url=hosted_invoice_url(row),
            invoice_pdf=invoice_pdf_url(row),
        )
        for row in rows
    ]


async def plan_choices(
    session: AsyncSession, caller: Caller, products: Sequence[dict[str, Any]]
) -> list[PlanChoice]:
    """The prices the configuration lets customers switch to (its ``products`` as rendered:
    ``[{"product", "prices": [...]}]``), those still active, named from the catalog. Wired to
    ``billing.catalog`` when it lands."""
    return []


async def cancel_subscription(
    session: AsyncSession,
    caller: Caller,
    customer_id: str,
    subscription_id: str,
    *,
    mode: str,
    proration_behavior: str,
    reason: str | None,
) -> None:
    """Cancel the customer's subscription as the configuration says (``mode``
    ``at_period_end`` sets ``cancel_at_period_end``; ``immediately`` cancels now, with
    ``proration_behavior``), recording ``reason`` as the cancellation's feedback. Idempotent:
    canceling what is already canceled (or set to cancel) changes nothing. In the caller's
    transaction. Wired to ``billing.subscriptions`` when it lands."""
    raise SubscriptionMissingError()


async def switch_subscription(
    session: AsyncSession,
    caller: Caller,
    customer_id: str,
    subscription_id: str,
    *,
    price_id: str,
    proration_behavior: str,
    billing_cycle_anchor: str | None,
) -> None:
    """Switch the customer's subscription to ``price_id`` (one of :func:`plan_choices`), with
    the configuration's proration behaviour and billing cycle anchor. Idempotent: switching
    to the current price changes nothing. In the caller's transaction. Wired to
    ``billing.subscriptions`` when it lands."""
    raise SubscriptionMissingError()
