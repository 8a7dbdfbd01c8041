"""Payment intents: create, update, confirm, capture, cancel, read. A confirmation and a capture
run in phases (``db.phases``) and are finished, after a recovery point, by ``operations``.

A confirmation locks the intent, creates the charge with ``rail_operation = 'authorize'`` (the
rail's request id is the charge's id), screens it (risk, limits) and commits: the recovery
point. It then asks the rail outside any transaction, and applies the answer in a second short
transaction that locks the intent and the charge again. A capture does the same with
``'capture'``. While an operation is in flight the intent is busy: another request on it gets
``lock_timeout`` (429, which Stripe's SDKs retry). A process killed between the phases is
finished by the retry with the same ``Idempotency-Key`` (it resumes at the recovery point and
asks the rail again with the same request id, which the rail answers once) or by the
reconciliation job (``reconciliation.check_charge``) once ``next_check_at`` comes. Voids never
wait on the network: the transaction that decides one asks the rail through a job
(``rails.service.void_later``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.customers.schemas import shipping_stored
from beyondpay.customers.service import customer_service
from beyondpay.db.pagination import created_conditions, scoped, scoped_page
from beyondpay.db.phases import STARTED, Phases
from beyondpay.db.search import Searchable, query_condition, search, searchable_fields
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import (
    ClientSecretRequiredError,
    InvalidRequestError,
    LockTimeoutError,
    PublishableKeyParameterError,
    ResourceMissingError,
)
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.params import merge_metadata
from beyondpay.kit.search import FieldKind, parse_query
from beyondpay.merchants.connected import connected_account_service
from beyondpay.merchants.domain import Caller, KeyKind
from beyondpay.merchants.service import merchant_service
from beyondpay.payment_methods.service import (
    UPI_SAVE_IS_A_MANDATE,
    PaymentMethodRow,
    payment_method_details,
    payment_method_service,
)
from beyondpay.payments import clocks, postings
from beyondpay.payments.charges import (
    AUTHENTICATION_REQUESTED,
    AUTHORIZE,
    CAPTURE,
    INCREMENT,
    charge_service,
    lock_charge,
)
from beyondpay.payments.domain import (
    Action,
    CaptureMethod,
    Status,
    UnexpectedStateError,
    next_status,
)
from beyondpay.payments.errors import PaymentIntentUnexpectedStateError
from beyondpay.payments.events import PaymentIntentEvent, record
from beyondpay.payments.models import ChargeRow, PaymentIntentRow
from beyondpay.payments.operations import (
    ConfirmResult,
    authorize_on_rail,
    authorize_request,
    capture_on_rail,
    confirm_result,
    confirm_result_of,
    increment_on_rail,
    request_for,
)
from beyondpay.payments.options import (
    TypeChoice,
    calculated_statement_descriptor,
    card_captures_manually,
    card_increments_requested,
    card_three_d_secure_forced,
    choose_types,
    merge_options,
    suffix_chars_max,
)
from beyondpay.payments.outcomes import fail_waiting_charge, refuse
from beyondpay.payments.schemas import (
    PaymentIntentCancelParams,
    PaymentIntentCaptureParams,
    PaymentIntentConfirmParams,
    PaymentIntentCreateParams,
    PaymentIntentIncrementAuthorizationParams,
    PaymentIntentListParams,
    PaymentIntentSearchParams,
    PaymentIntentUpdateParams,
    PaymentMethodOptionsParams,
    PaymentShippingParams,
)
from beyondpay.payments.screening import authenticate, release_limits, screen
from beyondpay.payments.settings import rail_answer_wait
from beyondpay.rails.protocol import Rail
from beyondpay.rails.service import (
    REDIRECT_RAILS,
    connector_for,
    rails_for_currency,
    void_later,
)

CLIENT_SECRET_BYTES: Final = 18
# Without payment_method_types or anything choosing them, an intent takes cards (docs/api.md:
# Stripe's newer API versions choose among the enabled methods by default instead).
DEFAULT_PAYMENT_METHOD_TYPES: Final = ("card",)
# Stripe: at most 10 incremental authorizations of one intent, on these networks' cards.
AUTHORIZATION_INCREMENTS_MAX: Final = 10
INCREMENTABLE_BRANDS: Final = frozenset({"visa", "mastercard", "amex", "discover", "unionpay"})
# Stripe's "Query fields for payment intents".
INTENT_SEARCHABLE: Final = {
    "amount": Searchable(PaymentIntentRow.amount, FieldKind.number),
    "created": Searchable(PaymentIntentRow.created_at, FieldKind.timestamp),
    "currency": Searchable(PaymentIntentRow.currency, FieldKind.exact, lower_value=True),
    "customer": Searchable(PaymentIntentRow.customer_id, FieldKind.exact),
    "status": Searchable(PaymentIntentRow.status, FieldKind.exact),
}


def _unexpected(error: UnexpectedStateError, intent: PaymentIntentRow) -> InvalidRequestError:
    allowed = ", ".join(str(status) for status in error.allowed)
    verb = str(error.action).replace("_", " ")
    return PaymentIntentUnexpectedStateError(
        f"You cannot {verb} this PaymentIntent because it has a status of {intent.status}."
        f" It must be one of: {allowed}.",
    )


def _transition(intent: PaymentIntentRow, action: Action) -> Status:
    try:
        return next_status(
            Status(intent.status), action, has_payment_method=intent.payment_method_id is not None
        )
    except UnexpectedStateError as error:
        raise _unexpected(error, intent) from None


def _check_owner(intent: PaymentIntentRow, owner: str | None, done: str) -> None:
    """An intent made by an invoice or a Checkout Session is canceled or updated only through
    it (``owner``), as Stripe refuses to cancel an invoice's PaymentIntent directly: the
    invoice would be left pointing at a payment that can no longer pay it."""
    if intent.owner is not None and owner != intent.owner:
        kind = "invoice" if intent.owner.startswith("in_") else "Checkout Session"
        raise PaymentIntentUnexpectedStateError(
            f"This PaymentIntent was created by the {kind} {intent.owner}: it can only be"
            f" {done} through it.",
        )


async def _refuse_busy(session: AsyncSession, intent: PaymentIntentRow) -> None:
    """An intent whose latest charge has a rail operation in flight takes no other request
    until the answer is applied: Stripe's ``lock_timeout``, which its SDKs retry."""
    if intent.latest_charge_id is None:
        return
    busy = (
        await session.execute(
            select(ChargeRow.rail_operation).where(ChargeRow.id == intent.latest_charge_id)
        )
    ).scalar_one_or_none()
    if busy is not None:
        raise LockTimeoutError()


