"""SetupIntents: create, update, confirm, cancel, read; the card network's answers applied; the
reconciliation of a verification never applied. Never commits, except at the recovery point a
confirmation is handed (``db.phases``): the request or job owns the transaction.

A confirmation is a payment's confirmation without money (docs/development.md, "The money
path"): it locks the intent, names a new attempt (``setatt_…``, the card network's request id)
and commits with ``rail_operation = 'verify'`` — the recovery point; it then asks the network
for a zero-amount verification outside any transaction, and applies the answer in a second
short transaction that locks the intent again. Nothing is held and no ledger transfer is
written: no money moves. While the verification is in flight the intent is busy (another
request on it gets ``lock_timeout``). A process killed between the phases is finished by the
retry with the same ``Idempotency-Key`` or by the reconciliation job once ``next_check_at``
comes; both ask the network again with the same request id, which it answers once.

A verification the issuer challenges leaves the intent in ``requires_action`` with the 3-D
Secure page (``next_action.redirect_to_url``), the same page a payment's challenge uses; the
payer's answer there reaches :func:`handle_rail_outcome` (registered by ``app.wire_modules``).
A succeeded setup attaches the payment method to the intent's customer and, for
``usage=off_session``, keeps the verification's network transaction id on it: the stored
credential a later off-session payment names, so a card that "authenticates unless set up"
(4000 0025 0000 3155) is then charged without the customer.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.customers.service import customer_service
from beyondpay.db.pagination import created_conditions, page, scoped
from beyondpay.db.phases import STARTED, Phases
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import (
    BeyondpayError,
    ClientSecretRequiredError,
    InvalidRequestError,
    LockTimeoutError,
    PublishableKeyParameterError,
    ResourceMissingError,
)
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.params import merge_metadata
from beyondpay.merchants.domain import Caller, KeyKind
from beyondpay.payment_methods.service import (
    UPI_SAVE_IS_A_MANDATE,
    PaymentMethodRow,
    open_card_number,
    payment_method_object,
    payment_method_service,
)
from beyondpay.payments.service import rail_answer_wait
from beyondpay.rails.protocol import CardInstrument, Connector, Rail, RailOutcome, VerifyRequest
from beyondpay.rails.service import connector_for, void_later
from beyondpay.setup_intents.domain import (
    SETUP_PAYMENT_METHOD_TYPES,
    VERIFICATION_CURRENCY,
    Action,
    Status,
    UnexpectedStateError,
    Usage,
    next_status,
    setup_error_code,
)
from beyondpay.setup_intents.errors import (
    PaymentMethodNotSavableError,
    SetupIntentUnexpectedStateError,
)
from beyondpay.setup_intents.events import (
    SetupIntentChange,
    SetupIntentEvent,
    off_setup_intent_event,
    on_setup_intent_event,
    record,
)
from beyondpay.setup_intents.models import SetupIntentRow
from beyondpay.setup_intents.schemas import (
    SetupIntentCancelParams,
    SetupIntentConfirmParams,
    SetupIntentCreateParams,
    SetupIntentListParams,
    SetupIntentUpdateParams,
    setup_intent_object,
)
from beyondpay.setup_intents.settings import key_ring

CLIENT_SECRET_BYTES: Final = 18
VERIFY: Final = "verify"  # setup_intents.rail_operation while the network is asked
AUTHENTICATION_FAILED_MESSAGE: Final = (
    "The latest attempt to set up the payment method has failed because authentication failed."
)


@dataclass(slots=True)
class SetupResult:
    intent: SetupIntentRow
    # A confirmation the network refused at once: the error body (402 card_error, with the
    # intent), answered after committing the failed attempt.
    failure: dict[str, Any] | None = None
    failure_status: int = 402


def _transition(intent: SetupIntentRow, action: Action) -> Status:
    try:
        return next_status(
            Status(intent.status), action, has_payment_method=intent.payment_method_id is not None
        )
    except UnexpectedStateError as error:
        allowed = ", ".join(str(status) for status in error.allowed)
        verb = str(action).replace("_", " ")
        raise SetupIntentUnexpectedStateError(
            f"You cannot {verb} this SetupIntent because it has a status of {intent.status}."
            f" It must be one of: {allowed}.",
        ) from None


def _refuse_busy(intent: SetupIntentRow) -> None:
    """A verification in flight: no other request until its answer is applied (Stripe's
    ``lock_timeout``, which its SDKs retry)."""
    if intent.rail_operation is not None:
        raise LockTimeoutError()


def _setup_types(types: list[str] | None) -> list[str]:
    """The payment method types to set up (a card by default); UPI and net banking refused,
    naming ``payment_method_types``."""
    chosen = types or list(SETUP_PAYMENT_METHOD_TYPES)
    if "upi" in chosen:
        raise PaymentMethodNotSavableError(UPI_SAVE_IS_A_MANDATE, param="payment_method_types")
    for kind in chosen:
        if kind not in SETUP_PAYMENT_METHOD_TYPES:
            raise PaymentMethodNotSavableError(
                f"A {kind} payment method cannot be set up for future payments.",
                param="payment_method_types",
            )
    return chosen


async def _customer(session: AsyncSession, caller: Caller, customer_id: str | None) -> str | None:
    if customer_id is None:
        return None
    try:
        customer = await customer_service.get(session, caller, customer_id)
    except ResourceMissingError:
        customer = None
    if customer is None or customer.deleted_at is not None:
        raise ResourceMissingError.for_object("customer", customer_id, param="customer")
    return customer.id


def _new_intent(
    caller: Caller,
    params: SetupIntentCreateParams,
    customer_id: str | None,
    types: list[str],
    owner: str | None,
) -> SetupIntentRow:
    now = utcnow()
    intent_id = new_id("seti")
    return SetupIntentRow(
        id=intent_id,
        merchant_id=caller.merchant,
        livemode=caller.livemode,
        status=Status.requires_payment_method,
        usage=params.usage,
        customer_id=customer_id,
        payment_method_id=None,
        payment_method_types=types,
        description=params.description,
        client_secret=f"{intent_id}_secret_{secrets.token_urlsafe(CLIENT_SECRET_BYTES)}",
        return_url=params.return_url,
        next_action=None,
        last_setup_error=None,
        cancellation_reason=None,
        canceled_at=None,
        latest_attempt_id=None,
        rail_operation=None,
        rail_reference=None,
        next_check_at=None,
        metadata_=merge_metadata(
            {}, params.metadata if isinstance(params.metadata, dict) else None
        ),
        created_at=now,
        updated_at=now,
        owner=owner,
    )


def _check_owner(intent: SetupIntentRow, owner: str | None, done: str) -> None:
    """An intent made by a Checkout Session is canceled or updated only through it
    (``owner``): the session would be left naming an intent that can no longer save its card
    (as payments refuse for the PaymentIntents invoices and sessions make)."""
    if intent.owner is not None and owner != intent.owner:
        raise SetupIntentUnexpectedStateError(
            f"This SetupIntent was created by the Checkout Session {intent.owner}: it can only"
            f" be {done} through it (expire the session).",
        )


async def _lock(session: AsyncSession, intent_id: str) -> SetupIntentRow:
    # populate_existing: the session may still hold the row as it was before a recovery point.
    return (
        await session.execute(
            select(SetupIntentRow)
            .where(SetupIntentRow.id == intent_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()


# What a publishable key (a browser: the card element's confirmCardSetup) may send when it
# confirms: the payment method and where to come back after 3-D Secure; as a PaymentIntent's
# (payments.intents.BROWSER_CONFIRM_PARAMS), the rest is the merchant's server's.
BROWSER_CONFIRM_PARAMS: Final = frozenset(
    {"client_secret", "payment_method", "payment_method_data", "return_url"}
)


def _check_browser_confirmation(caller: Caller, params: SetupIntentConfirmParams) -> None:
    if caller.kind is not KeyKind.publishable:
        return
    if params.client_secret is None:
        raise ClientSecretRequiredError(param="client_secret")
    refused = sorted(params.model_fields_set - BROWSER_CONFIRM_PARAMS)
    if refused:
        raise PublishableKeyParameterError.for_param(refused[0])


def _check_client_secret(caller: Caller, intent: SetupIntentRow, client_secret: str | None) -> None:
    """A publishable key reaches only the intent whose secret it holds; anything else is
    answered as an unknown id."""
    if caller.kind is not KeyKind.publishable:
        return
    if client_secret is None or not secrets.compare_digest(
        client_secret.encode(), intent.client_secret.encode()
    ):
        raise ResourceMissingError.for_object("setupintent", intent.id)


class SetupIntentService:
    async def create(
        self,
        session: AsyncSession,
        caller: Caller,
        ring: KeyRing,
        params: SetupIntentCreateParams,
        phases: Phases,
        *,
        owner: str | None = None,
    ) -> SetupResult:
        """``owner``: the object above that makes the intent (a Checkout Session); the API
        never sets it."""
        if phases.recovery_point != STARTED:
            return await self._resume(session, caller, ring, phases)
        customer_id = await _customer(session, caller, params.customer)
        types = _setup_types(params.payment_method_types)
        intent = _new_intent(caller, params, customer_id, types, owner)
        method = await self._method(
            session, caller, ring, intent, params.payment_method, params.payment_method_data
        )
        if method is not None:
            intent.payment_method_id = method.id
            intent.status = _transition(intent, Action.set_payment_method)
        session.add(intent)
        await record(session, intent, SetupIntentEvent.created)
        if params.confirm:
            if method is None:
                raise _missing_payment_method()
            return await self._confirm_locked(session, ring, phases, intent, method, None)
        await session.flush()
        return SetupResult(intent)

    async def _method(
        self,
        session: AsyncSession,
        caller: Caller,
        ring: KeyRing,
        intent: SetupIntentRow,
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
            param = "payment_method_data[type]"
            if method_data.type == "upi":
                raise PaymentMethodNotSavableError(UPI_SAVE_IS_A_MANDATE, param=param)
            method = await payment_method_service.create_from_data(
                session, caller, ring, method_data
            )
        elif method_id is not None:
            param = "payment_method"
            method = await payment_method_service.resolve(session, caller, ring, method_id)
        else:
            return None
        if method.type == "upi":
            raise PaymentMethodNotSavableError(UPI_SAVE_IS_A_MANDATE, param=param)
        if method.type not in intent.payment_method_types:
            raise InvalidRequestError(
                f"The PaymentMethod provided ({method.type}) is not allowed for this SetupIntent."
                f" Allowed types: {', '.join(intent.payment_method_types)}.",
                param=param,
            )
        if method.detached_at is not None:
            raise InvalidRequestError(
                "This PaymentMethod was detached from a customer and cannot be used again.",
                param=param,
            )
        if method.customer_id is not None and method.customer_id != intent.customer_id:
            raise InvalidRequestError(
                "The provided PaymentMethod belongs to another customer than this SetupIntent's"
                " (or this SetupIntent has none): pass that customer.",
                param=param,
            )
        return method

    async def get_with_client_secret(
        self, session: AsyncSession, caller: Caller, intent_id: str, client_secret: str | None
    ) -> SetupIntentRow:
        """The intent, for any key that may read it; a publishable key only with the intent's
        own client secret (a wrong one is the 404 of an unknown id)."""
        if caller.kind is KeyKind.publishable and client_secret is None:
            raise ClientSecretRequiredError(param="client_secret")
        intent = await self.get(session, caller, intent_id)
        _check_client_secret(caller, intent, client_secret)
        return intent

    async def get(
        self, session: AsyncSession, caller: Caller, intent_id: str, *, for_update: bool = False
    ) -> SetupIntentRow:
        statement = scoped(
            SetupIntentRow, caller.merchant, caller.livemode, SetupIntentRow.id == intent_id
        )
        if for_update:
            statement = statement.with_for_update().execution_options(populate_existing=True)
        row: SetupIntentRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("setupintent", intent_id)
        return row

    async def update(
        self,
        session: AsyncSession,
        caller: Caller,
        ring: KeyRing,
        intent_id: str,
        params: SetupIntentUpdateParams,
    ) -> SetupIntentRow:
        intent = await self.get(session, caller, intent_id, for_update=True)
        _check_owner(intent, None, "updated")
        _refuse_busy(intent)
        sent = params.model_fields_set - {"expand"}
        status = _transition(intent, Action.update)
        if "customer" in sent and params.customer is not None:
            intent.customer_id = await _customer(session, caller, params.customer)
        if "description" in sent:
            intent.description = params.description or None
        if params.payment_method_types is not None:
            intent.payment_method_types = _setup_types(params.payment_method_types)
        if "metadata" in sent:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            intent.metadata_ = merge_metadata(intent.metadata_, metadata)
        method = await self._method(
            session, caller, ring, intent, params.payment_method, params.payment_method_data
        )
        if status != intent.status or method is not None:
            await _abandon_challenge(session, intent)
        intent.status = status
        if method is not None:
            intent.payment_method_id = method.id
            intent.status = _transition(intent, Action.set_payment_method)
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
        params: SetupIntentConfirmParams,
        phases: Phases,
    ) -> SetupResult:
        _check_browser_confirmation(caller, params)
        if phases.recovery_point != STARTED:
            return await self._resume(session, caller, ring, phases)
        intent = await self.get(session, caller, intent_id, for_update=True)
        _check_client_secret(caller, intent, params.client_secret)
        _refuse_busy(intent)
        _transition(intent, Action.confirm)
        method = await self._method(
            session, caller, ring, intent, params.payment_method, params.payment_method_data
        )
        if method is None and intent.payment_method_id is not None:
            method = await payment_method_service.get(session, caller, intent.payment_method_id)
            if method.customer_id is not None and method.customer_id != intent.customer_id:
                raise InvalidRequestError(
                    "The SetupIntent's PaymentMethod belongs to another customer.",
                    param="payment_method",
                )
        if method is None:
            raise _missing_payment_method()
        return await self._confirm_locked(session, ring, phases, intent, method, params.return_url)

    async def _confirm_locked(
        self,
        session: AsyncSession,
        ring: KeyRing,
        phases: Phases,
        intent: SetupIntentRow,
        method: PaymentMethodRow,
        return_url: str | None,
    ) -> SetupResult:
        """Phase one (the intent locked): a new attempt, committed as the recovery point; then
        the network asked and its answer applied."""
        await _abandon_challenge(session, intent)
        intent.status = _transition(intent, Action.confirm)
        intent.payment_method_id = method.id
        if return_url is not None:
            intent.return_url = return_url
        # A rail that cannot be reached (live mode has none yet) is refused before anything.
        connector = connector_for(Rail.card, intent.livemode)
        now = utcnow()
        intent.latest_attempt_id = new_id("setatt")
        intent.rail_operation, intent.rail_reference = VERIFY, None
        intent.next_check_at = now + rail_answer_wait()
        intent.last_setup_error, intent.next_action = None, None
        intent.updated_at = now
        request = _verify_request(ring, intent, method)
        await session.flush()
        await phases.checkpoint(f"{VERIFY}:{intent.id}")
        return await _verify_on_rail(session, connector, request, intent.id)

    async def _resume(
        self, session: AsyncSession, caller: Caller, ring: KeyRing, phases: Phases
    ) -> SetupResult:
        """A request that stopped after its recovery point (its process died), retried: the
        verification is asked again with the same request id, unless someone (the
        reconciliation job, a callback) has applied its answer since."""
        operation, _, intent_id = phases.recovery_point.partition(":")
        invariant(operation == VERIFY, "a setup's recovery point names its verification")
        await self.get(session, caller, intent_id)  # the caller's own, or 404
        # Renews the lease on the request and ends the reads: the rail is asked outside them.
        await phases.checkpoint(phases.recovery_point)
        return await _finish(session, ring, intent_id)

    async def cancel(
        self,
        session: AsyncSession,
        caller: Caller,
        intent_id: str,
        params: SetupIntentCancelParams,
        *,
        owner: str | None = None,
    ) -> SetupIntentRow:
        intent = await self.get(session, caller, intent_id, for_update=True)
        _check_owner(intent, owner, "canceled")
        _refuse_busy(intent)
        status = _transition(intent, Action.cancel)
        await _abandon_challenge(session, intent)
        intent.status = status
        intent.next_action = None
        intent.cancellation_reason = params.cancellation_reason
        intent.canceled_at = utcnow()
        intent.updated_at = intent.canceled_at
        await session.flush()
        await record(session, intent, SetupIntentEvent.canceled)
        return intent

    async def list(
        self, session: AsyncSession, caller: Caller, params: SetupIntentListParams
    ) -> tuple[Sequence[SetupIntentRow], bool]:
        conditions: list[Any] = list(created_conditions(SetupIntentRow.created_at, params.created))
        if params.customer is not None:
            conditions.append(SetupIntentRow.customer_id == params.customer)
        if params.payment_method is not None:
            conditions.append(SetupIntentRow.payment_method_id == params.payment_method)
        statement = scoped(SetupIntentRow, caller.merchant, caller.livemode, *conditions)
        return await page(
            session,
            statement,
            SetupIntentRow.id,
            params,
            cursor_exists=lambda cursor: scoped(
                SetupIntentRow, caller.merchant, caller.livemode, SetupIntentRow.id == cursor
            ),
            object_name="setup_intent",
        )


def _missing_payment_method() -> SetupIntentUnexpectedStateError:
    return SetupIntentUnexpectedStateError(
        "You cannot confirm this SetupIntent because it's missing a payment method. Update it"
        " with a payment_method or pass one to confirm.",
        param="payment_method",
    )


async def _abandon_challenge(session: AsyncSession, intent: SetupIntentRow) -> None:
    """A challenge in progress that a confirmation, an update or a cancellation replaces: its
    verification is voided on the network once this commits (the 3-D Secure page closes), and
    a late answer about it is ignored (it names an attempt no longer the latest)."""
    if intent.status == Status.requires_action and intent.rail_reference is not None:
        await void_later(
            session,
            Rail.card,
            intent.livemode,
            f"{intent.latest_attempt_id}:void",
            intent.rail_reference,
        )


def _verify_request(
    ring: KeyRing, intent: SetupIntentRow, method: PaymentMethodRow
) -> VerifyRequest:
    invariant(method.type == "card", "only a card is verified for later")
    invariant(intent.latest_attempt_id is not None, "a verification names its attempt")
    return VerifyRequest(
        request_id=str(intent.latest_attempt_id),
        merchant_id=intent.merchant_id,
        livemode=intent.livemode,
        currency=VERIFICATION_CURRENCY,
        instrument=CardInstrument(
            number=open_card_number(ring, method),
            exp_month=int(method.card_exp_month or 0),
            exp_year=int(method.card_exp_year or 0),
        ),
        off_session=intent.usage == Usage.off_session,
        return_url=intent.return_url,
    )


async def _verify_on_rail(
    session: AsyncSession, connector: Connector, request: VerifyRequest, intent_id: str
) -> SetupResult:
    """Phases two and three: the network asked outside any transaction, then its answer
    applied in a short transaction of its own."""
    try:
        outcome = await connector.verify(session, request)
    except BeyondpayError as error:  # the network refused the request itself
        outcome = RailOutcome(
            operation="verify",
            status="failed",
            reference=f"refused:{request.request_id}",
            request_id=request.request_id,
            amount_minor=0,
            currency=request.currency,
            failure_code=error.code,
            message=error.message,
        )
    intent = await _lock(session, intent_id)
    await apply_outcome(session, intent, outcome)
    return await _result(session, intent, request.request_id)


async def _finish(session: AsyncSession, ring: KeyRing, intent_id: str) -> SetupResult:
    """A verification asked and perhaps never applied, asked again (same request id) and
    applied; or, applied since, the result as it stands. ``session`` has no transaction open
    when it asks the network."""
    intent = await _lock(session, intent_id)
    attempt = str(intent.latest_attempt_id)
    if intent.rail_operation != VERIFY:
        return await _result(session, intent, attempt)
    method = await session.get(PaymentMethodRow, intent.payment_method_id)
    invariant(method is not None, "a verification's payment method exists")
    assert method is not None
    request = _verify_request(ring, intent, method)
    await session.commit()  # ends the reads: the network is asked outside any transaction
    return await _verify_on_rail(
        session, connector_for(Rail.card, intent.livemode), request, intent_id
    )


async def _result(session: AsyncSession, intent: SetupIntentRow, attempt: str) -> SetupResult:
    """The confirmation's answer: the intent, or the error body when this attempt failed."""
    failed = (
        intent.latest_attempt_id == attempt
        and intent.status == Status.requires_payment_method
        and intent.last_setup_error is not None
    )
    if not failed:
        return SetupResult(intent)
    error = dict(intent.last_setup_error or {})
    code = str(error.get("code"))
    error.update(
        {
            "param": None,
            "setup_intent": setup_intent_object(intent),
            "doc_url": f"https://docs.stripe.com/error-codes/{code.replace('_', '-')}",
        }
    )
    if error.get("decline_code") is None:
        error.pop("decline_code", None)
    return SetupResult(intent, {"error": error}, 402)


