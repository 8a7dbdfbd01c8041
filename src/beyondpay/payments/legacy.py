"""Stripe's legacy charge calls — ``POST /v1/charges`` (create and capture in one call, or
authorize only with ``capture=false``) and ``POST /v1/charges/{id}/capture`` — made on top of the
payment intents: a charge is created by an internal intent, confirmed at once, and captured by
capturing that intent. Stripe creates such charges without an intent; here every charge has
one (``payment_intent`` is set), so the money path, the ledger, screening, events and recovery
are the intents' own (docs/api.md, "Tokens and legacy charges").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.phases import STARTED, Phases
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import InvalidRequestError, ParameterMissingError
from beyondpay.merchants.domain import Caller
from beyondpay.payment_methods.service import PaymentMethodRow, payment_method_service
from beyondpay.payments.charges import charge_service
from beyondpay.payments.domain import CaptureMethod, Status
from beyondpay.payments.errors import (
    ChargeAlreadyCapturedError,
    ChargeAlreadyRefundedError,
    ChargeNotCapturableError,
)
from beyondpay.payments.intents import payment_intent_service
from beyondpay.payments.models import ChargeRow
from beyondpay.payments.operations import ConfirmResult
from beyondpay.payments.schemas import (
    ChargeCaptureParams,
    ChargeCreateParams,
    PaymentIntentCancelParams,
    PaymentIntentCaptureParams,
    PaymentIntentCreateParams,
)

# What a charge answers when its card needs 3-D Secure: the Charges API cannot authenticate,
# so Stripe declines it.
AUTHENTICATION_REQUIRED: Final = "authentication_required"
_AUTHENTICATION_MESSAGE: Final = (
    "Your card was declined. This transaction requires authentication, which the Charges API"
    " cannot perform: use a PaymentIntent."
)


@dataclass(slots=True)
class ChargeResult:
    charge: ChargeRow | None
    # A payment refused at once: the error body (402 card_error for a card), the work committed.
    failure: dict[str, Any] | None = None
    failure_status: int = 402


def _charge_failure(result: ConfirmResult) -> dict[str, Any] | None:
    """A declined confirmation's body as the Charges API words it: the charge named, without
    the intent and payment method objects (a charge of Stripe's has no intent)."""
    if result.failure is None:
        return None
    error = {
        key: value
        for key, value in dict(result.failure["error"]).items()
        if key not in ("payment_intent", "payment_method")
    }
    return {"error": error}


async def _source(
    session: AsyncSession, caller: Caller, ring: KeyRing, params: ChargeCreateParams
) -> PaymentMethodRow:
    """The card ``source`` names (a token is used up here)."""
    source = params.source
    if source is None:
        raise (
            InvalidRequestError(
                f"Customer {params.customer} has no default source: pass source.", param="source"
            )
            if params.customer is not None
            else ParameterMissingError("Must provide source or customer.", param="source")
        )
    if source.startswith("tok_"):
        method = await payment_method_service.consume_token(
            session, caller, ring, source, param="source"
        )
    elif source.startswith("card_"):
        method = await payment_method_service.from_card_id(session, caller, source, params.customer)
    else:
        method = await payment_method_service.resolve(session, caller, ring, source, param="source")
    if method.type != "card":
        raise InvalidRequestError(
            f"The source must be a card: {method.id} is a {method.type} payment method. Use a"
            " PaymentIntent for other payment methods.",
            param="source",
        )
    if method.customer_id is not None and method.customer_id != params.customer:
        raise InvalidRequestError(
            "The source belongs to a customer: pass that customer with it.", param="customer"
        )
    return method


def _intent_params(
    params: ChargeCreateParams, payment_method: str | None
) -> PaymentIntentCreateParams:
    return PaymentIntentCreateParams(
        amount=params.amount,
        currency=params.currency,
        payment_method_types=["card"],
        payment_method=payment_method,
        customer=params.customer,
        confirm=True,
        capture_method=CaptureMethod.automatic if params.capture else CaptureMethod.manual,
        description=params.description,
        receipt_email=params.receipt_email,
        statement_descriptor=params.statement_descriptor,
        metadata=params.metadata,
        expand=[],
    )


class LegacyChargeService:
    async def create(
        self,
        session: AsyncSession,
        caller: Caller,
        ring: KeyRing,
        params: ChargeCreateParams,
        phases: Phases,
    ) -> ChargeResult:
        method_id = None
        if phases.recovery_point == STARTED:  # a retry past its recovery point resumes instead
            method_id = (await _source(session, caller, ring, params)).id
        metadata = params.metadata if isinstance(params.metadata, dict) else None
        result = await payment_intent_service.create(
            session,
            caller,
            ring,
            _intent_params(params, method_id),
            phases,
            charge_metadata=metadata,
        )
        if result.failure is not None:
            return ChargeResult(None, _charge_failure(result), result.failure_status)
        intent = result.intent
        if intent.status == Status.requires_action:
            return await self._decline_authentication(session, caller, intent.id)
        charge = await charge_service.get(session, caller, str(intent.latest_charge_id))
        return ChargeResult(charge)

    async def _decline_authentication(
        self, session: AsyncSession, caller: Caller, intent_id: str
    ) -> ChargeResult:
        """A card that asks for 3-D Secure: the attempt is abandoned (its intent canceled, the
        rail told) and the charge declined with ``authentication_required``, as Stripe's."""
        intent = await payment_intent_service.cancel(
            session,
            caller,
            intent_id,
            PaymentIntentCancelParams(cancellation_reason="abandoned", expand=[]),
        )
        charge = await charge_service.get(session, caller, str(intent.latest_charge_id))
        charge.failure_code, charge.failure_message = "card_declined", _AUTHENTICATION_MESSAGE
        await session.flush()
        error = {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": AUTHENTICATION_REQUIRED,
            "message": _AUTHENTICATION_MESSAGE,
            "charge": charge.id,
            "param": None,
            "doc_url": "https://docs.stripe.com/error-codes/card-declined",
        }
        return ChargeResult(None, {"error": error}, 402)

    async def capture(
        self,
        session: AsyncSession,
        caller: Caller,
        ring: KeyRing,
        charge_id: str,
        params: ChargeCaptureParams,
        phases: Phases,
    ) -> ChargeResult:
        """Capture an authorized charge (``capture=false``, or an intent's with manual capture):
        its intent's capture, for ``amount`` or all that is held."""
        charge = await charge_service.get(session, caller, charge_id)
        if phases.recovery_point == STARTED:
            await self._check_capturable(session, caller, charge, params)
        result = await payment_intent_service.capture(
            session,
            caller,
            ring,
            charge.payment_intent_id,
            PaymentIntentCaptureParams(amount_to_capture=params.amount, expand=[]),
            phases,
        )
        if result.failure is not None:
            return ChargeResult(None, result.failure, result.failure_status)
        return ChargeResult(await charge_service.get(session, caller, charge_id))

    async def _check_capturable(
        self,
        session: AsyncSession,
        caller: Caller,
        charge: ChargeRow,
        params: ChargeCaptureParams,
    ) -> None:
        """Stripe's refusals, named after the charge (not its intent)."""
        if charge.captured:
            raise ChargeAlreadyCapturedError(
                f"Charge {charge.id} has already been captured.", param="charge"
            )
        if charge.voided:
            raise ChargeAlreadyRefundedError(
                f"Charge {charge.id} has already been refunded: its hold was released.",
                param="charge",
            )
        intent = await payment_intent_service.get(
            session, caller, charge.payment_intent_id, for_update=True
        )
        if not charge.authorized or intent.latest_charge_id != charge.id:
            raise ChargeNotCapturableError(
                f"Charge {charge.id} cannot be captured: it has status {charge.status} and holds"
                " no authorization.",
                param="charge",
            )
        if params.amount is not None and params.amount > intent.amount_capturable:
            raise InvalidRequestError(
                f"The amount to capture ({params.amount}) is greater than the amount authorized"
                f" ({intent.amount_capturable}).",
                param="amount",
            )
        if params.receipt_email is not None:
            intent.receipt_email = params.receipt_email


legacy_charge_service = LegacyChargeService()