def _choice(params: PaymentIntentCreateParams) -> TypeChoice:
    automatic = params.automatic_payment_methods
    return TypeChoice(
        explicit=params.payment_method_types,
        automatic=automatic is not None and automatic.enabled,
        allow_redirects=automatic.allow_redirects if automatic is not None else None,
        allowed=params.allowed_payment_method_types,
        excluded=params.excluded_payment_method_types,
    )


def _stored_choice(intent: PaymentIntentRow, explicit: list[str] | None) -> TypeChoice:
    automatic = intent.automatic_payment_methods or {}
    return TypeChoice(
        explicit=explicit,
        automatic=bool(automatic.get("enabled")),
        allow_redirects=automatic.get("allow_redirects"),
        allowed=intent.allowed_payment_method_types,
        excluded=intent.excluded_payment_method_types,
    )


def _types_for(choice: TypeChoice, currency: str) -> list[str]:
    """The intent's types: named, or chosen among the rails its currency allows (no merchant
    setting narrows them yet: rails.domain.rails_for_currency)."""
    return choose_types(
        choice,
        offered=[str(rail) for rail in rails_for_currency(currency)],
        redirecting={str(rail) for rail in REDIRECT_RAILS},
        default=DEFAULT_PAYMENT_METHOD_TYPES,
    )


async def _check_suffix(session: AsyncSession, merchant_id: str, suffix: str | None) -> None:
    """Stripe's rule: the merchant's prefix, ``* `` and the suffix hold at most 22 characters."""
    if not suffix:
        return
    room = suffix_chars_max(await merchant_service.business_name(session, merchant_id))
    if len(suffix) > room:
        raise InvalidRequestError(
            f"The statement_descriptor_suffix may be at most {room} characters for this account:"
            " with the account's prefix and '* ' the descriptor holds at most 22.",
            param="statement_descriptor_suffix",
        )


_CHOOSING: Final = frozenset(
    {"payment_method_types", "allowed_payment_method_types", "excluded_payment_method_types"}
)


def _choose_again(
    intent: PaymentIntentRow,
    sent: set[str],
    explicit: list[str] | None,
    allowed: list[str] | None,
    excluded: list[str] | None,
) -> None:
    """An update or a confirmation changing what chooses the types (or the currency): chosen
    again. Types named anew replace an allowed or excluded list not sent with them."""
    if not (_CHOOSING | {"currency"}) & sent:
        return
    if "allowed_payment_method_types" in sent or explicit is not None:
        intent.allowed_payment_method_types = allowed
    if "excluded_payment_method_types" in sent or explicit is not None:
        intent.excluded_payment_method_types = excluded
    choice = _stored_choice(intent, explicit)
    if explicit is None and not choice.dynamic:
        return  # named types stay what they were named
    intent.payment_method_types = _types_for(choice, intent.currency)


def _apply_intent_options(
    intent: PaymentIntentRow,
    sent: set[str],
    options: PaymentMethodOptionsParams | None,
    shipping: PaymentShippingParams | None,
) -> None:
    if options is not None:
        intent.payment_method_options = merge_options(
            intent.payment_method_options, options.stored()
        )
    if "shipping" in sent:
        intent.shipping = shipping_stored(shipping)


