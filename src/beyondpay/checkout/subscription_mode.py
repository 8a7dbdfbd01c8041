"""Checkout Sessions in ``mode=subscription``: what differs from payment mode (the rest is
``service``'s).

**What a session takes.** ``line_items`` with at least one recurring price (a catalog price or
inline ``price_data[recurring]``), all in one currency, the recurring ones on one billing
interval (one subscription, one cycle, as billing requires). One-time prices go on the first
invoice only (billing's ``add_invoice_items``), as Stripe puts them. ``subscription_data``
takes ``metadata`` and ``description``; ``trial_period_days`` is refused (a trial would save
the card with a SetupIntent and pay nothing now: not built). Only ``card`` pays: the renewals
charge the saved card off-session, and UPI Autopay mandates do not exist yet, so ``upi`` and
``netbanking`` are refused naming ``payment_method_types[n]``.

**When the subscription is made.** Stripe makes the customer and the subscription at
completion. Here billing's first invoice owns the PaymentIntent the customer pays, so both are
made at the first pay attempt, under the session's row lock (a second tab finds them made):
the customer (from ``customer_email`` when there is no ``customer``), then the subscription
with ``payment_behavior=default_incomplete`` (its first invoice is not collected by billing's
job: the page confirms it) and ``payment_settings[save_default_payment_method]=on_subscription``
(the card that pays the first invoice becomes the subscription's default). The page confirms
the invoice's intent with ``setup_future_usage=off_session`` so the renewals can charge it.

**Completion** is the first invoice's: checkout hears billing's ``invoice.paid``
(``service.hear_invoice``), after billing's own listener made the subscription active.

**Expiry** of a session that made a subscription ends it: the incomplete subscription is
canceled (``incomplete_expired``), which voids its first invoice and cancels the invoice's
PaymentIntent, so nothing is left open to be paid.

**Lock order**: the intent first, always (payments holds it when the invoice is paid, and the
expiry takes it before anything else); then completion takes the invoice, the subscription and
the session, and expiry the session, then the invoice and the subscription as billing's
cancellation does. Both hold the intent, so they never interleave.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.catalog.domain import INTERVAL_COUNT_MAX, Interval
from beyondpay.billing.catalog.schemas import PriceRecurringParams
from beyondpay.billing.invoices.service import invoice_service
from beyondpay.billing.subscriptions.schemas import (
    AddInvoiceItemParams,
    ItemParams,
    PaymentSettingsParams,
    SubscriptionCancelParams,
    SubscriptionCreateParams,
)
from beyondpay.billing.subscriptions.service import rendered, subscription_service
from beyondpay.checkout.models import CheckoutSessionRow
from beyondpay.checkout.schemas import (
    CheckoutPriceRecurringParams,
    CheckoutSessionCreateParams,
)
from beyondpay.customers.schemas import CustomerCreateParams
from beyondpay.customers.service import customer_service
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import InvalidRequestError
from beyondpay.kit.invariants import invariant
from beyondpay.merchants.domain import Caller

MODE: Final = "subscription"
# What billing can charge again off-session: a saved card (UPI Autopay mandates are not built).
PAYMENT_METHOD_TYPES: Final = ("card",)
_INCOMPLETE: Final = "incomplete"
EXPANSIONS: Final = frozenset({"subscription"})  # what a session's expand[] may name


def check_params(params: CheckoutSessionCreateParams) -> None:
    """The parameters only one mode takes (no database needed)."""
    if params.mode != MODE:
        if params.subscription_data is not None:
            raise InvalidRequestError(
                "subscription_data can only be used in subscription mode.",
                param="subscription_data",
            )
        return
    if params.customer_creation is not None:
        raise InvalidRequestError(
            "customer_creation can only be used in payment mode: a subscription always has a"
            " customer.",
            param="customer_creation",
        )
    # Billing's subscriptions take no coupon yet: a discount on the page would make the
    # session's total differ from the first invoice's. Refused rather than charged in full.
    if params.discounts:
        raise InvalidRequestError(
            "Discounts are not available in subscription mode yet.", param="discounts"
        )
    if params.allow_promotion_codes:
        raise InvalidRequestError(
            "Promotion codes are not available in subscription mode yet.",
            param="allow_promotion_codes",
        )
    data = params.subscription_data
    if data is not None and data.trial_period_days is not None:
        raise InvalidRequestError(
            "Trials are not available in Checkout yet: create the session without"
            " subscription_data[trial_period_days].",
            param="subscription_data[trial_period_days]",
        )
    for index, item in enumerate(params.line_items or []):
        recurring = item.price_data.recurring if item.price_data is not None else None
        if recurring is None:
            continue
        if recurring.interval_count > INTERVAL_COUNT_MAX[Interval(recurring.interval)]:
            raise InvalidRequestError(
                "A recurring price bills at least once a year.",
                param=f"line_items[{index}][price_data][recurring][interval_count]",
            )


def price_recurring(data: CheckoutPriceRecurringParams | None) -> PriceRecurringParams | None:
    if data is None:
        return None
    return PriceRecurringParams(
        interval=Interval(data.interval), interval_count=data.interval_count
    )


def check_lines(recurrings: Sequence[tuple[str, int] | None]) -> None:
    """At least one line is recurring, all recurring ones on one billing interval (one-time
    lines go on the first invoice)."""
    first = next((recurring for recurring in recurrings if recurring is not None), None)
    if first is None:
        raise InvalidRequestError(
            "A subscription-mode session needs at least one recurring price.",
            param="line_items",
        )
    for index, recurring in enumerate(recurrings):
        if recurring is not None and recurring != first:
            raise InvalidRequestError(
                "All of a subscription's prices must have the same billing interval.",
                param=f"line_items[{index}][price]",
            )


def payment_method_types(params: CheckoutSessionCreateParams, possible: list[str]) -> list[str]:
    """Card only (what renewals can charge); a type named but not chargeable again is refused."""
    chargeable = [kind for kind in possible if kind in PAYMENT_METHOD_TYPES]
    if params.payment_method_types is None:
        return chargeable
    for index, kind in enumerate(params.payment_method_types):
        if kind not in chargeable:
            raise InvalidRequestError(
                f"The payment method type {kind!r} cannot pay a subscription yet: its renewals"
                " are charged off-session, which only a saved card can be today (UPI Autopay"
                " mandates are not available).",
                param=f"payment_method_types[{index}]",
            )
    return list(dict.fromkeys(params.payment_method_types))


def check_method(row: CheckoutSessionRow, kind: str) -> None:
    """The page's method is one the session takes (the invoice's intent would take others,
    which its renewals could not charge)."""
    if kind not in row.payment_method_types:
        raise InvalidRequestError(
            f"This subscription cannot be paid with {kind}.", param="payment_method_data[type]"
        )


def line_terms(mode: str, recurring: tuple[str, int] | None, inline: bool) -> dict[str, Any]:
    """What a subscription-mode session's stored line keeps beyond payment mode's: its billing
    interval (the page says "/ month"; none for a one-time line) and whether its price was
    made inline (archived, taken anyway)."""
    if mode != MODE:
        return {}
    if recurring is None:
        return {"inline": inline}
    interval, count = recurring
    return {"interval": interval, "interval_count": count, "inline": inline}


def recurring_amount(lines: Sequence[dict[str, Any]]) -> int:
    """What each renewal charges: the recurring lines' total (one-time lines are billed once)."""
    return sum(int(line["amount_total"]) for line in lines if line.get("interval") is not None)


