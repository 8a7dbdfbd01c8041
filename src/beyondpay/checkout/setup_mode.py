"""Checkout Sessions in setup mode: the hosted page saves the customer's card for later
payments (Stripe's ``mode=setup``) instead of taking a payment.

**No money**: no line items, amounts of 0, ``payment_status`` always ``no_payment_required``.
The session has a ``currency`` (Stripe's: the payment methods a currency offers; ``inr`` by
default here, where Stripe requires it unless ``payment_method_types`` is given) and only the
payment method types a SetupIntent can save (a card: ``setup_intents``).

**The SetupIntent is made lazily**, as payment mode's PaymentIntent is: when the customer
first submits a card on the page, under the session's row lock, so two tabs find one intent.
It is made for the session (its ``owner``, so the merchant cannot cancel or update it but
through the session; and metadata ``checkout_session``), ``usage=off_session``, with the
session's customer and ``setup_intent_data``; every attempt confirms it through
setup_intents' own use case and its phases (recovery point committed, the card network asked
outside any transaction, its answer applied in a second one). A 3-D Secure challenge sends the
customer to the issuer's page, which returns to the session's page.

**Completion is the SetupIntent's**: setup_intents calls :func:`hear_setup` (registered by
``app.wire_modules`` with ``on_setup_intent_event``) in the transaction recording
``setup_intent.succeeded``; the session completes there (``checkout.session.completed``),
makes its customer when ``customer_creation=always`` and attaches the saved card to it.

**Lock order**: the SetupIntent, then the session, as in payment mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.checkout.domain import PaymentStatus, Status
from beyondpay.checkout.errors import SessionPaymentProcessingError
from beyondpay.checkout.events import CheckoutEvent, record
from beyondpay.checkout.models import CheckoutSessionRow
from beyondpay.checkout.schemas import CheckoutSessionCreateParams
from beyondpay.db.phases import STARTED, JobPhases
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import InvalidRequestError, LockTimeoutError
from beyondpay.kit.invariants import invariant
from beyondpay.kit.params import merge_metadata
from beyondpay.merchants.domain import Caller
from beyondpay.payment_methods.schemas import PaymentMethodDataParams
from beyondpay.payment_methods.service import payment_method_service
from beyondpay.setup_intents.schemas import (
    SetupIntentCancelParams,
    SetupIntentConfirmParams,
    SetupIntentCreateParams,
)
from beyondpay.setup_intents.service import (
    SETUP_PAYMENT_METHOD_TYPES,
    SetupIntentChange,
    SetupIntentEvent,
    SetupResult,
    setup_intent_service,
)

CURRENCY_DEFAULT: Final = "inr"
# The key of the SetupIntent's metadata that names its session (as payment mode's intent has).
OWNER_KEY: Final = "checkout_session"
_CANCELABLE: Final = frozenset(
    {"requires_payment_method", "requires_confirmation", "requires_action"}
)


class _NoRecoveryPoint:
    """The phases of a SetupIntent made without confirming it: no network is asked."""

    recovery_point = STARTED

    async def checkpoint(self, recovery_point: str) -> None:
        invariant(False, "a SetupIntent made unconfirmed asks no network")


# ---- creating ----------------------------------------------------------------------------------


def check_params(params: CheckoutSessionCreateParams) -> None:
    """What setup mode refuses, naming the parameter: line items (nothing is bought), and a
    payment method type a SetupIntent cannot save."""
    if params.line_items is not None:
        raise InvalidRequestError(
            "line_items cannot be used in setup mode: a setup session takes no payment.",
            param="line_items",
        )
    # Nothing is bought, so nothing can be discounted (Stripe refuses both in setup mode).
    if params.discounts:
        raise InvalidRequestError("discounts cannot be used in setup mode.", param="discounts")
    if params.allow_promotion_codes:
        raise InvalidRequestError(
            "allow_promotion_codes cannot be used in setup mode.", param="allow_promotion_codes"
        )
    for index, kind in enumerate(params.payment_method_types or []):
        if kind not in SETUP_PAYMENT_METHOD_TYPES:
            raise InvalidRequestError(
                f"The payment method type {kind!r} cannot be saved for later in setup mode:"
                f" only {', '.join(SETUP_PAYMENT_METHOD_TYPES)}.",
                param=f"payment_method_types[{index}]",
            )


def new_row(
    caller: Caller,
    params: CheckoutSessionCreateParams,
    session_id: str,
    now: datetime,
    expires_at: datetime,
) -> CheckoutSessionRow:
    """A new open setup session (checked by :func:`check_params`)."""
    data = params.setup_intent_data
    return CheckoutSessionRow(
        id=session_id,
        merchant_id=caller.merchant,
        livemode=caller.livemode,
        mode="setup",
        status=Status.open,
        payment_status=PaymentStatus.no_payment_required,
        currency=params.currency or CURRENCY_DEFAULT,
        amount_subtotal=0,
        amount_total=0,
        line_items=[],
        customer_id=params.customer,
        customer_email=params.customer_email,
        customer_creation=(
            None if params.customer is not None else params.customer_creation or "if_required"
        ),
        client_reference_id=params.client_reference_id,
        success_url=params.success_url,
        cancel_url=params.cancel_url,
        payment_method_types=list(
            dict.fromkeys(params.payment_method_types or SETUP_PAYMENT_METHOD_TYPES)
        ),
        allow_promotion_codes=params.allow_promotion_codes,
        payment_intent_id=None,
        setup_intent_id=None,
        setup_intent_data=(
            {
                "description": data.description,
                "metadata": data.metadata if isinstance(data.metadata, dict) else {},
            }
            if data is not None
            else None
        ),
        metadata_=merge_metadata(
            {}, params.metadata if isinstance(params.metadata, dict) else None
        ),
        expires_at=expires_at,
        completed_at=None,
        created_at=now,
        updated_at=now,
        payment_link_id=None,
    )


# ---- saving on the page ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageSetup:
    """What a card submitted on a setup session's page came to: the session after it, and
    setup_intents' answer (None when nothing was tried: the session was not open)."""

    row: CheckoutSessionRow
    result: SetupResult | None