def _new_intent(
    caller: Caller, params: PaymentIntentCreateParams, customer_id: str | None
) -> PaymentIntentRow:
    now = utcnow()
    automatic = params.automatic_payment_methods
    intent_id = new_id("pi")
    return PaymentIntentRow(
        id=intent_id,
        merchant_id=caller.merchant,
        livemode=caller.livemode,
        amount=params.amount,
        currency=params.currency,
        status=Status.requires_payment_method,
        capture_method=params.capture_method,
        customer_id=customer_id,
        payment_method_id=None,
        payment_method_types=_types_for(_choice(params), params.currency),
        description=params.description,
        receipt_email=params.receipt_email,
        statement_descriptor=params.statement_descriptor or None,
        return_url=params.return_url,
        client_secret=f"{intent_id}_secret_{secrets.token_urlsafe(CLIENT_SECRET_BYTES)}",
        amount_capturable=0,
        amount_received=0,
        metadata_=merge_metadata(
            {}, params.metadata if isinstance(params.metadata, dict) else None
        ),
        created_at=now,
        updated_at=now,
        setup_future_usage=params.setup_future_usage,
        off_session=params.off_session not in (None, False),
        automatic_payment_methods=None if automatic is None else automatic.model_dump(),
        allowed_payment_method_types=params.allowed_payment_method_types,
        excluded_payment_method_types=params.excluded_payment_method_types,
        payment_method_options=merge_options(
            {}, params.payment_method_options.stored() if params.payment_method_options else {}
        ),
        shipping=shipping_stored(params.shipping),
        statement_descriptor_suffix=params.statement_descriptor_suffix or None,
    )


DESTINATION_PARAMS: Final = frozenset(
    {"transfer_data", "application_fee_amount", "on_behalf_of", "transfer_group"}
)


def _set_destination(
    intent: PaymentIntentRow,
    sent: set[str],
    params: PaymentIntentCreateParams | PaymentIntentUpdateParams,
) -> None:
    if "transfer_data" in sent:
        data = params.transfer_data
        intent.transfer_destination = data.destination if data is not None else None
        intent.transfer_amount = data.amount if data is not None else None
    for field in ("application_fee_amount", "on_behalf_of", "transfer_group"):
        if field in sent:
            setattr(intent, field, getattr(params, field) or None)


async def _apply_destination(
    session: AsyncSession,
    caller: Caller,
    intent: PaymentIntentRow,
    sent: set[str],
    params: PaymentIntentCreateParams | PaymentIntentUpdateParams,
) -> None:
    """Connect's destination charge (``transfer_data``, ``application_fee_amount``,
    ``on_behalf_of``, ``transfer_group``), set then checked as a whole with Stripe's rules, each
    refusal naming its parameter; the money moves at capture (``destinations``)."""
    if not DESTINATION_PARAMS & sent:
        return
    # ``transfer_group`` alone is any payment's (Stripe: separate charges and transfers).
    asked = sorted(DESTINATION_PARAMS & sent - {"transfer_group"})
    if asked and caller.platform_id is not None and intent.transfer_destination is None:
        # Stripe also takes an application fee on a direct charge (made with Stripe-Account);
        # we do not yet: docs/settlement.md, "Platforms (Connect)".
        raise InvalidRequestError(
            f"{asked[0]} is only supported on a destination charge made by the platform's own"
            " key (without a Stripe-Account header).",
            param=asked[0],
        )
    _set_destination(intent, sent, params)
    if intent.transfer_destination is None:
        for field in ("application_fee_amount", "on_behalf_of"):
            if getattr(intent, field) is not None:
                raise InvalidRequestError(
                    f"{field} requires transfer_data[destination] (a destination charge).",
                    param=field,
                )
        return
    if caller.platform_id is not None:
        raise InvalidRequestError(
            "A destination charge is made by the platform's own key, without a Stripe-Account"
            " header.",
            param="transfer_data[destination]",
        )
    await connected_account_service.destination(
        session, caller, intent.transfer_destination, param="transfer_data[destination]"
    )
    _check_destination_amounts(intent)


def _check_destination_amounts(intent: PaymentIntentRow) -> None:
    fee, transfer = intent.application_fee_amount, intent.transfer_amount
    if fee is not None and transfer is not None:
        raise InvalidRequestError(
            "You cannot specify both transfer_data[amount] and application_fee_amount.",
            param="transfer_data[amount]",
        )
    if fee is not None and fee > intent.amount:
        raise InvalidRequestError(
            f"The application_fee_amount ({fee}) cannot exceed the amount ({intent.amount}).",
            param="application_fee_amount",
        )
    if transfer is not None and transfer > intent.amount:
        raise InvalidRequestError(
            f"The transfer_data[amount] ({transfer}) cannot exceed the amount ({intent.amount}).",
            param="transfer_data[amount]",
        )
    if intent.on_behalf_of is not None and intent.on_behalf_of != intent.transfer_destination:
        raise InvalidRequestError(
            "on_behalf_of must be the transfer_data[destination] account.", param="on_behalf_of"
        )