# ---- the network's answers --------------------------------------------------------------------


async def apply_outcome(
    session: AsyncSession, intent: SetupIntentRow, outcome: RailOutcome
) -> None:
    """The card network's answer about the intent's latest attempt (the intent locked): the
    intent, the payment method and the events move together. An answer about an earlier
    attempt, or one already applied, changes nothing."""
    if outcome.request_id != intent.latest_attempt_id:
        return  # an abandoned attempt (its challenge was replaced or canceled)
    if intent.rail_operation == VERIFY:
        intent.rail_operation, intent.next_check_at = None, None
    waiting = (Status.requires_confirmation, Status.requires_action, Status.processing)
    if intent.status not in waiting:
        return
    if ":" not in outcome.reference:
        intent.rail_reference = outcome.reference
    intent.updated_at = utcnow()
    if outcome.status == "requires_action":
        before = intent.status
        intent.status = _transition(intent, Action.rail_requires_action)
        intent.next_action = {
            "type": "redirect_to_url",
            "redirect_to_url": {"url": outcome.action_url, "return_url": intent.return_url},
        }
        await session.flush()
        if before != intent.status:
            await record(session, intent, SetupIntentEvent.requires_action)
    elif outcome.status == "pending":
        intent.status = _transition(intent, Action.rail_pending)
        intent.next_action = None
        intent.next_check_at = outcome.check_after or utcnow() + rail_answer_wait()
        await session.flush()
    elif outcome.status == "succeeded":
        await _succeed(session, intent, outcome)
    else:
        await _fail(session, intent, outcome)


