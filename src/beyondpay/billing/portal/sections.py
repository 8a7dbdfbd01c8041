"""The portal's seams to the billing parts above the catalog: what the "Subscriptions" and
"Invoice history" sections show and the subscription actions they offer, read from and done
through ``billing.subscriptions``, ``billing.catalog`` and ``billing.invoices``.

Every seam is called with the portal's caller (the session's merchant and mode) and the
session's customer: it answers only about that customer's objects (a subscription id of
another customer is :class:`SubscriptionMissingError`, as an unknown one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.catalog.errors import PriceInactiveError
from beyondpay.billing.catalog.service import price_service
from beyondpay.billing.invoices.service import hosted_invoice_url, invoice_pdf_url, invoice_service
from beyondpay.billing.portal.errors import PortalObjectMissingError
from beyondpay.billing.subscriptions.domain import TERMINAL, ProrationBehavior
from beyondpay.billing.subscriptions.models import SubscriptionItemRow, SubscriptionRow
from beyondpay.billing.subscriptions.schemas import (
    ItemUpdateParams,
    SubscriptionCancelParams,
    SubscriptionUpdateParams,
)
from beyondpay.billing.subscriptions.service import subscription_service
from beyondpay.kit.errors import ResourceMissingError
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
    are history), newest first."""
    found = await subscription_service.of_customer(session, caller, customer_id)
    return [_summary(row, items) for row, items in found]


def _summary(row: SubscriptionRow, items: Sequence[SubscriptionItemRow]) -> SubscriptionSummary:
    each = Money(sum(item.unit_amount * item.quantity for item in items), row.currency)
    return SubscriptionSummary(
        id=row.id,
        description=", ".join(
            f"{item.product_name} \N{MULTIPLICATION SIGN} {item.quantity}" for item in items
        ),
        status=row.status,
        amount=f"{each.format()} / {_cadence(row.interval, row.interval_count)}",
        current_period_end=row.current_period_end,
        cancel_at_period_end=row.cancel_at_period_end,
        # The switch form replaces the plan of a one-item subscription (as Stripe's portal).
        price_id=items[0].price_id if len(items) == 1 else None,
    )


def _cadence(interval: str, count: int) -> str:
    """ "month", "3 months": the period a price is charged for."""
    return interval if count == 1 else f"{count} {interval}s"


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
    ``[{"product", "prices": [...]}]``), those still active, named from the catalog. A price
    archived (or whose product is) since the configuration named it is left out."""
    choices = []
    for product in products:
        for price_id in product.get("prices") or []:
            try:
                price = await price_service.billable(session, caller, price_id)
            except (PriceInactiveError, ResourceMissingError):
                continue
            amount = Money(price.unit_amount, price.currency).format()
            cadence = (
                f" / {_cadence(price.recurring.interval, price.recurring.interval_count)}"
                if price.recurring is not None
                else ""
            )
            choices.append(PlanChoice(price.price_id, f"{price.product_name} · {amount}{cadence}"))
    return choices


async def _customers(
    session: AsyncSession, caller: Caller, customer_id: str, subscription_id: str
) -> tuple[SubscriptionRow, Sequence[SubscriptionItemRow]]:
    """The subscription if it is the customer's and has not ended; else 'missing', as one that
    does not exist (another customer's is never told apart)."""
    for row, items in await subscription_service.of_customer(session, caller, customer_id):
        if row.id == subscription_id:
            return row, items
    raise SubscriptionMissingError()


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
    transaction. An immediate cancellation with ``create_prorations`` credits the unused time
    (``prorate``), left pending for the customer's next invoice, as Stripe's portal does."""
    try:
        row, _ = await _customers(session, caller, customer_id, subscription_id)
    except SubscriptionMissingError:
        if await _ended_of(session, caller, customer_id, subscription_id):
            return  # canceled already: the second click of an immediate cancel
        raise
    # The portal's reasons are Stripe's cancellation feedback values.
    details = {"feedback": reason} if reason is not None else {}
    if mode == "immediately":
        await subscription_service.cancel(
            session,
            caller,
            row.id,
            SubscriptionCancelParams.model_validate(
                {
                    "prorate": proration_behavior == "create_prorations",
                    "cancellation_details": details,
                }
            ),
        )
    elif not row.cancel_at_period_end:
        await subscription_service.update(
            session,
            caller,
            row.id,
            SubscriptionUpdateParams.model_validate(
                {"cancel_at_period_end": True, "cancellation_details": details}
            ),
        )


async def _ended_of(
    session: AsyncSession, caller: Caller, customer_id: str, subscription_id: str
) -> bool:
    try:
        row = await subscription_service.get(session, caller, subscription_id)
    except ResourceMissingError:
        return False
    return row.customer_id == customer_id and row.status in TERMINAL


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
    to the current price changes nothing. In the caller's transaction.

    Only a one-item subscription is switched (as Stripe's portal); ``billing_cycle_anchor``
    ``now`` restarts the cycle at the switch (``billing.subscriptions`` credits the unused time
    and bills the new period at once)."""
    row, items = await _customers(session, caller, customer_id, subscription_id)
    if len(items) != 1:
        raise SubscriptionMissingError()
    (item,) = items
    if item.price_id == price_id:
        return
    await subscription_service.update(
        session,
        caller,
        row.id,
        SubscriptionUpdateParams.model_validate(
            {
                "items": [ItemUpdateParams(id=item.id, price=price_id)],
                "proration_behavior": ProrationBehavior(proration_behavior),
                **({"billing_cycle_anchor": "now"} if billing_cycle_anchor == "now" else {}),
            }
        ),
    )