def _check_saving(intent: PaymentIntentRow, method: PaymentMethodRow | None) -> None:
    """``setup_future_usage`` saves the payment method to the intent's customer when the
    payment succeeds: a card only (a UPI method is saved by a mandate), and a customer to save
    it to."""
    if intent.setup_future_usage is None:
        return
    if method is not None and method.type == "upi":
        raise InvalidRequestError(UPI_SAVE_IS_A_MANDATE, param="setup_future_usage")
    if method is not None and method.type != "card":
        raise InvalidRequestError(
            f"A {method.type} payment method cannot be saved for future payments.",
            param="setup_future_usage",
        )
    if intent.customer_id is None:
        raise InvalidRequestError(
            "setup_future_usage saves the payment method to the PaymentIntent's customer:"
            " pass customer.",
            param="customer",
        )


def _new_charge(
    intent: PaymentIntentRow, method: PaymentMethodRow, business_name: str
) -> ChargeRow:
    """A confirmation's charge, asking its rail to authorize (its id is the request id), with
    what it carries from the intent to the payer's statement, receipt and parcel."""
    now = utcnow()
    card = method.type == Rail.card
    held = intent.capture_method == CaptureMethod.manual or (
        card and card_captures_manually(intent.payment_method_options)
    )
    return ChargeRow(
        id=new_id("ch"),
        merchant_id=intent.merchant_id,
        livemode=intent.livemode,
        payment_intent_id=intent.id,
        customer_id=intent.customer_id,
        payment_method_id=method.id,
        payment_method_details=payment_method_details(method),
        rail=method.type,
        rail_reference=None,
        amount=intent.amount,
        amount_captured=0,
        amount_refunded=0,
        currency=intent.currency,
        status="pending",
        authorized=False,
        captured=False,
        voided=False,
        capture_requested=not held,
        rail_details={},
        description=intent.description,
        receipt_email=intent.receipt_email,
        # Stripe copies the intent's metadata to the charge it makes, once: later updates of
        # either leave the other alone (support.stripe.com, "how metadata works with related
        # objects").
        metadata_=dict(intent.metadata_),
        checks_made=0,
        rail_operation=AUTHORIZE,
        next_check_at=now + rail_answer_wait(),
        created_at=now,
        updated_at=now,
        shipping=intent.shipping,
        statement_descriptor=intent.statement_descriptor,
        statement_descriptor_suffix=intent.statement_descriptor_suffix if card else None,
        transfer_destination=intent.transfer_destination,
        transfer_amount=intent.transfer_amount,
        application_fee_amount=intent.application_fee_amount,
        on_behalf_of=intent.on_behalf_of,
        transfer_group=intent.transfer_group,
        calculated_statement_descriptor=calculated_statement_descriptor(
            business_name,
            card=card,
            descriptor=intent.statement_descriptor,
            suffix=intent.statement_descriptor_suffix,
        ),
    )


# What a publishable key (a browser: the card element, Stripe.js) may send when it confirms:
# the payment method, where to come back after 3-D Secure, the customer's own details. How and
# when money is captured, off-session charging and the methods offered are the server's (so
# ``payment_method_options``, which holds a card's capture method, is the server's too).
BROWSER_CONFIRM_PARAMS: Final = frozenset(
    {
        "client_secret",
        "payment_method",
        "payment_method_data",
        "receipt_email",
        "return_url",
        "setup_future_usage",
        "shipping",
    }
)


def _require_client_secret(caller: Caller, client_secret: str | None) -> None:
    if caller.kind is KeyKind.publishable and client_secret is None:
        raise ClientSecretRequiredError(param="client_secret")


def _check_browser_confirmation(caller: Caller, params: PaymentIntentConfirmParams) -> None:
    if caller.kind is not KeyKind.publishable:
        return
    _require_client_secret(caller, params.client_secret)
    refused = sorted(params.model_fields_set - BROWSER_CONFIRM_PARAMS)
    if refused:
        raise PublishableKeyParameterError.for_param(refused[0])


def _check_client_secret(
    caller: Caller, intent: PaymentIntentRow, client_secret: str | None
) -> None:
    """A publishable key reaches only the intent whose secret it holds. Anything else is
    answered as an unknown id: the key learns nothing of the merchant's other intents."""
    if caller.kind is not KeyKind.publishable:
        return
    if client_secret is None or not secrets.compare_digest(
        client_secret.encode(), intent.client_secret.encode()
    ):
        raise ResourceMissingError.for_object("payment_intent", intent.id)