async def _succeed(session: AsyncSession, intent: SetupIntentRow, outcome: RailOutcome) -> None:
    invariant(intent.payment_method_id is not None, "a setup that succeeded has its method")
    intent.status = _transition(intent, Action.rail_succeeded)
    intent.next_action, intent.last_setup_error = None, None
    await payment_method_service.save_for_later(
        session,
        str(intent.payment_method_id),
        intent.customer_id,
        off_session=intent.usage == Usage.off_session,
        network_transaction_id=outcome.details.get("network_transaction_id"),
    )
    await session.flush()
    await record(session, intent, SetupIntentEvent.succeeded)


async def _fail(session: AsyncSession, intent: SetupIntentRow, outcome: RailOutcome) -> None:
    method = await session.get(PaymentMethodRow, intent.payment_method_id)
    code = setup_error_code(outcome.failure_code)
    authentication = code == "setup_intent_authentication_failure"
    intent.last_setup_error = {
        "type": "card_error",
        "code": code,
        "decline_code": outcome.decline_code,
        "message": AUTHENTICATION_FAILED_MESSAGE
        if authentication
        else (outcome.message or "Your card was declined."),
        "network_decline_code": outcome.code,
        "payment_method": payment_method_object(method) if method is not None else None,
    }
    intent.status = _transition(intent, Action.rail_failed)
    intent.next_action = None
    await session.flush()
    await record(session, intent, SetupIntentEvent.setup_failed)


