"""Checkout's use cases, as its routes, the hosted page and the composition root reach them.
Never commits, except where a use case is handed a session without a transaction (the page's
payment, the expiry job), which it owns.

**The PaymentIntent is made lazily**, when the customer first pays on the page, as Stripe's
are in payment mode: a session that is never paid leaves no intent behind, and the intent is
made once, under the session's row lock (two tabs paying at once find it made). Every attempt
confirms that one intent on-session through payments' own use case and its phases (the intent
locked, the charge written and committed as the recovery point, the rail asked outside any
transaction, its answer applied in a second short transaction). An intent succeeds at most
once, so a session is charged at most once however many tabs race.

**Completion is the payment's**: payments calls :func:`hear_payment` (registered by
``app.wire_modules`` with ``payments.on_intent_event``) in the transaction recording the
intent's event, so the session changes with the payment or not at all (``domain.hear`` says
how; ``checkout.session.completed`` and, for UPI and net banking payments that complete later,
``async_payment_succeeded`` / ``async_payment_failed``).

**Expiry**: a job at ``expires_at`` and ``POST …/expire``; the session's open intent is canceled
first, so an expired session can never be paid.

**Lock order**: the intent, then the session, in every use case here (payments holds the intent
when it tells us). The page's first phase locks only the session (its intent is not yet made).

**Setup mode** (a card saved for later, no payment) lives in ``setup_mode``: creation, the
page's SetupIntent, completion and expiry are there; this module hands setup sessions over.

**Subscription mode** (``subscription_mode``): the intent is the subscription's first
invoice's, made with the subscription at the first pay attempt; completion is heard from
billing's ``invoice.paid`` (:func:`hear_invoice`); expiry cancels the subscription.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import hmac
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.catalog.schemas import (
    PriceCreateParams,
    PriceProductDataParams,
    price_object,
)
from beyondpay.billing.catalog.service import (
    CouponTerms,
    Purchase,
    applies_to_product,
    coupon_service,
    discount_amount,
    price_service,
    product_service,
    promotion_code_service,
)
from beyondpay.billing.invoices.service import InvoiceEvent, InvoiceRow
from beyondpay.checkout import setup_mode, subscription_mode, tasks
from beyondpay.checkout.domain import (
    EXPIRES_AFTER_S_DEFAULT,
    PAYMENT_METHOD_TYPES,
    Change,
    Outcome,
    PaymentStatus,
    Status,
    expires_at_problem,
    hear,
    line_amount,
    line_discounts,
    success_url_for,
    total,
)
from beyondpay.checkout.errors import (
    EmailRequiredError,
    SessionNotOpenError,
    SessionPaymentProcessingError,
)
from beyondpay.checkout.events import CheckoutEvent, record
from beyondpay.checkout.models import CheckoutSessionRow
from beyondpay.checkout.schemas import (
    CheckoutLineItemListParams,
    CheckoutLineItemParams,
    CheckoutSessionCreateParams,
    CheckoutSessionListParams,
    line_item_object,
)
from beyondpay.checkout.settings import CONFIG
from beyondpay.customers.schemas import CustomerCreateParams
from beyondpay.customers.service import customer_service
from beyondpay.db import jobs
from beyondpay.db.pagination import created_conditions, scoped, scoped_page
from beyondpay.db.phases import STARTED, JobPhases
from beyondpay.db.session import Database
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import (
    InvalidRequestError,
    LockTimeoutError,
    ResourceMissingError,
)
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.logging import get_logger
from beyondpay.kit.params import merge_metadata
from beyondpay.merchants.domain import Caller, KeyKind
from beyondpay.merchants.service import merchant_service
from beyondpay.payment_methods.schemas import PaymentMethodDataParams
from beyondpay.payments.schemas import (
    EMAIL_PATTERN,
    PaymentIntentCancelParams,
    PaymentIntentConfirmParams,
    PaymentIntentCreateParams,
    PaymentIntentUpdateParams,
)
from beyondpay.payments.service import (
    ConfirmResult,
    IntentChange,
    PaymentIntentEvent,
    PaymentIntentRow,
    payment_intent_service,
)
from beyondpay.rails.service import rails_for_currency

PAGE_PATH: Final = "/checkout/"
# The key id of the caller checkout acts as on the merchant's behalf (never an API key's).
ACTING_KEY_ID: Final = "checkout"
EMAIL_CHARS_MAX: Final = 512  # as payments' receipt_email
# What the page says when a discount could no longer be used and came off before a payment.
DISCOUNT_REMOVED: Final = "discount_removed"
EXPIRY_RETRY_S: Final = 60  # an expiry finding the payment with its rail tries again then
_LINK_LABEL: Final = "checkout_link:"
_TOKEN_MAC_BYTES: Final = 18
_SESSION_ID_CHARS_MAX: Final = 64
_CANCELABLE: Final = frozenset(
    {"requires_payment_method", "requires_confirmation", "requires_action"}
)
_OUTCOMES: Final = {
    PaymentIntentEvent.succeeded: Outcome.succeeded,
    PaymentIntentEvent.processing: Outcome.submitted,
    PaymentIntentEvent.payment_failed: Outcome.failed,
}
_EVENTS: Final = {
    Change.completed: CheckoutEvent.completed,
    Change.async_payment_succeeded: CheckoutEvent.async_payment_succeeded,
    Change.async_payment_failed: CheckoutEvent.async_payment_failed,
}
_log = get_logger(__name__)


class _NoRecoveryPoint:
    """The phases of a PaymentIntent made without confirming it: nothing is asked of a rail, so
    no recovery point is ever taken."""

    recovery_point = STARTED

    async def checkpoint(self, recovery_point: str) -> None:
        invariant(False, "a PaymentIntent made unconfirmed asks no rail")


def acting_for(merchant_id: str, livemode: bool) -> Caller:
    """The merchant, as checkout reaches payments for it: scoped to its own objects in one
    mode, like its secret key."""
    return Caller(
        key_id=ACTING_KEY_ID,
        kind=KeyKind.secret,
        livemode=livemode,
        merchant_id=merchant_id,
        merchant_status=None,
    )


# ---- the page's link ---------------------------------------------------------------------------


def page_token(ring: KeyRing, session_id: str) -> str:
    """The page's token: an HMAC of the session's id under the key ring, then the id, so the
    link is unguessable and needs no table to be read back."""
    mac = ring.fingerprint(_LINK_LABEL + session_id)[:_TOKEN_MAC_BYTES]
    return base64.urlsafe_b64encode(mac + session_id.encode()).decode().rstrip("=")


def session_id_of_token(ring: KeyRing, token: str) -> str | None:
    """The session a page token names, or None when the token is not one of ours (under any
    key of the ring: a rotation keeps open sessions' links good)."""
    if len(token) > 2 * (_TOKEN_MAC_BYTES + _SESSION_ID_CHARS_MAX):
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        session_id = raw[_TOKEN_MAC_BYTES:].decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    mac = raw[:_TOKEN_MAC_BYTES]
    for fingerprint in ring.fingerprints(_LINK_LABEL + session_id):
        if session_id and hmac.compare_digest(fingerprint[:_TOKEN_MAC_BYTES], mac):
            return session_id
    return None


def session_url(session_id: str) -> str:
    config = CONFIG.current()
    return f"{config.public_url}{PAGE_PATH}{page_token(config.ring, session_id)}"


def _new_session_id(livemode: bool) -> str:
    """``cs_test_…`` / ``cs_live_…`` (Stripe's), time-ordered as every id here is."""
    body = new_id("cs").partition("_")[2]
    return f"cs_{'live' if livemode else 'test'}_{body}"


# ---- creating ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Line:
    price_id: str
    description: str
    currency: str
    unit_amount: int
    quantity: int
    # A recurring price's (interval, interval_count); subscription mode only.
    recurring: tuple[str, int] | None = None
    inline: bool = False  # made from price_data (archived at once)


async def _line(
    session: AsyncSession, caller: Caller, index: int, item: CheckoutLineItemParams, mode: str
) -> _Line:
    param = f"line_items[{index}]"
    if (item.price is None) == (item.price_data is None):
        raise InvalidRequestError(
            "Each line item needs exactly one of price or price_data.", param=f"{param}[price]"
        )
    if item.price is not None:
        billable = await price_service.billable(
            session, caller, item.price, param=f"{param}[price]"
        )
        if billable.recurring is not None and mode != "subscription":
            raise InvalidRequestError(
                "A recurring price can only be bought in subscription mode; this session is in"
                " payment mode.",
                param=f"{param}[price]",
            )
        every = billable.recurring
        return _Line(
            billable.price_id,
            billable.product_name,
            billable.currency,
            billable.unit_amount,
            item.quantity,
            None if every is None else (str(every.interval), every.interval_count),
        )
    data = item.price_data
    assert data is not None
    if data.recurring is not None and mode != "subscription":
        raise InvalidRequestError(
            "A recurring price can only be bought in subscription mode; this session is in"
            f" {mode} mode.",
            param=f"{param}[price_data][recurring]",
        )
    if (data.product is None) == (data.product_data is None):
        raise InvalidRequestError(
            "price_data needs exactly one of product or product_data.",
            param=f"{param}[price_data][product_data]",
        )
    product_data = None
    name = ""
    if data.product is not None:
        product = await product_service.get(
            session, caller, data.product, param=f"{param}[price_data][product]"
        )
        name = product.name
    if data.product_data is not None:
        name = data.product_data.name
        product_data = PriceProductDataParams(
            name=data.product_data.name, metadata=data.product_data.metadata
        )
    # An inline price, as Stripe makes one: a real price of the catalog, archived at once
    # (active=false), so the line items can render it and nobody buys it again by its id.
    price = await price_service.create(
        session,
        caller,
        PriceCreateParams(
            currency=data.currency,
            unit_amount=data.unit_amount,
            product=data.product,
            product_data=product_data,
            active=False,
            recurring=subscription_mode.price_recurring(data.recurring),
            expand=[],
        ),
    )
    interval = (
        None
        if data.recurring is None
        else (str(data.recurring.interval), data.recurring.interval_count)
    )
    return _Line(
        price.id, name, price.currency, price.unit_amount, item.quantity, interval, inline=True
    )


def _payment_method_types(params: CheckoutSessionCreateParams, currency: str) -> list[str]:
    offered = [str(rail) for rail in rails_for_currency(currency)]
    possible: list[str] = [kind for kind in PAYMENT_METHOD_TYPES if kind in offered]
    if params.mode == "subscription":
        return subscription_mode.payment_method_types(params, possible)
    if params.payment_method_types is None:
        return possible
    for index, kind in enumerate(params.payment_method_types):
        if kind not in possible:
            raise InvalidRequestError(
                f"The payment method type {kind!r} cannot pay in {currency.upper()}.",
                param=f"payment_method_types[{index}]",
            )
    return list(dict.fromkeys(params.payment_method_types))


def _check_params(params: CheckoutSessionCreateParams, created: datetime) -> datetime:
    """The checks that need no database; the session's ``expires_at``."""
    if params.mode == "setup":
        setup_mode.check_params(params)
    elif not params.line_items:
        raise InvalidRequestError(
            f"line_items is required in {params.mode} mode.", param="line_items"
        )
    elif params.setup_intent_data is not None:
        raise InvalidRequestError(
            "setup_intent_data can only be used in setup mode.", param="setup_intent_data"
        )
    subscription_mode.check_params(params)
    if params.customer is not None and params.customer_email is not None:
        raise InvalidRequestError(
            "You may only specify one of these parameters: customer, customer_email.",
            param="customer_email",
        )
    if params.customer is not None and params.customer_creation is not None:
        raise InvalidRequestError(
            "customer_creation can only be used when no customer is given.",
            param="customer_creation",
        )
    if params.discounts and params.allow_promotion_codes:
        # Stripe's rule: codes typed on the page or a discount chosen by the merchant.
        raise InvalidRequestError(
            "You may only specify one of these parameters: allow_promotion_codes, discounts.",
            param="discounts",
        )
    if params.expires_at is None:
        return created + timedelta(seconds=EXPIRES_AFTER_S_DEFAULT)
    expires_at = datetime.fromtimestamp(params.expires_at, tz=UTC)
    problem = expires_at_problem(created, expires_at)
    if problem is not None:
        raise InvalidRequestError(f"expires_at {problem}.", param="expires_at")
    return expires_at


async def _opened(session: AsyncSession, row: CheckoutSessionRow) -> CheckoutSessionRow:
    """The new session written, with its expiry job."""
    session.add(row)
    await session.flush()
    await jobs.defer(
        session,
        tasks.expire,
        checkout_session=row.id,
        schedule_in_s=max(0.0, (row.expires_at - utcnow()).total_seconds()),
    )
    return row


CompletionHook = Callable[[AsyncSession, CheckoutSessionRow], Awaitable[None]]
_completion_hooks: list[CompletionHook] = []


def on_completed(hook: CompletionHook) -> None:
    """``hook`` runs when a session completes, in the transaction that completes it (a module
    above checkout, e.g. payment links counting their completed sessions; registered by
    ``app.wire_modules``). Registering twice changes nothing."""
    if hook not in _completion_hooks:
        _completion_hooks.append(hook)


class CheckoutSessionService:
    async def create(
        self,
        session: AsyncSession,
        caller: Caller,
        params: CheckoutSessionCreateParams,
        *,
        payment_link: str | None = None,
    ) -> CheckoutSessionRow:
        """A new open session; ``payment_link``: the link it is opened from (a module above
        checkout opens it; the API never sets it)."""
        now = utcnow().replace(microsecond=0)
        expires_at = _check_params(params, now)
        if params.customer is not None:
            try:
                customer = await customer_service.get(session, caller, params.customer)
            except ResourceMissingError:
                customer = None  # answered naming `customer`, not the route's `id`
            if customer is None or customer.deleted_at is not None:
                raise ResourceMissingError.for_object("customer", params.customer, param="customer")
        if params.mode == "setup":
            session_id = _new_session_id(caller.livemode)
            row = setup_mode.new_row(caller, params, session_id, now, expires_at)
            return await _opened(session, row)
        assert params.line_items is not None
        lines = [
            await _line(session, caller, index, item, params.mode)
            for index, item in enumerate(params.line_items)
        ]
        if params.mode == "subscription":
            subscription_mode.check_lines([line.recurring for line in lines])
        currency = lines[0].currency
        if params.currency is not None and params.currency != currency:
            raise InvalidRequestError(
                "currency must be the line items' currency.", param="currency"
            )
        for index, line in enumerate(lines):
            if line.currency != currency:
                raise InvalidRequestError(
                    "All line items must be in one currency.",
                    param=f"line_items[{index}][price]",
                )
        amounts = [line_amount(line.unit_amount, line.quantity) for line in lines]
        amount = total(amounts)
        if amount is None:
            raise InvalidRequestError("The line items' total is too large.", param="line_items")
        if amount == 0:
            # No free sessions yet (Stripe's no_payment_required): a payment needs an amount.
            raise InvalidRequestError(
                f"The line items' total must be above zero in {params.mode} mode.",
                param="line_items",
            )
        session_id = _new_session_id(caller.livemode)
        row = CheckoutSessionRow(
            id=session_id,
            merchant_id=caller.merchant,
            livemode=caller.livemode,
            mode=params.mode,
            status=Status.open,
            payment_status=PaymentStatus.unpaid,
            currency=currency,
            amount_subtotal=amount,
            amount_total=amount,
            line_items=[
                {
                    "id": f"li_{new_id('li').partition('_')[2]}",
                    "price": line.price_id,
                    "description": line.description,
                    "currency": line.currency,
                    "unit_amount": line.unit_amount,
                    "quantity": line.quantity,
                    "amount_subtotal": line_total,
                    "amount_total": line_total,
                    **subscription_mode.line_terms(params.mode, line.recurring, line.inline),
                }
                for line, line_total in zip(lines, amounts, strict=True)
            ],
            customer_id=params.customer,
            customer_email=params.customer_email,
            customer_creation=(
                None
                if params.customer is not None or params.mode == "subscription"
                else params.customer_creation or "if_required"
            ),
            client_reference_id=params.client_reference_id,
            success_url=params.success_url,
            cancel_url=params.cancel_url,
            payment_method_types=_payment_method_types(params, currency),
            allow_promotion_codes=params.allow_promotion_codes,
            payment_intent_id=None,
            discounts=[],
            amount_discount=0,
            collected_email=None,
            metadata_=merge_metadata(
                {}, params.metadata if isinstance(params.metadata, dict) else None
            ),
            expires_at=expires_at,
            completed_at=None,
            created_at=now,
            updated_at=now,
            payment_link_id=payment_link,
            subscription_data=subscription_mode.subscription_data(params),
        )
        if params.discounts:
            wanted = params.discounts[0]
            found = await _discount_of(
                session,
                caller,
                row,
                coupon=wanted.coupon,
                promotion_code=wanted.promotion_code,
                param="discounts[0][promotion_code]"
                if wanted.promotion_code is not None
                else "discounts[0][coupon]",
            )
            await _apply_discount(session, caller, row, found, param="discounts")
        return await _opened(session, row)

    async def get(
        self,
        session: AsyncSession,
        caller: Caller,
        session_id: str,
        *,
        for_update: bool = False,
        param: str | None = "id",
    ) -> CheckoutSessionRow:
        statement = scoped(
            CheckoutSessionRow,
            caller.merchant,
            caller.livemode,
            CheckoutSessionRow.id == session_id,
        )
        if for_update:
            # The row as it stands under the lock, not as this session last read it.
            statement = statement.with_for_update().execution_options(populate_existing=True)
        row: CheckoutSessionRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("checkout.session", session_id, param=param)
        return row

    async def list(
        self, session: AsyncSession, caller: Caller, params: CheckoutSessionListParams
    ) -> tuple[Sequence[CheckoutSessionRow], bool]:
        conditions: list[Any] = created_conditions(CheckoutSessionRow.created_at, params.created)
        if params.payment_intent is not None:
            conditions.append(CheckoutSessionRow.payment_intent_id == params.payment_intent)
        if params.customer is not None:
            conditions.append(CheckoutSessionRow.customer_id == params.customer)
        if params.subscription is not None:
            conditions.append(CheckoutSessionRow.subscription_id == params.subscription)
        if params.status is not None:
            conditions.append(CheckoutSessionRow.status == params.status)
        return await scoped_page(
            session,
            CheckoutSessionRow,
            caller.merchant,
            caller.livemode,
            params,
            *conditions,
            object_name="checkout.session",
        )

    async def line_items(
        self,
        session: AsyncSession,
        caller: Caller,
        session_id: str,
        params: CheckoutLineItemListParams,
    ) -> tuple[builtins.list[dict[str, Any]], bool]:
        """A page of the session's line items in their order (``starting_after`` /
        ``ending_before`` name a line item of this session)."""
        row = await self.get(session, caller, session_id)
        lines = list(row.line_items)
        ids = [line["id"] for line in lines]
        start, stop = 0, len(lines)
        for cursor, param in (
            (params.starting_after, "starting_after"),
            (params.ending_before, "ending_before"),
        ):
            if cursor is not None and cursor not in ids:
                raise ResourceMissingError.for_object("line_item", cursor, param=param)
        if params.starting_after is not None:
            start = ids.index(params.starting_after) + 1
            stop = min(stop, start + params.limit)
        elif params.ending_before is not None:
            stop = ids.index(params.ending_before)
            start = max(0, stop - params.limit)
        else:
            stop = min(stop, params.limit)
        shown = lines[start:stop]
        has_more = stop < len(lines) if params.ending_before is None else start > 0
        data = []
        for line in shown:
            price = await price_service.get(session, caller, str(line["price"]), param=None)
            data.append(line_item_object(line, price_object(price)))
        return data, has_more

    async def expire(
        self, session: AsyncSession, caller: Caller, session_id: str
    ) -> CheckoutSessionRow:
        """``POST …/expire``: an open session expires now (its open payment canceled first);
        400 when it is complete or expired already, or its payment is processing."""
        row = await _expire_locked(session, caller, session_id)
        if row is None:
            status = (await self.get(session, caller, session_id)).status
            raise SessionNotOpenError(
                f"This Checkout Session is {status}: only an open session can be expired."
            )
        return row


checkout_session_service = CheckoutSessionService()


async def _expire_locked(
    session: AsyncSession, caller: Caller, session_id: str
) -> CheckoutSessionRow | None:
    """Expires the open session (the intent locked first, then the session): its intent
    canceled where it can still be paid. None when the session is not open."""
    found = await checkout_session_service.get(session, caller, session_id)
    if found.mode == "setup":
        return await setup_mode.expire_locked(session, caller, found)
    # Kept apart: the locked read below refreshes `found` itself (one object per row), so
    # comparing with `found.payment_intent_id` after it would always find them equal.
    intent_id = found.payment_intent_id
    intent: PaymentIntentRow | None = None
    if intent_id is not None:
        intent = await payment_intent_service.get(session, caller, intent_id, for_update=True)
    row = await checkout_session_service.get(session, caller, session_id, for_update=True)
    if row.status != Status.open:
        return None
    if row.payment_intent_id != intent_id:
        # The page made the intent between our two reads: it is not locked. Try again (the
        # job later; the API's caller gets lock_timeout, which Stripe's SDKs retry).
        raise LockTimeoutError()
    if intent is not None:
        if intent.status == "processing":
            raise SessionPaymentProcessingError()
        invariant(intent.status != "succeeded", "a paid session's intent completed it")
        if row.subscription_id is not None:
            # Its invoice's intent: ending the subscription voids the invoice, which cancels it.
            await subscription_mode.end_unpaid(session, caller, row)
        elif intent.status in _CANCELABLE:
            await payment_intent_service.cancel(
                session,
                caller,
                intent.id,
                PaymentIntentCancelParams(cancellation_reason="abandoned", expand=[]),
                owner=row.id,
            )
    row.status = Status.expired
    row.updated_at = utcnow()
    await record(session, row, CheckoutEvent.expired)
    return row


async def expire_on(database: Database, session_id: str) -> None:
    """The expiry job's run. A session no longer open is left; one whose payment is with its
    rail (busy, or processing) is tried again later, as the payment decides it first."""
    async with database.sessionmaker() as session:
        row = await session.get(CheckoutSessionRow, session_id)
        if row is None or row.status != Status.open:
            return
        caller = acting_for(row.merchant_id, row.livemode)
        try:
            await _expire_locked(session, caller, session_id)
        except (LockTimeoutError, SessionPaymentProcessingError):
            await session.rollback()
            async with database.unit_of_work() as again:
                await jobs.defer(
                    again, tasks.expire, checkout_session=session_id, schedule_in_s=EXPIRY_RETRY_S
                )
            _log.info("checkout_expiry_deferred", checkout_session=session_id)
            return
        await session.commit()


# ---- discounts ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Discount:
    coupon_id: str
    promotion_code_id: str | None
    terms: CouponTerms
    code: str | None = None  # the promotion code's text, as the page shows it


async def _first_transaction(
    session: AsyncSession, caller: Caller, customer_id: str | None
) -> bool:
    """What ``first_time_transaction`` codes ask: no completed session of this customer's yet
    (a session without a customer is a first purchase as far as checkout knows)."""
    if customer_id is None:
        return True
    earlier = await session.execute(
        select(
            exists().where(
                CheckoutSessionRow.merchant_id == caller.merchant,
                CheckoutSessionRow.livemode == caller.livemode,
                CheckoutSessionRow.customer_id == customer_id,
                CheckoutSessionRow.status == Status.complete,
            )
        )
    )
    return not earlier.scalar_one()


async def _discount_of(
    session: AsyncSession,
    caller: Caller,
    row: CheckoutSessionRow,
    *,
    coupon: str | None,
    promotion_code: str | None,
    param: str,
) -> _Discount:
    """The coupon, or the promotion code (its text or ``promo_…`` id) and its coupon, if the
    session may have it now; a 400 naming ``param`` saying why not (inactive, expired, fully
    redeemed, another customer's, a minimum unmet, another currency)."""
    if (coupon is None) == (promotion_code is None):
        raise InvalidRequestError("A discount names one of coupon or promotion_code.", param=param)
    if promotion_code is not None:
        purchase = Purchase(
            customer_id=row.customer_id,
            amount_minor=row.amount_subtotal,
            currency=row.currency,
            first_transaction=await _first_transaction(session, caller, row.customer_id),
        )
        resolved = await promotion_code_service.resolve(
            session, caller, promotion_code, purchase=purchase, param=param
        )
        return _Discount(
            resolved.coupon.coupon_id,
            resolved.promotion_code.id,
            resolved.coupon,
            resolved.promotion_code.code,
        )
    assert coupon is not None
    terms = await coupon_service.redeemable(
        session, caller, coupon, currency=row.currency, param=param
    )
    return _Discount(coupon, None, terms)


async def _apply_discount(
    session: AsyncSession,
    caller: Caller,
    row: CheckoutSessionRow,
    discount: _Discount,
    *,
    param: str,
) -> None:
    """The session's amounts with ``discount`` (it replaces any other: one discount in payment
    mode): shared among the lines of the products it applies to, and the total after it."""
    lines = [dict(line) for line in row.line_items]
    eligible = []
    for line in lines:
        price = await price_service.get(session, caller, str(line["price"]), param=None)
        eligible.append(applies_to_product(discount.terms, price.product_id))
    subtotals = [int(line["amount_subtotal"]) for line in lines]
    base = sum(amount for amount, chosen in zip(subtotals, eligible, strict=True) if chosen)
    if base == 0:
        raise InvalidRequestError(
            f"The coupon {discount.coupon_id} applies to none of this session's products.",
            param=param,
        )
    off = discount_amount(base, row.currency, discount.terms)
    if off >= row.amount_subtotal:
        # A session with nothing to pay (Stripe's no_payment_required) is not supported yet.
        raise InvalidRequestError(
            "This discount would leave nothing to pay: payment mode needs an amount.",
            param=param,
        )
    shares = line_discounts(subtotals, eligible, off, row.currency)
    for line, share in zip(lines, shares, strict=True):
        line["amount_discount"] = share
        line["amount_total"] = int(line["amount_subtotal"]) - share
    row.line_items = lines
    row.discounts = [
        {
            "coupon": discount.coupon_id,
            "promotion_code": discount.promotion_code_id,
            "code": discount.code,
        }
    ]
    row.amount_discount = off
    row.amount_total = row.amount_subtotal - off
    invariant(
        sum(int(line["amount_total"]) for line in lines) == row.amount_total,
        "a session's total is its lines' totals",
    )


async def _redeem(session: AsyncSession, row: CheckoutSessionRow) -> None:
    """The completed session's discount counted once (``<session>:discount``). Two sessions
    that showed a code's last redemption can both be paid (each was checked when applied and
    again before its payment); the one completing second is not refused — its customer paid
    the price shown — and its redemption is not counted past ``max_redemptions`` (the count
    is a conditional UPDATE and a CHECK constraint). A warning says so."""
    if not row.discounts:
        return
    entry = row.discounts[0]
    caller = acting_for(row.merchant_id, row.livemode)
    try:
        async with session.begin_nested():
            await coupon_service.redeem(
                session,
                caller,
                f"{row.id}:discount",
                coupon_id=str(entry["coupon"]),
                promotion_code_id=entry["promotion_code"],
                customer_id=row.customer_id,
            )
    except InvalidRequestError as refused:
        _log.warning("checkout_discount_not_counted", checkout_session=row.id, code=refused.code)


async def _discount_still_valid(session: AsyncSession, row: CheckoutSessionRow) -> bool:
    """Before a payment: the session's promotion code or coupon may still be redeemed (Stripe
    checks again when the customer pays)."""
    if not row.discounts:
        return True
    entry = row.discounts[0]
    caller = acting_for(row.merchant_id, row.livemode)
    code = entry["promotion_code"]
    try:
        async with session.begin_nested():
            await _discount_of(
                session,
                caller,
                row,
                coupon=None if code is not None else str(entry["coupon"]),
                promotion_code=code,
                param="promotion_code",
            )
    except InvalidRequestError:
        return False
    return True


async def _remove_discount(
    session: AsyncSession, ring: KeyRing, row: CheckoutSessionRow, intent_id: str
) -> None:
    """A discount that can no longer be used comes off (the intent and the session locked,
    in that order): the session and its intent back to the full amount, which the customer
    sees before paying again."""
    lines = [dict(line) for line in row.line_items]
    for line in lines:
        line["amount_discount"] = 0
        line["amount_total"] = line["amount_subtotal"]
    row.line_items = lines
    row.discounts, row.amount_discount = [], 0
    row.amount_total = row.amount_subtotal
    row.updated_at = utcnow()
    await payment_intent_service.update(
        session,
        acting_for(row.merchant_id, row.livemode),
        ring,
        intent_id,
        PaymentIntentUpdateParams(amount=row.amount_total, expand=[]),
        owner=row.id,
    )


async def apply_promotion_code(
    session: AsyncSession, ring: KeyRing, session_id: str, code: str
) -> CheckoutSessionRow:
    """The customer typed a promotion code on the page (``allow_promotion_codes``): its coupon's
    discount applies to the session, and to its PaymentIntent's amount if one was made and
    waits for a payment. A 400 naming ``promotion_code`` saying why not; then nothing changes.
    ``session`` has no transaction open and is left committed (or rolled back by the caller on
    an error). Locks the intent, then the session (this module's order)."""
    found = await session.get(CheckoutSessionRow, session_id)
    invariant(found is not None, "a page's session exists")
    assert found is not None
    caller = acting_for(found.merchant_id, found.livemode)
    intent = None
    if found.payment_intent_id is not None:
        intent = await payment_intent_service.get(
            session, caller, found.payment_intent_id, for_update=True
        )
    row = await checkout_session_service.get(session, caller, session_id, for_update=True)
    if row.status != Status.open or _past_expiry(row):
        raise SessionNotOpenError(f"This Checkout Session is {row.status}.")
    if not row.allow_promotion_codes:
        raise InvalidRequestError(
            "This checkout does not take promotion codes.", param="promotion_code"
        )
    if row.payment_intent_id != found.payment_intent_id:
        raise LockTimeoutError()  # the intent was made between the reads: try again
    if intent is not None and intent.status not in _CANCELABLE - {"requires_action"}:
        # A payment under way (a UPI request shown, a bank page) is for the old amount.
        raise SessionPaymentProcessingError(
            "A payment is under way on this page: a promotion code applies before paying."
        )
    discount = await _discount_of(
        session, caller, row, coupon=None, promotion_code=code, param="promotion_code"
    )
    await _apply_discount(session, caller, row, discount, param="promotion_code")
    row.updated_at = utcnow()
    if intent is not None:
        await payment_intent_service.update(
            session,
            caller,
            ring,
            intent.id,
            PaymentIntentUpdateParams(amount=row.amount_total, expand=[]),
            owner=row.id,
        )
    await session.commit()
    return row


# ---- the customer's email ----------------------------------------------------------------------


def needs_email(row: CheckoutSessionRow) -> bool:
    """The page asks for an email before paying: no customer and no email were given (Stripe
    always collects one; the receipt and a created customer need it)."""
    return row.customer_id is None and row.customer_email is None and row.collected_email is None


async def give_email(session: AsyncSession, session_id: str, email: str) -> CheckoutSessionRow:
    """The email the customer typed on the page: the session's ``customer_details.email``, its
    PaymentIntent's ``receipt_email`` when it is made, and a created customer's email. Only
    while the session is open and asks for it (``needs_email``); typed again before paying,
    the new one replaces it. A 400 naming ``email`` when it is not an address. ``session`` has
    no transaction open and is left committed. The address is never logged."""
    checked = email.strip()
    if not checked or len(checked) > EMAIL_CHARS_MAX or not EMAIL_PATTERN.match(checked):
        raise InvalidRequestError("Enter a valid email address.", param="email")
    row = await session.get(
        CheckoutSessionRow, session_id, with_for_update=True, populate_existing=True
    )
    invariant(row is not None, "a page's session exists")
    assert row is not None
    if row.status != Status.open or _past_expiry(row):
        raise SessionNotOpenError(f"This Checkout Session is {row.status}.")
    asked = row.customer_id is None and row.customer_email is None
    if not asked or row.payment_intent_id is not None:
        # Given by the merchant, or the payment began with the email already collected.
        raise InvalidRequestError("This checkout's email cannot change now.", param="email")
    row.collected_email = checked
    row.updated_at = utcnow()
    await session.commit()
    return row


# ---- paying on the page ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PagePayment:
    """What a payment on the page came to: the session after it, and payments' answer (None
    when nothing was tried: the session was not open, or ``refused`` says why not)."""

    row: CheckoutSessionRow
    result: ConfirmResult | None
    refused: str | None = None


async def _ensure_intent(session: AsyncSession, ring: KeyRing, row: CheckoutSessionRow) -> str:
    """The session's PaymentIntent, made now if it has none (the session is locked)."""
    if row.payment_intent_id is not None:
        return row.payment_intent_id
    params = PaymentIntentCreateParams(
        amount=row.amount_total,
        currency=row.currency,
        customer=row.customer_id,
        payment_method_types=list(row.payment_method_types),
        receipt_email=row.customer_email or row.collected_email,
        metadata={"checkout_session": row.id},
        expand=[],
    )
    caller = acting_for(row.merchant_id, row.livemode)
    created = await payment_intent_service.create(
        session, caller, ring, params, _NoRecoveryPoint(), owner=row.id
    )
    row.payment_intent_id = created.intent.id
    row.updated_at = utcnow()
    return created.intent.id


def _past_expiry(row: CheckoutSessionRow) -> bool:
    return row.expires_at <= utcnow()


async def pay_on_page(
    session: AsyncSession, ring: KeyRing, session_id: str, method: PaymentMethodDataParams
) -> PagePayment:
    """The customer pays the session on its page with what they typed (a card, UPI by app or
    to a VPA, a bank). ``session`` has no transaction open and is left committed.

    Phase one makes the intent under the session's lock and commits; phase two locks the
    intent, then the session, checks it is still open, and confirms on-session, coming back
    to the page after a 3-D Secure or bank page. A session past its ``expires_at`` whose job
    has not run yet is not paid either."""
    row = await session.get(
        CheckoutSessionRow, session_id, with_for_update=True, populate_existing=True
    )
    invariant(row is not None, "a page's session exists")
    assert row is not None
    if row.status != Status.open or _past_expiry(row) or row.mode == "setup":
        await session.commit()
        return PagePayment(row, None)
    if needs_email(row):
        raise EmailRequiredError(param="email")
    subscribing = row.mode == "subscription"
    if subscribing:
        subscription_mode.check_method(row, method.type)
        caller = acting_for(row.merchant_id, row.livemode)
        intent_id = await subscription_mode.ensure_subscription(session, ring, row, caller)
    else:
        intent_id = await _ensure_intent(session, ring, row)
    await session.commit()
    caller = acting_for(row.merchant_id, row.livemode)
    await payment_intent_service.get(session, caller, intent_id, for_update=True)
    row = await checkout_session_service.get(session, caller, session_id, for_update=True)
    if row.status != Status.open or _past_expiry(row):
        await session.commit()
        return PagePayment(row, None)
    if not await _discount_still_valid(session, row):
        await _remove_discount(session, ring, row, intent_id)
        await session.commit()
        return PagePayment(row, None, refused=DISCOUNT_REMOVED)
    confirm = PaymentIntentConfirmParams(
        payment_method_data=method,
        return_url=session_url(row.id),
        # Subscription mode: saved for the renewals, charged off-session (Stripe's).
        setup_future_usage="off_session" if subscribing else None,
        expand=[],
    )
    result = await payment_intent_service.confirm(
        session, caller, ring, intent_id, confirm, JobPhases(session)
    )
    await session.commit()
    return PagePayment(row, result)


async def _record_change(
    session: AsyncSession, row: CheckoutSessionRow, heard_change: Change
) -> None:
    """Records ``heard_change`` on the locked session (its status already set by the caller):
    the customer made if due, the event, and the completion hooks."""
    now = utcnow()
    if heard_change == Change.completed:
        row.completed_at = now
        await _create_customer(session, row)
        await _redeem(session, row)
    row.updated_at = now
    await record(session, row, _EVENTS[heard_change])
    if heard_change == Change.completed:
        for hook in _completion_hooks:
            await hook(session, row)


async def hear_payment(session: AsyncSession, change: IntentChange) -> None:
    """What happened to a session's PaymentIntent, in the transaction that records it
    (payments' ``on_intent_event``, registered by ``app.wire_modules``)."""
    outcome = _OUTCOMES.get(change.type)
    if outcome is None:
        return
    row = (
        await session.execute(
            select(CheckoutSessionRow)
            .where(CheckoutSessionRow.payment_intent_id == change.intent_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if row is None:
        return  # not a session's payment
    heard = hear(Status(row.status), PaymentStatus(row.payment_status), outcome)
    if heard.change is None:
        return
    if outcome == Outcome.succeeded:
        invariant(change.amount_received == row.amount_total, "a session is paid in full")
    row.status = heard.status
    row.payment_status = heard.payment_status
    await _record_change(session, row, heard.change)


async def hear_invoice(session: AsyncSession, invoice: InvoiceRow, type: InvoiceEvent) -> None:
    """Subscription mode: the session's first invoice is paid (billing's ``on_invoice_event``,
    registered by ``app.wire_modules`` after billing's own subscription listener, so the
    subscription is already active), in the transaction that records it: the session
    completes, paid. A failed payment changes nothing: the customer tries again on the page."""
    if type != InvoiceEvent.paid or invoice.subscription_id is None:
        return
    row = (
        await session.execute(
            select(CheckoutSessionRow)
            .where(CheckoutSessionRow.invoice_id == invoice.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if row is None:
        return  # not a session's invoice
    heard = hear(Status(row.status), PaymentStatus(row.payment_status), Outcome.succeeded)
    if heard.change is None:
        return
    invariant(heard.change == Change.completed, "a session's first invoice is paid once")
    row.status = heard.status
    row.payment_status = heard.payment_status
    await _record_change(session, row, heard.change)


async def _create_customer(session: AsyncSession, row: CheckoutSessionRow) -> None:
    """``customer_creation=always``: the session's customer is made at completion, with the
    email the session has (Stripe makes one from what the page collected)."""
    if row.customer_id is not None or row.customer_creation != "always":
        return
    caller = acting_for(row.merchant_id, row.livemode)
    customer = await customer_service.create(
        session,
        caller,
        CustomerCreateParams(
            email=row.customer_email or row.collected_email,
            metadata={"checkout_session": row.id},
            payment_method=None,
        ),
        CONFIG.current().ring,
    )
    row.customer_id = customer.id


# ---- the page's view ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckoutPage:
    """What the hosted page shows: the session, the merchant, and where its PaymentIntent's
    last attempt stands (a UPI link or collect waiting, a page the customer left, the reason the
    last attempt failed)."""

    row: CheckoutSessionRow
    token: str
    merchant_name: str
    intent_status: str | None
    upi_intent_url: str | None
    upi_collect_waiting: bool
    action_url: str | None
    last_error_code: str | None

    @property
    def payable(self) -> bool:
        return (
            self.row.status == Status.open
            and not _past_expiry(self.row)
            and self.intent_status not in ("processing", "succeeded")
        )

    @property
    def success_url(self) -> str | None:
        if self.row.success_url is None:
            return None
        return success_url_for(self.row.success_url, self.row.id)


async def page_of_token(session: AsyncSession, ring: KeyRing, token: str) -> CheckoutPage:
    """The page a link shows; 404 (``ResourceMissingError``) for a token that is not ours."""
    session_id = session_id_of_token(ring, token)
    row = await session.get(CheckoutSessionRow, session_id) if session_id is not None else None
    if row is None:
        raise ResourceMissingError("No such checkout session.")
    name = await merchant_service.business_name(session, row.merchant_id)
    status = upi = action = error = None
    collect = False
    if row.payment_intent_id is not None:
        intent = await payment_intent_service.get(
            session, acting_for(row.merchant_id, row.livemode), row.payment_intent_id
        )
        status = intent.status
        next_action = intent.next_action or {}
        kind = next_action.get("type")
        if kind == "upi_intent":
            upi = str(next_action["upi_intent"]["url"])
        elif kind == "upi_collect":
            collect = True
        elif kind == "redirect_to_url":
            action = str(next_action["redirect_to_url"]["url"])
        if intent.last_payment_error:
            failed = intent.last_payment_error
            error = str(failed.get("decline_code") or "") or str(failed.get("code"))
    elif row.setup_intent_id is not None:
        setup = await setup_mode.intent_view(session, row)
        status, action, error = setup.status, setup.action_url, setup.last_error_code
    return CheckoutPage(row, token, name, status, upi, collect, action, error)