class PaymentIntentService:
    async def create(
        self,
        session: AsyncSession,
        caller: Caller,
        ring: KeyRing,
        params: PaymentIntentCreateParams,
        phases: Phases,
        *,
        charge_metadata: dict[str, str] | None = None,
        owner: str | None = None,
    ) -> ConfirmResult:
        """``charge_metadata``: the metadata of the charge a confirmation makes (a legacy
        ``POST /v1/charges`` sets its own; an intent's charges start with none). ``owner``: the
        invoice or Checkout Session making the intent (its listeners hear the intent; it alone
        cancels or updates it)."""
        if phases.recovery_point != STARTED:
            return await self._resume(session, caller, ring, phases)
        customer_id = None
        if params.customer is not None:
            customer = await customer_service.get(session, caller, params.customer)
            if customer.deleted_at is not None:
                raise ResourceMissingError.for_object("customer", params.customer, param="customer")
            customer_id = customer.id
        intent = _new_intent(caller, params, customer_id)
        intent.owner = owner
        clock = await clocks.clock_time(session, intent.livemode, customer_id)
        if clock is not None:  # a customer on a test clock: the payment is made at its time
            intent.created_at = clock.frozen_time
        await _check_suffix(session, caller.merchant, intent.statement_descriptor_suffix)
        await _apply_destination(session, caller, intent, set(params.model_fields_set), params)
        method = await self._method(
            session, caller, ring, intent, params.payment_method, params.payment_method_data
        )
        if method is not None:
            intent.payment_method_id = method.id
            intent.status = _transition(intent, Action.set_payment_method)
        if intent.off_session and not params.confirm:
            raise InvalidRequestError(
                "You can only pass off_session when confirm is true.", param="off_session"
            )
        _check_saving(intent, method)
        # No flush here: the intent's row is written with the first statement that needs it
        # (with the charge of a confirmation, already pointing at it), not inserted then updated.
        session.add(intent)
        await record(session, intent, PaymentIntentEvent.created)
        if params.confirm:
            return await self._confirm_locked(
                session, ring, phases, intent, method, params.return_url, charge_metadata
            )
        return ConfirmResult(intent)

    async def _method(
        self,
        session: AsyncSession,
        caller: Caller,
        ring: KeyRing,
        intent: PaymentIntentRow,
        method_id: str | None,
        method_data: Any,
    ) -> PaymentMethodRow | None:
        if method_id is not None and method_data is not None:
            raise InvalidRequestError(
                "You may only specify one of these parameters:"
                " payment_method, payment_method_data.",
                param="payment_method_data",
            )
        if method_data is not None:
            method = await payment_method_service.create_from_data(
                session, caller, ring, method_data
            )
            param = "payment_method_data[type]"
        elif method_id is not None:
            method = await payment_method_service.resolve(session, caller, ring, method_id)
            param = "payment_method"
        else:
            return None
        if method.type not in intent.payment_method_types:
            raise InvalidRequestError(
                f"The PaymentMethod provided ({method.type}) is not allowed for this PaymentIntent."
                f" Allowed types: {', '.join(intent.payment_method_types)}.",
                param=param,
            )
        if method.customer_id is not None and method.customer_id != intent.customer_id:
            raise InvalidRequestError(
                "The provided PaymentMethod belongs to another customer than this PaymentIntent's.",
                param=param,
            )
        return method

    async def get_with_client_secret(
        self, session: AsyncSession, caller: Caller, intent_id: str, client_secret: str | None
    ) -> PaymentIntentRow:
        """The intent, for any key that may read it; a publishable key only with the intent's
        own client secret (a wrong one is the 404 of an unknown id)."""
        _require_client_secret(caller, client_secret)
        intent = await self.get(session, caller, intent_id)
        _check_client_secret(caller, intent, client_secret)
        return intent

    async def get(
        self, session: AsyncSession, caller: Caller, intent_id: str, *, for_update: bool = False
    ) -> PaymentIntentRow:
        statement = scoped(
            PaymentIntentRow, caller.merchant, caller.livemode, PaymentIntentRow.id == intent_id
        )
        if for_update:
            statement = statement.with_for_update()
        row: PaymentIntentRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("payment_intent", intent_id)
        return row

    async def latest_charge_of(
        self, session: AsyncSession, caller: Caller, intent_id: str, *, param: str
    ) -> str:
        """The intent's successful charge, which a refund of the intent refunds."""
        intent = await self.get(session, caller, intent_id)
        if intent.latest_charge_id is None or intent.status != Status.succeeded:
            raise InvalidRequestError(
                f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                param=param,
            )
        return intent.latest_charge_id

    async def update(
        self,
        session: AsyncSession,
        caller: Caller,
        ring: KeyRing,
        intent_id: str,
        params: PaymentIntentUpdateParams,
        *,
        owner: str | None = None,
    ) -> PaymentIntentRow:
        intent = await self.get(session, caller, intent_id, for_update=True)
        _check_owner(intent, owner, "updated")
        await _refuse_busy(session, intent)
        sent = params.model_fields_set - {"expand"}
        status = _transition(intent, Action.update)
        if params.customer is not None:
            customer = await customer_service.get(session, caller, params.customer)
            intent.customer_id = customer.id
        for field in ("amount", "currency", "description", "receipt_email", "statement_descriptor"):
            if field in sent and getattr(params, field) is not None:
                setattr(intent, field, getattr(params, field))
        if params.capture_method is not None:
            intent.capture_method = params.capture_method
        _choose_again(
            intent,
            sent,
            params.payment_method_types,
            params.allowed_payment_method_types,
            params.excluded_payment_method_types,
        )
        _apply_intent_options(intent, sent, params.payment_method_options, params.shipping)
        if "statement_descriptor_suffix" in sent:
            intent.statement_descriptor_suffix = params.statement_descriptor_suffix or None
            await _check_suffix(session, caller.merchant, intent.statement_descriptor_suffix)
        if "metadata" in sent:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            intent.metadata_ = merge_metadata(intent.metadata_, metadata)
        if "amount" in sent and not DESTINATION_PARAMS & sent and intent.transfer_destination:
            _check_destination_amounts(intent)  # a lower amount may fall under the fee
        await _apply_destination(session, caller, intent, set(sent), params)
        intent.status = status
        method = await self._method(
            session, caller, ring, intent, params.payment_method, params.payment_method_data
        )
        if method is not None:
            intent.payment_method_id = method.id
            intent.status = _transition(intent, Action.set_payment_method)
        if "setup_future_usage" in sent:
            intent.setup_future_usage = params.setup_future_usage or None
            _check_saving(intent, method)
        if intent.status != Status.requires_action:
            intent.next_action = None
        intent.updated_at = utcnow()
        await session.flush()
        return intent

    async def confirm(
        self,
        session: AsyncSession,
        caller: Caller,
        ring: KeyRing,
        intent_id: str,
        params: PaymentIntentConfirmParams,
        phases: Phases,
    ) -> ConfirmResult:
        _check_browser_confirmation(caller, params)
        if phases.recovery_point != STARTED:
            return await self._resume(session, caller, ring, phases)
        intent = await self.get(session, caller, intent_id, for_update=True)
        _check_client_secret(caller, intent, params.client_secret)
        await _refuse_busy(session, intent)
        _transition(intent, Action.confirm)
        sent = params.model_fields_set
        _choose_again(
            intent,
            sent,
            None,
            params.allowed_payment_method_types,
            params.excluded_payment_method_types,
        )
        _apply_intent_options(intent, sent, params.payment_method_options, params.shipping)
        method = await self._method(
            session, caller, ring, intent, params.payment_method, params.payment_method_data
        )
        if params.capture_method is not None:
            intent.capture_method = params.capture_method
        if params.receipt_email is not None:
            intent.receipt_email = params.receipt_email
        if method is None and intent.payment_method_id is not None:
            method = await payment_method_service.get(session, caller, intent.payment_method_id)
        if method is None:
            raise PaymentIntentUnexpectedStateError(
                "You cannot confirm this PaymentIntent because it's missing a payment method."
                " Update it with a payment_method or pass one to confirm.",
                param="payment_method",
            )
        if params.setup_future_usage is not None:
            intent.setup_future_usage = params.setup_future_usage or None
        intent.off_session = params.off_session not in (None, False)
        _check_saving(intent, method)
        return await self._confirm_locked(session, ring, phases, intent, method, params.return_url)

    async def _confirm_locked(
        self,
        session: AsyncSession,
        ring: KeyRing,
        phases: Phases,
        intent: PaymentIntentRow,
        method: PaymentMethodRow | None,
        return_url: str | None,
        charge_metadata: dict[str, str] | None = None,
    ) -> ConfirmResult:
        """Phase one of a confirmation (the intent locked): the charge, screened; refused, it
        fails here and now; otherwise committed as the recovery point, and the rail asked."""
        if method is None:
            raise PaymentIntentUnexpectedStateError(
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                param="payment_method",
            )
        intent.status = _transition(intent, Action.confirm)
        intent.payment_method_id = method.id
        if return_url is not None:
            intent.return_url = return_url
        await self._abandon_attempt(session, intent)
        business_name = await merchant_service.business_name(session, intent.merchant_id)
        charge = _new_charge(intent, method, business_name)
        clock = await clocks.clock_time(session, intent.livemode, intent.customer_id)
        if clock is not None:
            charge.created_at = clock.frozen_time
        if charge_metadata:
            charge.metadata_ = dict(charge_metadata)
        session.add(charge)
        intent.latest_charge_id = charge.id
        intent.last_payment_error = None
        intent.next_action = None
        # Not flushed yet: screening's outcome is written with the charge's INSERT below (the
        # checkpoint's commit), not by an UPDATE after it. Nothing screening reads needs the row.
        # A rail that cannot be reached (live mode has none yet) is refused before anything is
        # assessed or reserved for a payment that could not be made.
        connector = connector_for(Rail(method.type), intent.livemode)
        verdict = await screen(session, intent, charge, method)
        if verdict.refusal is not None:
            await refuse(session, intent, charge, verdict)
            return confirm_result(intent, charge, method)
        if authenticate(verdict, charge):
            charge.rail_details = {AUTHENTICATION_REQUESTED: "risk"}
        elif charge.rail == Rail.card and card_three_d_secure_forced(intent.payment_method_options):
            charge.rail_details = {AUTHENTICATION_REQUESTED: "request_three_d_secure"}
        request = authorize_request(ring, intent, charge, method)
        # The recovery point: the charge and its screening are committed, asking the rail.
        await phases.checkpoint(f"{AUTHORIZE}:{charge.id}")
        return await authorize_on_rail(session, connector, request, intent.id)

    async def _resume(
        self, session: AsyncSession, caller: Caller, ring: KeyRing, phases: Phases
    ) -> ConfirmResult:
        """A request that stopped after its recovery point (its process died), retried: the
        operation named there is asked of the rail again with the same request id, unless
        someone (the reconciliation job, a callback) has applied its answer since."""
        operation, _, charge_id = phases.recovery_point.partition(":")
        charge = await charge_service.get(session, caller, charge_id)
        intent = await self.get(session, caller, charge.payment_intent_id)
        # Renews the lease on the request and ends the reads: the rail is asked outside them.
        await phases.checkpoint(phases.recovery_point)
        if operation == CAPTURE:
            return await capture_on_rail(session, intent, charge)
        if operation == INCREMENT:
            return await increment_on_rail(session, intent, charge)
        invariant(operation == AUTHORIZE, "a payment's recovery point names its operation")
        if charge.rail_operation != AUTHORIZE:
            return await confirm_result_of(session, intent.id, charge.id)
        connector = connector_for(Rail(charge.rail), charge.livemode)
        request = await request_for(session, ring, intent, charge)
        return await authorize_on_rail(session, connector, request, intent.id)

    async def _abandon_attempt(self, session: AsyncSession, intent: PaymentIntentRow) -> None:
        """A confirmation while an earlier attempt waits for the payer (a challenge, a collect)
        replaces it, as Stripe's does: the earlier charge fails and is voided on its rail."""
        if intent.latest_charge_id is None:
            return
        charge = await lock_charge(session, intent.latest_charge_id)
        if charge.status != "pending":
            return
        await fail_waiting_charge(
            session,
            charge,
            "payment_intent_authentication_failure",
            "A new confirmation replaced this attempt.",
        )

    async def capture(
        self,
        session: AsyncSession,
        caller: Caller,
        ring: KeyRing,
        intent_id: str,
        params: PaymentIntentCaptureParams,
        phases: Phases,
    ) -> ConfirmResult:
        if phases.recovery_point != STARTED:
            return await self._resume(session, caller, ring, phases)
        intent = await self.get(session, caller, intent_id, for_update=True)
        await _refuse_busy(session, intent)
        _transition(intent, Action.capture)
        amount = params.amount_to_capture or intent.amount_capturable
        if amount > intent.amount_capturable:
            raise InvalidRequestError(
                f"The amount to capture ({amount}) is greater than the amount capturable"
                f" ({intent.amount_capturable}).",
                param="amount_to_capture",
            )
        invariant(intent.latest_charge_id is not None, "an intent to capture has a charge")
        charge = await lock_charge(session, str(intent.latest_charge_id))
        invariant(
            charge.authorized and not charge.captured, "the charge is authorized, not captured"
        )
        if "metadata" in params.model_fields_set:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            intent.metadata_ = merge_metadata(intent.metadata_, metadata)
            intent.updated_at = utcnow()
        charge.rail_operation, charge.rail_operation_amount = CAPTURE, amount
        charge.next_check_at = utcnow() + rail_answer_wait()
        await session.flush()
        await phases.checkpoint(f"{CAPTURE}:{charge.id}")
        return await capture_on_rail(session, intent, charge)

    async def increment_authorization(
        self,
        session: AsyncSession,
        caller: Caller,
        ring: KeyRing,
        intent_id: str,
        params: PaymentIntentIncrementAuthorizationParams,
        phases: Phases,
    ) -> ConfirmResult:
        """Raise a held card authorization to ``params.amount`` (Stripe's incremental
        authorization): asked of the rail in phases, as a capture is; refused, the intent stays
        capturable for what was held and the answer is 402 ``card_declined``."""
        if phases.recovery_point != STARTED:
            result = await self._resume(session, caller, ring, phases)
        else:
            intent = await self.get(session, caller, intent_id, for_update=True)
            await _refuse_busy(session, intent)
            charge = await _incrementable(session, intent, params.amount)
            charge.rail_operation, charge.rail_operation_amount = INCREMENT, params.amount
            charge.next_check_at = utcnow() + rail_answer_wait()
            await session.flush()
            await phases.checkpoint(f"{INCREMENT}:{charge.id}")
            result = await increment_on_rail(session, intent, charge)
        sent = params.model_fields_set
        if result.failure is None and result.intent.amount == params.amount:
            intent = result.intent
            if "description" in sent:
                intent.description = params.description or None
            if "metadata" in sent:
                metadata = params.metadata if isinstance(params.metadata, dict) else {}
                intent.metadata_ = merge_metadata(intent.metadata_, metadata)
            await session.flush()
        return result

    async def cancel(
        self,
        session: AsyncSession,
        caller: Caller,
        intent_id: str,
        params: PaymentIntentCancelParams,
        *,
        owner: str | None = None,
    ) -> PaymentIntentRow:
        intent = await self.get(session, caller, intent_id, for_update=True)
        _check_owner(intent, owner, "canceled")
        await _refuse_busy(session, intent)
        status = _transition(intent, Action.cancel)
        if intent.latest_charge_id is not None:
            await _release_attempt(session, await lock_charge(session, intent.latest_charge_id))
        intent.status = status
        intent.amount_capturable = 0
        intent.next_action = None
        intent.cancellation_reason = params.cancellation_reason
        intent.canceled_at = utcnow()
        intent.updated_at = intent.canceled_at
        await session.flush()
        await record(session, intent, PaymentIntentEvent.canceled)
        return intent

    async def list(
        self, session: AsyncSession, caller: Caller, params: PaymentIntentListParams
    ) -> tuple[Sequence[PaymentIntentRow], bool]:
        conditions: list[Any] = list(
            created_conditions(PaymentIntentRow.created_at, params.created)
        )
        if params.customer is not None:
            conditions.append(PaymentIntentRow.customer_id == params.customer)
        return await scoped_page(
            session,
            PaymentIntentRow,
            caller.merchant,
            caller.livemode,
            params,
            *conditions,
            object_name="payment_intent",
        )

    async def search(
        self, session: AsyncSession, caller: Caller, params: PaymentIntentSearchParams
    ) -> tuple[Sequence[PaymentIntentRow], bool, str | None]:
        """Intents matching ``params.query`` (Stripe's search query language), newest first:
        the page, whether more remain, and the ``next_page`` token."""
        query = parse_query(params.query, searchable_fields(INTENT_SEARCHABLE))
        matched = query_condition(query, INTENT_SEARCHABLE, PaymentIntentRow.metadata_)
        statement = scoped(PaymentIntentRow, caller.merchant, caller.livemode, matched)
        return await search(
            session,
            statement,
            PaymentIntentRow.id,
            limit=params.limit,
            page=params.page,
            prefix="pi",
        )


