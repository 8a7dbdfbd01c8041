"""Payment intents and charges: the money path. Never commits, except at the recovery points a
use case is handed (``db.phases``): the request or job owns the transaction.

A rail is never called inside a transaction (docs/development.md, "The money path"). A
confirmation locks the intent, creates the charge with ``rail_operation = 'authorize'`` (the
rail's request id is the charge's id), screens it (risk, limits) and commits: the recovery
point. It then asks the rail outside any transaction, and applies the answer in a second short
transaction that locks the intent and the charge again. A capture does the same with
``'capture'``. While an operation is in flight the intent is busy: another request on it gets
``lock_timeout`` (429, which Stripe's SDKs retry). A process killed between the phases is
finished by the retry with the same ``Idempotency-Key`` (it resumes at the recovery point and
asks the rail again with the same request id, which the rail answers once) or by the
reconciliation job (:func:`check_charge`) once ``next_check_at`` comes. Voids never wait on the
network: the transaction that decides one asks the rail through a job
(``rails.service.void_later``).

Every answer of a rail — at confirmation, from a callback, or from a status check — goes through
:func:`apply_outcome`, which is idempotent: a charge already final ignores a repeat.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.api.lists import created_conditions, page, scoped
from beyondpay.api.params import merge_metadata
from beyondpay.customers.service import customer_service
from beyondpay.db.phases import STARTED, Phases
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import (
    BeyondpayError,
    InvalidRequestError,
    LockTimeoutError,
    ResourceMissingError,
)
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.logging import get_logger
from beyondpay.kit.settings import Settings, get_settings
from beyondpay.merchants.domain import Caller
from beyondpay.payment_methods.service import (
    PaymentMethodRow,
    open_card_number,
    open_vpa,
    payment_method_details,
    payment_method_object,
    payment_method_service,
)
from beyondpay.payments import postings
from beyondpay.payments.domain import (
    Action,
    CaptureMethod,
    Chart,
    Status,
    UnexpectedStateError,
    next_status,
    platform_fee,
)
from beyondpay.payments.errors import (
    PaymentIntentUnexpectedStateError,
    payment_failure_body,
)
from beyondpay.payments.events import ChargeEvent, PaymentIntentEvent, record
from beyondpay.payments.models import BalanceTransactionRow, ChargeRow, PaymentIntentRow
from beyondpay.payments.schemas import (
    PAYMENT_METHOD_TYPES,
    BalanceTransactionListParams,
    ChargeListParams,
    ChargeUpdateParams,
    PaymentIntentCancelParams,
    PaymentIntentCaptureParams,
    PaymentIntentConfirmParams,
    PaymentIntentCreateParams,
    PaymentIntentListParams,
    PaymentIntentUpdateParams,
    payment_intent_object,
)
from beyondpay.payments.screening import outcome_risk, release_limits, screen
from beyondpay.rails.protocol import (
    AuthorizeRequest,
    CardInstrument,
    Connector,
    Instrument,
    NetbankingInstrument,
    Rail,
    RailOutcome,
    UpiInstrument,
)
from beyondpay.rails.service import connector_for, next_status_check, on_outcome, void_later

# A charge waiting for the payer (a challenge, a collect, a bank page) is checked with its rail
# this long after the last answer if the rail named no time: never left without a check.
ACTION_CHECK_AFTER_S: Final = 3_600
CLIENT_SECRET_BYTES: Final = 18
# The rail operation a charge has asked and not yet applied (charges.rail_operation).
AUTHORIZE: Final = "authorize"
CAPTURE: Final = "capture"
# Written in a charge's rail details when the risk engine asked the rail for 3-D Secure, so an
# authorization asked again after a crash asks for it too.
AUTHENTICATION_REQUESTED: Final = "authentication_requested"

_log = get_logger(__name__)
# The fee and availability settings of this process, once configured, and its key ring (the
# reconciliation job opens a card to ask the rail again for an authorization never applied).
_configured: dict[str, Settings] = {}
_rings: dict[str, KeyRing] = {}


def configure(settings: Settings, *, ring: KeyRing | None = None) -> None:
    """The fee and availability settings of this process (the app and the worker call it)."""
    _configured["settings"] = settings
    _rings["ring"] = ring if ring is not None else settings.key_ring()


def _config() -> Settings:
    return _configured.get("settings") or get_settings()


def rail_answer_wait() -> timedelta:
    """The settings' ``rail_answer_wait_s``: how long an operation asked of a rail may go
    unanswered before reconciliation asks again (refunds use it too)."""
    return _answer_wait()


def _answer_wait() -> timedelta:
    """An operation asked of a rail and still not applied this long after (its process died
    between the phases) is asked again by the reconciliation job; the API's lease on a request
    past its recovery point is the same setting."""
    return timedelta(seconds=_config().rail_answer_wait_s)


def _ring() -> KeyRing:
    if "ring" not in _rings:
        _rings["ring"] = _config().key_ring()
    return _rings["ring"]


@dataclass(slots=True)
class ConfirmResult:
    intent: PaymentIntentRow
    # A confirmation the rail refused at once (or a capture it refused): the error body to
    # answer with (402 for cards), after committing the failed charge.
    failure: dict[str, Any] | None = None
    failure_status: int = 402


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


def _instrument(ring: KeyRing, method: PaymentMethodRow) -> Instrument:
    if method.type == "card":
        invariant(
            method.card_exp_month is not None and method.card_exp_year is not None,
            "a card payment method has an expiry",
        )
        return CardInstrument(
            number=open_card_number(ring, method),
            exp_month=int(method.card_exp_month or 0),
            exp_year=int(method.card_exp_year or 0),
        )
    if method.type == "upi":
        return UpiInstrument(vpa=open_vpa(ring, method))
    invariant(
        method.type == "netbanking" and method.netbanking_bank is not None,
        "a net banking payment method names its bank",
    )
    return NetbankingInstrument(bank=str(method.netbanking_bank))


def _next_action(intent: PaymentIntentRow, outcome: RailOutcome) -> dict[str, Any] | None:
    if outcome.action_type == "redirect_to_url":
        return {
            "type": "redirect_to_url",
            "redirect_to_url": {"url": outcome.action_url, "return_url": intent.return_url},
        }
    if outcome.action_type == "upi_collect":
        expires = outcome.action_expires_at
        return {
            "type": "upi_collect",
            "upi_collect": {"expires_at": int(expires.timestamp()) if expires else None},
        }
    if outcome.action_type == "upi_intent":
        expires = outcome.action_expires_at
        return {
            "type": "upi_intent",
            "upi_intent": {
                "url": outcome.action_url,
                "expires_at": int(expires.timestamp()) if expires else None,
            },
        }
    return None


def _failure_message(outcome: RailOutcome) -> str:
    return outcome.message or "The payment was declined."


def _payment_error(
    intent: PaymentIntentRow, charge: ChargeRow, outcome: RailOutcome, method: dict[str, Any] | None
) -> dict[str, Any]:
    card = charge.rail == Rail.card
    error: dict[str, Any] = {
        "type": "card_error" if card else "invalid_request_error",
        "code": outcome.failure_code
        or ("card_declined" if card else "payment_intent_payment_attempt_failed"),
        "message": _failure_message(outcome),
        "charge": charge.id,
        "decline_code": outcome.decline_code,
        "network_decline_code": outcome.code,
        "payment_method": method,
    }
    return error


class PaymentIntentService:
    async def create(
        self,
        session: AsyncSession,
        caller: Caller,
        ring: KeyRing,
        params: PaymentIntentCreateParams,
        phases: Phases,
    ) -> ConfirmResult:
        if phases.recovery_point != STARTED:
            return await self._resume(session, caller, ring, phases)
        now = utcnow()
        customer_id = None
        if params.customer is not None:
            customer = await customer_service.get(session, caller, params.customer)
            if customer.deleted_at is not None:
                raise ResourceMissingError.for_object("customer", params.customer, param="customer")
            customer_id = customer.id
        types = params.payment_method_types or (
            list(PAYMENT_METHOD_TYPES)
            if params.automatic_payment_methods and params.automatic_payment_methods.enabled
            else ["card"]
        )
        intent_id = new_id("pi")
        intent = PaymentIntentRow(
            id=intent_id,
            merchant_id=caller.merchant,
            livemode=caller.livemode,
            amount=params.amount,
            currency=params.currency,
            status=Status.requires_payment_method,
            capture_method=params.capture_method,
            customer_id=customer_id,
            payment_method_id=None,
            payment_method_types=types,
            description=params.description,
            receipt_email=params.receipt_email,
            statement_descriptor=params.statement_descriptor,
            return_url=params.return_url,
            client_secret=f"{intent_id}_secret_{secrets.token_urlsafe(CLIENT_SECRET_BYTES)}",
            amount_capturable=0,
            amount_received=0,
            metadata_=merge_metadata(
                {}, params.metadata if isinstance(params.metadata, dict) else None
            ),
            created_at=now,
            updated_at=now,
        )
        method = await self._method(
            session, caller, ring, intent, params.payment_method, params.payment_method_data
        )
        if method is not None:
            intent.payment_method_id = method.id
            intent.status = _transition(intent, Action.set_payment_method)
        # No flush here: the intent's row is written with the first statement that needs it
        # (with the charge of a confirmation, already pointing at it), not inserted then updated.
        session.add(intent)
        await record(session, intent, PaymentIntentEvent.created)
        if params.confirm:
            return await self._confirm_locked(
                session, ring, phases, intent, method, params.return_url
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

    async def update(
        self,
        session: AsyncSession,
        caller: Caller,
        ring: KeyRing,
        intent_id: str,
        params: PaymentIntentUpdateParams,
    ) -> PaymentIntentRow:
        intent = await self.get(session, caller, intent_id, for_update=True)
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
        if params.payment_method_types is not None:
            intent.payment_method_types = params.payment_method_types
        if "metadata" in sent:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            intent.metadata_ = merge_metadata(intent.metadata_, metadata)
        intent.status = status
        method = await self._method(
            session, caller, ring, intent, params.payment_method, params.payment_method_data
        )
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
        params: PaymentIntentConfirmParams,
        phases: Phases,
    ) -> ConfirmResult:
        if phases.recovery_point != STARTED:
            return await self._resume(session, caller, ring, phases)
        intent = await self.get(session, caller, intent_id, for_update=True)
        await _refuse_busy(session, intent)
        _transition(intent, Action.confirm)
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
        return await self._confirm_locked(session, ring, phases, intent, method, params.return_url)

    async def _confirm_locked(
        self,
        session: AsyncSession,
        ring: KeyRing,
        phases: Phases,
        intent: PaymentIntentRow,
        method: PaymentMethodRow | None,
        return_url: str | None,
    ) -> ConfirmResult:
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
        now = utcnow()
        charge = ChargeRow(
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
            capture_requested=intent.capture_method != CaptureMethod.manual,
            rail_details={},
            description=intent.description,
            metadata_={},
            checks_made=0,
            rail_operation=AUTHORIZE,
            next_check_at=now + _answer_wait(),
            created_at=now,
            updated_at=now,
        )
        session.add(charge)
        intent.latest_charge_id = charge.id
        intent.last_payment_error = None
        intent.next_action = None
        # Not flushed yet: screening's outcome is written with the charge's INSERT below (the
        # checkpoint's commit), not by an UPDATE after it. Nothing screening reads needs the row.
        # A rail that cannot be reached (live mode has none yet) is refused before anything is
        # assessed or reserved for a payment that could not be made.
        connector = connector_for(Rail(method.type), intent.livemode)
        screening = await screen(session, intent, charge, method)
        if screening.refusal is not None:
            charge.rail_operation = None  # never sent: decided in this one transaction
            await apply_outcome(session, intent, charge, screening.refusal)
            return self._declined(intent, charge, method)
        if screening.authenticate:
            charge.rail_details = {AUTHENTICATION_REQUESTED: "risk"}
        request = _authorize_request(ring, intent, charge, method)
        # The recovery point: the charge and its screening are committed, asking the rail.
        await phases.checkpoint(f"{AUTHORIZE}:{charge.id}")
        return await self._authorize_on_rail(session, connector, request, intent.id)

    async def _authorize_on_rail(
        self,
        session: AsyncSession,
        connector: Connector,
        request: AuthorizeRequest,
        intent_id: str,
    ) -> ConfirmResult:
        """Phases two and three: the rail asked outside any transaction, then its answer applied
        in a short transaction of its own."""
        refused: BeyondpayError | None = None
        try:
            outcome = await connector.authorize(session, request)
        except BeyondpayError as error:  # the rail refused the request itself (bad instrument)
            refused = error
            outcome = _refused_by_rail(request, error)
        intent, charge = await _lock_pair(session, intent_id, request.request_id)
        await apply_outcome(session, intent, charge, outcome)
        charge.rail_operation = None  # answered, by this answer or one applied before it
        if refused is not None and charge.status == "failed":
            return ConfirmResult(intent, refused.to_dict(), refused.status)
        method = await session.get(PaymentMethodRow, charge.payment_method_id)
        invariant(method is not None, "a charge's payment method exists")
        assert method is not None
        return self._declined(intent, charge, method)

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
            return await self._capture_on_rail(session, intent, charge)
        invariant(operation == AUTHORIZE, "a payment's recovery point names its operation")
        if charge.rail_operation != AUTHORIZE:
            intent, charge = await _lock_pair(session, intent.id, charge.id)
            method = await session.get(PaymentMethodRow, charge.payment_method_id)
            assert method is not None
            return self._declined(intent, charge, method)
        connector = connector_for(Rail(charge.rail), charge.livemode)
        request = await _request_for(session, ring, intent, charge)
        return await self._authorize_on_rail(session, connector, request, intent.id)

    def _declined(
        self, intent: PaymentIntentRow, charge: ChargeRow, method: PaymentMethodRow
    ) -> ConfirmResult:
        """The confirmation's result: with the error body when the charge failed at once."""
        if charge.status == "failed":
            method_object = payment_method_object(method)
            error: dict[str, Any] = intent.last_payment_error or {}
            body = payment_failure_body(
                card=charge.rail == Rail.card,
                code=str(error.get("code")),
                message=str(error.get("message")),
                decline_code=error.get("decline_code"),
                network_decline_code=error.get("network_decline_code"),
                charge_id=charge.id,
                payment_intent=payment_intent_object(intent),
                payment_method=method_object,
            )
            return ConfirmResult(intent, body, 402 if charge.rail == Rail.card else 400)
        return ConfirmResult(intent)

    async def _abandon_attempt(self, session: AsyncSession, intent: PaymentIntentRow) -> None:
        """A confirmation while an earlier attempt waits for the payer (a challenge, a collect)
        replaces it, as Stripe's does: the earlier charge fails and is voided on its rail."""
        if intent.latest_charge_id is None:
            return
        charge = await _charge_for_update(session, intent.latest_charge_id)
        if charge.status != "pending":
            return
        await _fail_waiting_charge(
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
        charge = await _charge_for_update(session, str(intent.latest_charge_id))
        invariant(
            charge.authorized and not charge.captured, "the charge is authorized, not captured"
        )
        if "metadata" in params.model_fields_set:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            intent.metadata_ = merge_metadata(intent.metadata_, metadata)
            intent.updated_at = utcnow()
        charge.rail_operation, charge.rail_operation_amount = CAPTURE, amount
        charge.next_check_at = utcnow() + _answer_wait()
        await session.flush()
        await phases.checkpoint(f"{CAPTURE}:{charge.id}")
        return await self._capture_on_rail(session, intent, charge)

    async def _capture_on_rail(
        self, session: AsyncSession, intent: PaymentIntentRow, charge: ChargeRow
    ) -> ConfirmResult:
        """The capture asked of the rail outside any transaction (phase two), then applied."""
        if charge.rail_operation == CAPTURE:
            outcome = await _ask_capture(session, charge)
        else:  # applied since (the reconciliation job): answer what it left
            outcome = None
        return await _apply_capture(session, intent.id, charge.id, outcome)

    async def cancel(
        self,
        session: AsyncSession,
        caller: Caller,
        intent_id: str,
        params: PaymentIntentCancelParams,
    ) -> PaymentIntentRow:
        intent = await self.get(session, caller, intent_id, for_update=True)
        await _refuse_busy(session, intent)
        status = _transition(intent, Action.cancel)
        if intent.latest_charge_id is not None:
            charge = await _charge_for_update(session, intent.latest_charge_id)
            if charge.authorized and not charge.captured and not charge.voided:
                # Our hold is released now; the rail's, by a job once this commits.
                await void_later(
                    session,
                    Rail(charge.rail),
                    charge.livemode,
                    f"{charge.id}:void",
                    str(charge.rail_reference),
                )
                await postings.void(session, charge.id)
                charge.voided = True
                charge.updated_at = utcnow()
                await release_limits(session, charge)  # the held money never moved
            elif charge.status == "pending":
                await _fail_waiting_charge(
                    session, charge, "payment_intent_canceled", "The PaymentIntent was canceled."
                )
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
        statement = scoped(PaymentIntentRow, caller.merchant, caller.livemode, *conditions)
        return await page(
            session,
            statement,
            PaymentIntentRow.id,
            params,
            cursor_exists=lambda cursor: scoped(
                PaymentIntentRow, caller.merchant, caller.livemode, PaymentIntentRow.id == cursor
            ),
            object_name="payment_intent",
        )


async def _charge_for_update(session: AsyncSession, charge_id: str) -> ChargeRow:
    # populate_existing: the row may be in the session from before a recovery point, as it was.
    charge = (
        await session.execute(
            select(ChargeRow)
            .where(ChargeRow.id == charge_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    return charge


async def _lock_pair(
    session: AsyncSession, intent_id: str, charge_id: str
) -> tuple[PaymentIntentRow, ChargeRow]:
    """The intent, then the charge, locked and read afresh: the order every use case locks
    them in, so two never wait on each other."""
    intent = (
        await session.execute(
            select(PaymentIntentRow)
            .where(PaymentIntentRow.id == intent_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    return intent, await _charge_for_update(session, charge_id)


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


def _authorize_request(
    ring: KeyRing, intent: PaymentIntentRow, charge: ChargeRow, method: PaymentMethodRow
) -> AuthorizeRequest:
    return AuthorizeRequest(
        request_id=charge.id,
        merchant_id=intent.merchant_id,
        livemode=intent.livemode,
        amount_minor=charge.amount,
        currency=charge.currency,
        instrument=_instrument(ring, method),
        capture=charge.capture_requested,
        return_url=intent.return_url,
        description=intent.description,
        authenticate=AUTHENTICATION_REQUESTED in charge.rail_details,
    )


async def _request_for(
    session: AsyncSession, ring: KeyRing, intent: PaymentIntentRow, charge: ChargeRow
) -> AuthorizeRequest:
    """The authorization a charge asked for, again (same request id, same terms)."""
    method = await session.get(PaymentMethodRow, charge.payment_method_id)
    invariant(method is not None, "a charge's payment method exists")
    assert method is not None
    request = _authorize_request(ring, intent, charge, method)
    await session.commit()  # ends the reads: the rail is asked outside any transaction
    return request


def _refused_by_rail(request: AuthorizeRequest, error: BeyondpayError) -> RailOutcome:
    """A request the rail refused outright (an instrument it cannot take): a failed charge."""
    return RailOutcome(
        operation="authorize",
        status="failed",
        reference=f"refused:{request.request_id}",
        request_id=request.request_id,
        amount_minor=request.amount_minor,
        currency=request.currency,
        failure_code=error.code,
        message=error.message,
    )


async def _ask_capture(session: AsyncSession, charge: ChargeRow) -> RailOutcome:
    amount = charge.rail_operation_amount
    invariant(amount is not None and amount > 0, "a capture in flight names its amount")
    connector = connector_for(Rail(charge.rail), charge.livemode)
    try:
        return await connector.capture(
            session, f"{charge.id}:capture", str(charge.rail_reference), int(amount or 0)
        )
    except BeyondpayError as error:
        return RailOutcome(
            operation="capture",
            status="failed",
            reference=str(charge.rail_reference),
            request_id=f"{charge.id}:capture",
            amount_minor=int(amount or 0),
            currency=charge.currency,
            failure_code=error.code,
            message=error.message,
        )


async def _apply_capture(
    session: AsyncSession, intent_id: str, charge_id: str, outcome: RailOutcome | None
) -> ConfirmResult:
    """The rail's answer to a capture (None: already applied), in its own transaction."""
    intent, charge = await _lock_pair(session, intent_id, charge_id)
    if charge.rail_operation == CAPTURE and outcome is not None:
        amount = int(charge.rail_operation_amount or 0)
        charge.rail_operation, charge.rail_operation_amount = None, None
        charge.next_check_at = None
        charge.updated_at = utcnow()
        if outcome.status == "succeeded":
            await _capture_charge(session, charge, amount)
            intent.status = next_status(Status(intent.status), Action.capture)
            intent.amount_capturable = 0
            intent.amount_received = amount
            intent.updated_at = utcnow()
            await session.flush()
            await record(session, charge, ChargeEvent.captured)
            await record(session, intent, PaymentIntentEvent.succeeded)
        else:
            await session.flush()
    if charge.captured:
        return ConfirmResult(intent)
    refusal = InvalidRequestError(
        (outcome.message if outcome is not None else None)
        or "The rail refused to capture this payment.",
        param="amount_to_capture",
    )
    return ConfirmResult(intent, refusal.to_dict(), refusal.status)


async def _fail_waiting_charge(
    session: AsyncSession, charge: ChargeRow, code: str, message: str
) -> None:
    """A charge that waited for the payer or the rail and will not be completed: it fails, and
    the rail is told to release whatever it may hold for it."""
    if charge.rail_reference is not None and ":" not in charge.rail_reference:
        # Asked of the rail once this commits (never "screened:"/"refused:": not sent).
        await void_later(
            session, Rail(charge.rail), charge.livemode, f"{charge.id}:void", charge.rail_reference
        )
    if charge.authorized and not charge.captured and not charge.voided:
        await postings.void(session, charge.id)
        charge.voided = True
    charge.status = "failed"
    charge.failure_code = code
    charge.failure_message = message
    charge.next_check_at = None
    charge.updated_at = utcnow()
    await release_limits(session, charge)
    await session.flush()
    await record(session, charge, ChargeEvent.failed)


async def _capture_charge(
    session: AsyncSession, charge: ChargeRow, amount: int, *, authorize: bool = False
) -> None:
    """Posts the hold for ``amount`` with the platform fee, and the balance transaction: one
    ledger batch, with the hold itself first when ``authorize`` (an authorization captured at
    once) and the funds made available when they are at once."""
    config = _config()
    fee = platform_fee(amount, config.payments_fee_bps, config.payments_fee_fixed_minor)
    chart = Chart(charge.merchant_id, charge.livemode, charge.currency)
    transaction = postings.balance_transaction(
        merchant_id=charge.merchant_id,
        livemode=charge.livemode,
        amount=amount,
        fee=fee,
        currency=charge.currency,
        type="charge" if charge.rail == Rail.card else "payment",
        reporting_category="charge",
        source=charge.id,
        description=charge.description,
        available_after=timedelta(seconds=config.payments_available_after_s),
    )
    session.add(transaction)
    transfers = [postings.hold_transfer(chart, charge.rail, charge.id, charge.amount)]
    transfers = transfers if authorize else []
    transfers += postings.capture_transfers(chart, charge.id, amount, fee)
    if transaction.status == "available":
        transfers += postings.available_transfers(chart, transaction.id, transaction.net)
    await postings.write(session, chart, charge.rail, transfers)
    charge.captured = True
    charge.amount_captured = amount
    charge.balance_transaction_id = transaction.id
    charge.updated_at = utcnow()


async def apply_outcome(
    session: AsyncSession, intent: PaymentIntentRow, charge: ChargeRow, outcome: RailOutcome
) -> None:
    """The rail's answer about ``charge`` (both rows locked): the intent, the charge, the
    ledger and the events move together. A charge already final ignores it (a repeat)."""
    if charge.status != "pending":
        return
    if charge.rail_operation == AUTHORIZE and outcome.operation == "authorize":
        # Answered, whoever brings the answer (a callback may beat the request's phase three).
        charge.rail_operation = None
    if charge.rail_reference is None:
        charge.rail_reference = outcome.reference
    charge.rail_details = {**charge.rail_details, **dict(outcome.details)}
    charge.updated_at = utcnow()
    if intent.status == Status.canceled or intent.latest_charge_id != charge.id:
        # Late news of an attempt no longer wanted: release it.
        await _fail_waiting_charge(
            session, charge, "payment_intent_canceled", "The attempt was abandoned."
        )
        return
    if outcome.status == "requires_action":
        await _wait(session, intent, charge, outcome, Action.rail_requires_action)
    elif outcome.status == "pending":
        await _wait(session, intent, charge, outcome, Action.rail_pending)
    elif outcome.status == "succeeded":
        await _succeed(session, intent, charge, outcome)
    else:
        await _fail(session, intent, charge, outcome)


async def _wait(
    session: AsyncSession,
    intent: PaymentIntentRow,
    charge: ChargeRow,
    outcome: RailOutcome,
    action: Action,
) -> None:
    before = intent.status
    intent.status = next_status(Status(intent.status), action)
    now = utcnow()
    if action is Action.rail_requires_action:
        intent.next_action = _next_action(intent, outcome)
        check_at = outcome.check_after or outcome.action_expires_at
    else:
        intent.next_action = None
        check_at = outcome.check_after or next_status_check(
            Rail(charge.rail), charge.checks_made, charge.created_at
        )
    charge.next_check_at = check_at or now + timedelta(seconds=ACTION_CHECK_AFTER_S)
    intent.updated_at = now
    await session.flush()
    if intent.status != before and action is Action.rail_requires_action:
        await record(session, intent, PaymentIntentEvent.requires_action)
    elif intent.status != before:
        await record(session, intent, PaymentIntentEvent.processing)


async def _succeed(
    session: AsyncSession, intent: PaymentIntentRow, charge: ChargeRow, outcome: RailOutcome
) -> None:
    invariant(
        outcome.amount_minor == charge.amount and outcome.currency == charge.currency,
        "the rail authorized the amount and currency asked for",
    )
    charge.authorized = True
    charge.status = "succeeded"
    charge.next_check_at = None
    charge.outcome = {
        "network_status": "approved_by_network",
        "reason": None,
        **outcome_risk(charge),
        "seller_message": "Payment complete.",
        "type": "authorized",
    }
    # UPI and net banking take the money when the payer approves: there is nothing to hold.
    captured_by_rail = charge.capture_requested or charge.rail != Rail.card
    if captured_by_rail:
        await _capture_charge(session, charge, charge.amount, authorize=True)
        intent.status = next_status(Status(intent.status), Action.rail_succeeded)
        intent.amount_received = charge.amount
        intent.amount_capturable = 0
    else:
        chart = Chart(charge.merchant_id, charge.livemode, charge.currency)
        hold = postings.hold_transfer(chart, charge.rail, charge.id, charge.amount)
        await postings.write(session, chart, charge.rail, [hold])
        intent.status = next_status(Status(intent.status), Action.rail_authorized)
        intent.amount_capturable = charge.amount
    intent.next_action = None
    intent.last_payment_error = None
    intent.updated_at = utcnow()
    await session.flush()
    await record(session, charge, ChargeEvent.succeeded)
    if captured_by_rail:
        await record(session, intent, PaymentIntentEvent.succeeded)
    else:
        await record(session, intent, PaymentIntentEvent.amount_capturable_updated)


async def _fail(
    session: AsyncSession, intent: PaymentIntentRow, charge: ChargeRow, outcome: RailOutcome
) -> None:
    method = await _method_object(session, charge)
    error = _payment_error(intent, charge, outcome, method)
    charge.status = "failed"
    charge.failure_code = error["code"]
    charge.failure_message = error["message"]
    charge.next_check_at = None
    screened = outcome.reference.startswith("screened:")
    charge.outcome = {
        "network_status": "not_sent_to_network" if screened else "declined_by_network",
        "reason": outcome.decline_code,
        **outcome_risk(charge),
        "seller_message": "Blocked before the network: risk or limits."
        if screened
        else "The bank or payer declined this payment.",
        "type": "blocked" if screened else "issuer_declined",
    }
    await release_limits(session, charge)
    intent.status = next_status(Status(intent.status), Action.rail_failed)
    intent.last_payment_error = error
    intent.next_action = None
    intent.updated_at = utcnow()
    await session.flush()
    await record(session, charge, ChargeEvent.failed)
    await record(session, intent, PaymentIntentEvent.payment_failed)


async def _method_object(session: AsyncSession, charge: ChargeRow) -> dict[str, Any] | None:
    method = await session.get(PaymentMethodRow, charge.payment_method_id)
    return payment_method_object(method) if method is not None else None


async def handle_rail_outcome(session: AsyncSession, outcome: RailOutcome) -> None:
    """What a rail reports by itself (a callback) about an authorization."""
    if outcome.operation != "authorize":
        return
    found = (
        await session.execute(
            select(ChargeRow.payment_intent_id).where(ChargeRow.id == outcome.request_id)
        )
    ).scalar_one_or_none()
    if found is None:
        _log.warning("rail_outcome_unknown_charge", rail_reference=outcome.reference)
        return
    intent, charge = await _lock_pair(session, found, outcome.request_id)
    await apply_outcome(session, intent, charge, outcome)


on_outcome(handle_rail_outcome)


async def check_charge(session: AsyncSession, charge_id: str) -> str:
    """One reconciliation of a due charge; returns the charge's status after it. ``session``
    is outside any transaction, and is left so: each phase commits.

    An operation asked and never applied (its process died between the phases) is asked of
    the rail again with the same request id and applied. A charge waiting for its rail is
    status-checked: outside any transaction, then applied under the intent's and the charge's
    locks; still pending, the next check is scheduled by the rail's pacing, and when the rail
    allows no more the charge fails and the rail is told to release the money.
    """
    charge = await session.get(ChargeRow, charge_id, populate_existing=True)
    invariant(charge is not None, "a due charge exists")
    assert charge is not None
    intent = await session.get(PaymentIntentRow, charge.payment_intent_id, populate_existing=True)
    assert intent is not None
    if charge.rail_operation == AUTHORIZE:
        connector = connector_for(Rail(charge.rail), charge.livemode)
        request = await _request_for(session, _ring(), intent, charge)
        await PaymentIntentService()._authorize_on_rail(session, connector, request, intent.id)
    elif charge.rail_operation == CAPTURE:
        await session.commit()
        await _apply_capture(session, intent.id, charge.id, await _ask_capture(session, charge))
    elif charge.status == "pending" and charge.next_check_at is not None:
        await session.commit()
        await _status_check(session, intent.id, charge)
    status = charge.status
    await session.commit()
    return status


async def _status_check(session: AsyncSession, intent_id: str, asked: ChargeRow) -> None:
    if asked.rail_reference is None:
        intent, charge = await _lock_pair(session, intent_id, asked.id)
        if charge.status == "pending":
            await _fail_waiting_charge(
                session, charge, "processing_error", "The rail never answered."
            )
        return
    connector = connector_for(Rail(asked.rail), asked.livemode)
    outcome = await connector.status(session, asked.rail_reference)
    intent, charge = await _lock_pair(session, intent_id, asked.id)
    if charge.status != "pending" or charge.next_check_at is None:
        return  # answered meanwhile (a callback)
    charge.checks_made += 1
    if outcome.final:
        await apply_outcome(session, intent, charge, outcome)
        return
    following = next_status_check(Rail(charge.rail), charge.checks_made, charge.created_at)
    if following is None:
        await _give_up(session, intent, charge, outcome)
    else:
        charge.next_check_at = max(following, outcome.check_after or following)
        charge.updated_at = utcnow()


async def _give_up(
    session: AsyncSession, intent: PaymentIntentRow, charge: ChargeRow, outcome: RailOutcome
) -> None:
    """The rail never gave a final answer in the time allowed: a failure, money released (the
    rail's void is asked once this commits)."""
    timeout = RailOutcome(
        operation="authorize",
        status="failed",
        reference=outcome.reference,
        request_id=charge.id,
        amount_minor=charge.amount,
        currency=charge.currency,
        code="U09" if charge.rail == Rail.upi else None,
        failure_code="payment_intent_payment_attempt_expired",
        decline_code="processing_error",
        message="The payment timed out: the rail gave no final answer in time.",
    )
    if intent.status in (Status.requires_action, Status.processing) and (
        intent.latest_charge_id == charge.id
    ):
        await _fail(session, intent, charge, timeout)
        await void_later(
            session, Rail(charge.rail), charge.livemode, f"{charge.id}:void", outcome.reference
        )
    else:
        await _fail_waiting_charge(
            session, charge, "payment_intent_payment_attempt_expired", timeout.message or ""
        )


async def due_charges(session: AsyncSession, limit: int) -> list[str]:
    """Charges whose status check is due, or whose rail operation was never applied."""
    now = utcnow()
    rows = await session.execute(
        select(ChargeRow.id)
        .where(
            ChargeRow.next_check_at <= now,
            or_(ChargeRow.status == "pending", ChargeRow.rail_operation.is_not(None)),
        )
        .order_by(ChargeRow.next_check_at)
        .limit(limit)
    )
    return list(rows.scalars())


class ChargeService:
    async def get(
        self, session: AsyncSession, caller: Caller, charge_id: str, *, for_update: bool = False
    ) -> ChargeRow:
        statement = scoped(ChargeRow, caller.merchant, caller.livemode, ChargeRow.id == charge_id)
        if for_update:
            statement = statement.with_for_update()
        row: ChargeRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("charge", charge_id)
        return row

    async def update(
        self, session: AsyncSession, caller: Caller, charge_id: str, params: ChargeUpdateParams
    ) -> ChargeRow:
        charge = await self.get(session, caller, charge_id, for_update=True)
        sent = params.model_fields_set
        if "description" in sent:
            charge.description = params.description or None
        if "metadata" in sent:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            charge.metadata_ = merge_metadata(charge.metadata_, metadata)
        charge.updated_at = utcnow()
        await session.flush()
        await record(session, charge, ChargeEvent.updated)
        return charge

    async def list(
        self, session: AsyncSession, caller: Caller, params: ChargeListParams
    ) -> tuple[Sequence[ChargeRow], bool]:
        conditions: list[Any] = list(created_conditions(ChargeRow.created_at, params.created))
        if params.customer is not None:
            conditions.append(ChargeRow.customer_id == params.customer)
        if params.payment_intent is not None:
            conditions.append(ChargeRow.payment_intent_id == params.payment_intent)
        statement = scoped(ChargeRow, caller.merchant, caller.livemode, *conditions)
        return await page(
            session,
            statement,
            ChargeRow.id,
            params,
            cursor_exists=lambda cursor: scoped(
                ChargeRow, caller.merchant, caller.livemode, ChargeRow.id == cursor
            ),
            object_name="charge",
        )

    async def lock_for_refund(
        self, session: AsyncSession, caller: Caller, charge_id: str, *, param: str
    ) -> ChargeRow:
        """The charge, locked: refunds of one charge run one at a time (no over-refund)."""
        statement = scoped(
            ChargeRow, caller.merchant, caller.livemode, ChargeRow.id == charge_id
        ).with_for_update()
        row: ChargeRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("charge", charge_id, param=param)
        return row

    async def latest_charge_of(
        self, session: AsyncSession, caller: Caller, intent_id: str, *, param: str
    ) -> str:
        intent = await payment_intent_service.get(session, caller, intent_id)
        if intent.latest_charge_id is None or intent.status != Status.succeeded:
            raise InvalidRequestError(
                f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                param=param,
            )
        return intent.latest_charge_id

    async def add_refunded(self, session: AsyncSession, charge: ChargeRow, amount: int) -> None:
        """``amount`` more of the charge is refunded (or, negative, a refund failed)."""
        charge.amount_refunded += amount
        invariant(
            0 <= charge.amount_refunded <= charge.amount_captured,
            "refunds never exceed the amount captured",
        )
        charge.updated_at = utcnow()
        await session.flush()
        if amount > 0:
            await record(session, charge, ChargeEvent.refunded)

    async def hold_refund(
        self, session: AsyncSession, charge: ChargeRow, refund_id: str, amount: int
    ) -> str:
        """The refund's money on hold from the merchant's balance, and its balance transaction
        (available at once, as Stripe's refunds are); returns the transaction's id."""
        chart = Chart(charge.merchant_id, charge.livemode, charge.currency)
        await postings.hold_refund(session, chart, charge.rail, refund_id, amount)
        transaction = postings.balance_transaction(
            merchant_id=charge.merchant_id,
            livemode=charge.livemode,
            amount=-amount,
            fee=0,
            currency=charge.currency,
            type="refund",
            reporting_category="refund",
            source=refund_id,
            description="REFUND FOR CHARGE",
            available_after=None,
        )
        session.add(transaction)
        await self.add_refunded(session, charge, amount)
        return transaction.id

    async def settle_refund(
        self,
        session: AsyncSession,
        charge: ChargeRow,
        refund_id: str,
        amount: int,
        *,
        succeeded: bool,
    ) -> str | None:
        """The rail's final word on a refund. Failed: the hold is voided, so the money is back
        in the balance, shown by a ``refund_failure`` transaction whose id is returned."""
        await postings.settle_refund(session, refund_id, succeeded=succeeded)
        if succeeded:
            return None
        transaction = postings.balance_transaction(
            merchant_id=charge.merchant_id,
            livemode=charge.livemode,
            amount=amount,
            fee=0,
            currency=charge.currency,
            type="refund_failure",
            reporting_category="refund_failure",
            source=refund_id,
            description="REFUND FAILURE",
            available_after=None,
        )
        session.add(transaction)
        await self.add_refunded(session, charge, -amount)
        return transaction.id

    async def charge_for_refund_outcome(self, session: AsyncSession, charge_id: str) -> ChargeRow:
        return await _charge_for_update(session, charge_id)


class BalanceService:
    async def balance(self, session: AsyncSession, caller: Caller) -> dict[str, Any]:
        currencies = (
            await session.execute(
                select(BalanceTransactionRow.currency)
                .where(
                    BalanceTransactionRow.merchant_id == caller.merchant,
                    BalanceTransactionRow.livemode == caller.livemode,
                )
                .distinct()
            )
        ).scalars()
        available: list[dict[str, Any]] = []
        pending: list[dict[str, Any]] = []
        for currency in sorted(set(currencies)) or ["inr"]:
            chart = Chart(caller.merchant, caller.livemode, currency)
            amount_available, amount_pending = await postings.balances(session, chart)
            available.append(_balance_amount(amount_available, currency))
            pending.append(_balance_amount(amount_pending, currency))
        return {
            "object": "balance",
            "available": available,
            "pending": pending,
            "livemode": caller.livemode,
        }

    async def get_transaction(
        self, session: AsyncSession, caller: Caller, transaction_id: str
    ) -> BalanceTransactionRow:
        statement = scoped(
            BalanceTransactionRow,
            caller.merchant,
            caller.livemode,
            BalanceTransactionRow.id == transaction_id,
        )
        row: BalanceTransactionRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("balance_transaction", transaction_id)
        return row

    async def get_transactions(
        self, session: AsyncSession, ids: Sequence[str]
    ) -> dict[str, BalanceTransactionRow]:
        if not ids:
            return {}
        rows = await session.execute(
            select(BalanceTransactionRow).where(BalanceTransactionRow.id.in_(list(ids)))
        )
        return {row.id: row for row in rows.scalars()}

    async def list_transactions(
        self, session: AsyncSession, caller: Caller, params: BalanceTransactionListParams
    ) -> tuple[Sequence[BalanceTransactionRow], bool]:
        conditions: list[Any] = list(
            created_conditions(BalanceTransactionRow.created_at, params.created)
        )
        if params.type is not None:
            conditions.append(BalanceTransactionRow.type == params.type)
        if params.source is not None:
            conditions.append(BalanceTransactionRow.source == params.source)
        if params.currency is not None:
            conditions.append(BalanceTransactionRow.currency == params.currency)
        statement = scoped(BalanceTransactionRow, caller.merchant, caller.livemode, *conditions)
        return await page(
            session,
            statement,
            BalanceTransactionRow.id,
            params,
            cursor_exists=lambda cursor: scoped(
                BalanceTransactionRow,
                caller.merchant,
                caller.livemode,
                BalanceTransactionRow.id == cursor,
            ),
            object_name="balance_transaction",
        )


def _balance_amount(amount: int, currency: str) -> dict[str, Any]:
    # Amounts are read from the ledger, which does not split them by payment method.
    return {"amount": amount, "currency": currency, "source_types": {}}


async def release_due_funds(session: AsyncSession, limit: int) -> int:
    """Moves the net of every balance transaction whose ``available_on`` has come from pending
    to available; returns how many. Rows are claimed with SKIP LOCKED: two runs split the work,
    and the ledger's transfer id makes a repeat move nothing."""
    rows = (
        await session.execute(
            select(BalanceTransactionRow)
            .where(
                BalanceTransactionRow.status == "pending",
                BalanceTransactionRow.available_on <= utcnow(),
            )
            .order_by(BalanceTransactionRow.available_on)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).scalars()
    count = 0
    for row in rows:
        chart = Chart(row.merchant_id, row.livemode, row.currency)
        await postings.make_available(session, chart, row.id, row.net)
        row.status = "available"
        count += 1
    await session.flush()
    return count


payment_intent_service = PaymentIntentService()
charge_service = ChargeService()
balance_service = BalanceService()