async def _ensure_intent(session: AsyncSession, ring: KeyRing, row: CheckoutSessionRow) -> str:
    """The session's SetupIntent, made now if it has none (the session is locked)."""
    from beyondpay.checkout.service import acting_for, session_url

    if row.setup_intent_id is not None:
        return row.setup_intent_id
    data = row.setup_intent_data or {}
    params = SetupIntentCreateParams(
        customer=row.customer_id,
        description=data.get("description"),
        metadata={**dict(data.get("metadata") or {}), OWNER_KEY: row.id},
        payment_method_types=list(row.payment_method_types),
        return_url=session_url(row.id),
        usage="off_session",
        expand=[],
    )
    caller = acting_for(row.merchant_id, row.livemode)
    created = await setup_intent_service.create(
        session, caller, ring, params, _NoRecoveryPoint(), owner=row.id
    )
    row.setup_intent_id = created.intent.id
    row.updated_at = utcnow()
    return created.intent.id


def _saveable(row: CheckoutSessionRow) -> bool:
    return row.mode == "setup" and row.status == Status.open and row.expires_at > utcnow()


async def save_on_page(
    session: AsyncSession, ring: KeyRing, session_id: str, method: PaymentMethodDataParams
) -> PageSetup:
    """The customer saves the card they typed on the session's page. ``session`` has no
    transaction open and is left committed.

    Phase one makes the SetupIntent under the session's lock and commits; phase two locks the
    intent, then the session, checks it is still open, and confirms the intent with the card
    (a 3-D Secure challenge returns to the page). A second tab finds the intent busy
    (``lock_timeout``) or the session complete."""
    from beyondpay.checkout.service import acting_for, checkout_session_service, session_url

    row = await session.get(
        CheckoutSessionRow, session_id, with_for_update=True, populate_existing=True
    )
    invariant(row is not None, "a page's session exists")
    assert row is not None
    if not _saveable(row):
        await session.commit()
        return PageSetup(row, None)
    intent_id = await _ensure_intent(session, ring, row)
    await session.commit()
    caller = acting_for(row.merchant_id, row.livemode)
    await setup_intent_service.get(session, caller, intent_id, for_update=True)
    row = await checkout_session_service.get(session, caller, session_id, for_update=True)
    if not _saveable(row):
        await session.commit()
        return PageSetup(row, None)
    confirm = SetupIntentConfirmParams(
        payment_method_data=method, return_url=session_url(row.id), expand=[]
    )
    result = await setup_intent_service.confirm(
        session, caller, ring, intent_id, confirm, JobPhases(session)
    )
    await session.commit()
    return PageSetup(row, result)