async def _incrementable(session: AsyncSession, intent: PaymentIntentRow, amount: int) -> ChargeRow:
    """The held card charge an increment raises, locked, or Stripe's refusal naming why."""
    if intent.status != Status.requires_capture or intent.latest_charge_id is None:
        raise PaymentIntentUnexpectedStateError(
            "You cannot increment the authorization of this PaymentIntent because it has a"
            f" status of {intent.status}. It must be requires_capture.",
        )
    charge = await lock_charge(session, intent.latest_charge_id)
    invariant(charge.authorized and not charge.captured, "a held intent's charge is held")
    brand = (charge.payment_method_details.get("card") or {}).get("brand")
    if charge.rail != Rail.card or brand not in INCREMENTABLE_BRANDS:
        raise PaymentIntentUnexpectedStateError(
            "Incremental authorization is available for Visa, Mastercard, American Express,"
            " Discover and UnionPay card payments only.",
        )
    if not card_increments_requested(intent.payment_method_options):
        raise PaymentIntentUnexpectedStateError(
            "This PaymentIntent's authorization cannot be incremented: it was not confirmed with"
            " payment_method_options[card][request_incremental_authorization]=if_available.",
        )
    if charge.authorization_increments >= AUTHORIZATION_INCREMENTS_MAX:
        raise PaymentIntentUnexpectedStateError(
            f"This PaymentIntent's authorization was incremented {AUTHORIZATION_INCREMENTS_MAX}"
            " times already, the most allowed.",
        )
    if amount <= intent.amount:
        raise InvalidRequestError(
            f"The amount ({amount}) must be greater than the PaymentIntent's current amount"
            f" ({intent.amount}).",
            param="amount",
        )
    return charge


async def _release_attempt(session: AsyncSession, charge: ChargeRow) -> None:
    """A canceled intent's charge lets go of its money: an authorization's hold is voided (ours
    now, the rail's by a job once this commits); an attempt still waiting fails."""
    if charge.authorized and not charge.captured and not charge.voided:
        await void_later(
            session,
            Rail(charge.rail),
            charge.livemode,
            f"{charge.id}:void",
            str(charge.rail_reference),
        )
        await postings.void(session, charge.id, charge.authorization_increments)
        charge.voided = True
        charge.updated_at = utcnow()
        await release_limits(session, charge)  # the held money never moved
    elif charge.status == "pending":
        await fail_waiting_charge(
            session, charge, "payment_intent_canceled", "The PaymentIntent was canceled."
        )


payment_intent_service = PaymentIntentService()