async def handle_rail_outcome(session: AsyncSession, outcome: RailOutcome) -> None:
    """What the card network reports by itself about a verification (the payer's answer on the
    3-D Secure page), in the reporter's transaction; a repeat changes nothing."""
    if outcome.operation != VERIFY:
        return
    intent = (
        await session.execute(
            select(SetupIntentRow)
            .where(SetupIntentRow.latest_attempt_id == outcome.request_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if intent is not None:
        await apply_outcome(session, intent, outcome)


# ---- reconciliation ---------------------------------------------------------------------------


async def due_setup_intents(session: AsyncSession, limit: int) -> list[str]:
    """SetupIntents whose verification was never applied, or whose status check is due."""
    rows = await session.execute(
        select(SetupIntentRow.id)
        .where(SetupIntentRow.next_check_at <= utcnow())
        .order_by(SetupIntentRow.next_check_at)
        .limit(limit)
    )
    return list(rows.scalars())


async def check_setup_intent(session: AsyncSession, intent_id: str) -> str:
    """One reconciliation of a due SetupIntent; its status after. ``session`` is outside any
    transaction and left so: each phase commits. A verification never applied is asked again
    (same request id) and applied; one processing is status-checked with the network."""
    intent = await session.get(SetupIntentRow, intent_id, populate_existing=True)
    invariant(intent is not None, "a due SetupIntent exists")
    assert intent is not None
    if intent.rail_operation == VERIFY:
        await session.commit()
        result = await _finish(session, key_ring(), intent_id)
        status = result.intent.status
    elif intent.status == Status.processing and intent.rail_reference is not None:
        reference = intent.rail_reference
        await session.commit()
        outcome = await connector_for(Rail.card, intent.livemode).status(session, reference)
        locked = await _lock(session, intent_id)
        if outcome.final:
            await apply_outcome(session, locked, outcome)
        else:
            locked.next_check_at = utcnow() + rail_answer_wait()
        status = locked.status
    else:
        locked = await _lock(session, intent_id)
        locked.next_check_at = None  # nothing left to check
        status = locked.status
    await session.commit()
    return status


setup_intent_service = SetupIntentService()

__all__ = [
    "SETUP_PAYMENT_METHOD_TYPES",
    "SetupIntentChange",
    "SetupIntentEvent",
    "SetupIntentRow",
    "SetupResult",
    "apply_outcome",
    "check_setup_intent",
    "due_setup_intents",
    "handle_rail_outcome",
    "off_setup_intent_event",
    "on_setup_intent_event",
    "setup_intent_service",
]