def subscription_data(params: CheckoutSessionCreateParams) -> dict[str, Any] | None:
    if params.mode != MODE:
        return None
    data = params.subscription_data
    metadata = data.metadata if data is not None and isinstance(data.metadata, dict) else None
    return {
        "metadata": metadata or {},
        "description": data.description if data is not None else None,
    }


async def ensure_subscription(
    session: AsyncSession, ring: KeyRing, row: CheckoutSessionRow, caller: Caller
) -> str:
    """Phase one of a pay attempt (the session locked): the session's customer and its
    incomplete subscription, made now if not yet; the first invoice's PaymentIntent."""
    if row.subscription_id is not None:
        invariant(row.payment_intent_id is not None, "a session's subscription has its intent")
        assert row.payment_intent_id is not None
        return row.payment_intent_id
    if row.customer_id is None:
        customer = await customer_service.create(
            session,
            caller,
            CustomerCreateParams(
                email=row.customer_email or row.collected_email,
                metadata={"checkout_session": row.id},
                payment_method=None,
            ),
            ring,
        )
        row.customer_id = customer.id
    data = row.subscription_data or {}
    lines = list(row.line_items)
    recurring = [line for line in lines if line.get("interval") is not None]
    one_time = [line for line in lines if line.get("interval") is None]
    subscription = await subscription_service.create(
        session,
        caller,
        SubscriptionCreateParams(
            customer=row.customer_id,
            items=[
                ItemParams(price=line["price"], quantity=line["quantity"]) for line in recurring
            ],
            add_invoice_items=[
                AddInvoiceItemParams(price=line["price"], quantity=line["quantity"])
                for line in one_time
            ]
            or None,
            payment_behavior="default_incomplete",
            payment_settings=PaymentSettingsParams(save_default_payment_method="on_subscription"),
            metadata={**data.get("metadata", {}), "checkout_session": row.id},
            description=data.get("description"),
            expand=[],
        ),
        inline_prices=frozenset(line["price"] for line in lines if line.get("inline")),
    )
    invariant(subscription.latest_invoice_id is not None, "a new subscription has its invoice")
    assert subscription.latest_invoice_id is not None
    invoice = await invoice_service.get(session, caller, subscription.latest_invoice_id)
    invariant(invoice.payment_intent_id is not None, "a subscription's first invoice is due")
    assert invoice.payment_intent_id is not None
    row.subscription_id = subscription.id
    row.invoice_id = invoice.id
    row.payment_intent_id = invoice.payment_intent_id
    row.updated_at = utcnow()
    return invoice.payment_intent_id


async def end_unpaid(session: AsyncSession, caller: Caller, row: CheckoutSessionRow) -> None:
    """The session expires unpaid: its subscription, still incomplete, is canceled (it ends
    ``incomplete_expired``; its first invoice voided and the invoice's intent canceled). One
    that billing expired first (23 hours unpaid) is left as it is."""
    assert row.subscription_id is not None
    subscription = await subscription_service.get(session, caller, row.subscription_id)
    if subscription.status != _INCOMPLETE:
        return
    await subscription_service.cancel(
        session, caller, row.subscription_id, SubscriptionCancelParams(expand=[])
    )


async def expanded(
    session: AsyncSession,
    caller: Caller,
    row: CheckoutSessionRow,
    shown: dict[str, Any],
    expand: Sequence[str],
) -> dict[str, Any]:
    """``shown`` with its ``subscription`` rendered in full when ``expand[]`` names it (and
    the session has made one)."""
    if "subscription" not in expand or row.subscription_id is None:
        return shown
    subscription = await subscription_service.get(session, caller, row.subscription_id)
    return {**shown, "subscription": await rendered(session, subscription)}