@dataclass(frozen=True, slots=True)
class IntentView:
    """Where a setup session's SetupIntent stands, as the page shows it."""

    status: str | None
    action_url: str | None
    last_error_code: str | None


async def intent_view(session: AsyncSession, row: CheckoutSessionRow) -> IntentView:
    from beyondpay.checkout.service import acting_for

    if row.setup_intent_id is None:
        return IntentView(None, None, None)
    intent = await setup_intent_service.get(
        session, acting_for(row.merchant_id, row.livemode), row.setup_intent_id
    )
    action = None
    next_action = intent.next_action or {}
    if next_action.get("type") == "redirect_to_url":
        action = str(next_action["redirect_to_url"]["url"])
    error = None
    if intent.last_setup_error:
        failed = intent.last_setup_error
        error = str(failed.get("decline_code") or "") or str(failed.get("code"))
    return IntentView(intent.status, action, error)


# ---- completing and expiring -------------------------------------------------------------------


async def hear_setup(session: AsyncSession, change: SetupIntentChange) -> None:
    """A session's SetupIntent succeeded, in the transaction that records it (setup_intents'
    ``on_setup_intent_event``, registered by ``app.wire_modules``): the session completes,
    its customer is made when ``customer_creation=always``, and the saved card is attached to
    the session's customer (Stripe's). Anything else, or a repeat, changes nothing: a decline
    leaves the session open for another try."""
    from beyondpay.checkout.service import _completion_hooks, _create_customer

    if change.type != SetupIntentEvent.succeeded:
        return
    row = (
        await session.execute(
            select(CheckoutSessionRow)
            .where(CheckoutSessionRow.setup_intent_id == change.intent_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if row is None or row.status != Status.open:
        return  # heard already (or the session's row is gone: never deleted, so never)
    invariant(row.mode == "setup", "only a setup session has a SetupIntent")
    invariant(change.payment_method_id is not None, "a succeeded setup saved a card")
    now = utcnow()
    await _create_customer(session, row)
    if row.customer_id is not None and change.customer_id is None:
        # The intent had no customer (made at completion): the card is attached to it now.
        await payment_method_service.save_for_later(
            session,
            str(change.payment_method_id),
            row.customer_id,
            off_session=False,
            network_transaction_id=None,
        )
    row.status = Status.complete
    row.completed_at = now
    row.updated_at = now
    await record(session, row, CheckoutEvent.completed)
    for hook in _completion_hooks:
        await hook(session, row)


async def expire_locked(
    session: AsyncSession, caller: Caller, found: CheckoutSessionRow
) -> CheckoutSessionRow | None:
    """Expires the open setup session (its SetupIntent locked first, then the session): the
    intent canceled while it can still be confirmed. None when the session is not open."""
    from beyondpay.checkout.service import checkout_session_service

    # Kept apart: the locked read below refreshes `found` itself (one object per row).
    intent_id = found.setup_intent_id
    intent = None
    if intent_id is not None:
        intent = await setup_intent_service.get(session, caller, intent_id, for_update=True)
    row = await checkout_session_service.get(session, caller, found.id, for_update=True)
    if row.status != Status.open:
        return None
    if row.setup_intent_id != intent_id:
        raise LockTimeoutError()  # the page made the intent between our reads: try again
    if intent is not None:
        if intent.status == "processing":
            raise SessionPaymentProcessingError(
                "This Checkout Session's card is being verified: it cannot be expired until"
                " the verification succeeds or fails."
            )
        invariant(intent.status != "succeeded", "a saved card completed its session")
        if intent.status in _CANCELABLE:
            # Busy with the network (a verification in flight): lock_timeout, tried later.
            await setup_intent_service.cancel(
                session,
                caller,
                intent.id,
                SetupIntentCancelParams(cancellation_reason="abandoned", expand=[]),
                owner=row.id,
            )
    row.status = Status.expired
    row.updated_at = utcnow()
    await record(session, row, CheckoutEvent.expired)
    return row
