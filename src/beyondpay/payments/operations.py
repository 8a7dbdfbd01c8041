"""The operations a charge asks of its rail — authorize, capture — in the phases around the
network (docs/development.md, "The money path"): each is asked with no transaction open, after
the recovery point that names it, and its answer is applied in a short transaction of its own
that locks the intent and the charge again. Asked again (a retry, the reconciliation job), an
operation carries the same request id, which the rail answers once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import BeyondpayError, InvalidRequestError
from beyondpay.kit.invariants import invariant
from beyondpay.payment_methods.service import (
    PaymentMethodRow,
    open_card_number,
    open_vpa,
    payment_method_object,
)
from beyondpay.payments import postings
from beyondpay.payments.charges import AUTHENTICATION_REQUESTED, CAPTURE, INCREMENT, lock_pair
from beyondpay.payments.domain import Action, Chart, Status, next_status
from beyondpay.payments.errors import payment_failure_body
from beyondpay.payments.events import ChargeEvent, PaymentIntentEvent, record
from beyondpay.payments.models import ChargeRow, PaymentIntentRow
from beyondpay.payments.outcomes import apply_outcome, capture_charge
from beyondpay.payments.schemas import payment_intent_object
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
from beyondpay.rails.service import connector_for


@dataclass(slots=True)
class ConfirmResult:
    intent: PaymentIntentRow
    # A confirmation the rail refused at once (or a capture it refused): the error body to
    # answer with (402 for cards), after committing the failed charge.
    failure: dict[str, Any] | None = None
    failure_status: int = 402


def confirm_result(
    intent: PaymentIntentRow, charge: ChargeRow, method: PaymentMethodRow
) -> ConfirmResult:
    """The confirmation's result: with the error body when the charge failed at once."""
    if charge.status != "failed":
        return ConfirmResult(intent)
    error: dict[str, Any] = intent.last_payment_error or {}
    body = payment_failure_body(
        card=charge.rail == Rail.card,
        code=str(error.get("code")),
        message=str(error.get("message")),
        decline_code=error.get("decline_code"),
        network_decline_code=error.get("network_decline_code"),
        charge_id=charge.id,
        payment_intent=payment_intent_object(intent),
        payment_method=payment_method_object(method),
    )
    return ConfirmResult(intent, body, 402 if charge.rail == Rail.card else 400)


async def confirm_result_of(session: AsyncSession, intent_id: str, charge_id: str) -> ConfirmResult:
    """The result of a confirmation whose answer was applied already (by whoever brought it)."""
    intent, charge = await lock_pair(session, intent_id, charge_id)
    return confirm_result(intent, charge, await _method_of(session, charge))


async def _method_of(session: AsyncSession, charge: ChargeRow) -> PaymentMethodRow:
    method = await session.get(PaymentMethodRow, charge.payment_method_id)
    invariant(method is not None, "a charge's payment method exists")
    assert method is not None
    return method


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


def authorize_request(
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
        # Off-session, the card names the setup that saved it (its stored credential).
        off_session=intent.off_session,
        stored_credential=method.off_session_network_transaction_id if intent.off_session else None,
        # The object owning the intent (a Checkout Session) is the order a UPI link names.
        payee_reference=intent.owner,
    )


async def request_for(
    session: AsyncSession, ring: KeyRing, intent: PaymentIntentRow, charge: ChargeRow
) -> AuthorizeRequest:
    """The authorization a charge asked for, again (same request id, same terms)."""
    request = authorize_request(ring, intent, charge, await _method_of(session, charge))
    await session.commit()  # ends the reads: the rail is asked outside any transaction
    return request


async def authorize_on_rail(
    session: AsyncSession, connector: Connector, request: AuthorizeRequest, intent_id: str
) -> ConfirmResult:
    """Phases two and three: the rail asked outside any transaction, then its answer applied
    in a short transaction of its own."""
    refused: BeyondpayError | None = None
    try:
        outcome = await connector.authorize(session, request)
    except BeyondpayError as error:  # the rail refused the request itself (bad instrument)
        refused = error
        outcome = _refused_by_rail(request, error)
    intent, charge = await lock_pair(session, intent_id, request.request_id)
    await apply_outcome(session, intent, charge, outcome)
    charge.rail_operation = None  # answered, by this answer or one applied before it
    if refused is not None and charge.status == "failed":
        return ConfirmResult(intent, refused.to_dict(), refused.status)
    return confirm_result(intent, charge, await _method_of(session, charge))


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


async def capture_on_rail(
    session: AsyncSession, intent: PaymentIntentRow, charge: ChargeRow
) -> ConfirmResult:
    """The capture asked of the rail outside any transaction (phase two), then applied."""
    if charge.rail_operation == CAPTURE:
        outcome = await ask_capture(session, charge)
    else:  # applied since (the reconciliation job): answer what it left
        outcome = None
    return await apply_capture(session, intent.id, charge.id, outcome)


async def ask_capture(session: AsyncSession, charge: ChargeRow) -> RailOutcome:
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


async def apply_capture(
    session: AsyncSession, intent_id: str, charge_id: str, outcome: RailOutcome | None
) -> ConfirmResult:
    """The rail's answer to a capture (None: already applied), in its own transaction."""
    intent, charge = await lock_pair(session, intent_id, charge_id)
    if charge.rail_operation == CAPTURE and outcome is not None:
        amount = int(charge.rail_operation_amount or 0)
        charge.rail_operation, charge.rail_operation_amount = None, None
        charge.next_check_at = None
        charge.updated_at = utcnow()
        if outcome.status == "succeeded":
            await capture_charge(session, charge, amount)
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


async def increment_on_rail(
    session: AsyncSession, intent: PaymentIntentRow, charge: ChargeRow
) -> ConfirmResult:
    """An incremental authorization asked of the rail outside any transaction (phase two),
    then applied (phase three)."""
    outcome = await ask_increment(session, charge) if charge.rail_operation == INCREMENT else None
    return await apply_increment(session, intent.id, charge.id, outcome)


async def ask_increment(session: AsyncSession, charge: ChargeRow) -> RailOutcome:
    amount = int(charge.rail_operation_amount or 0)
    invariant(amount > charge.amount, "an increment in flight raises the amount held")
    connector = connector_for(Rail(charge.rail), charge.livemode)
    request_id = f"{charge.id}:increment:{charge.authorization_increments + 1}"
    try:
        return await connector.increment(session, request_id, str(charge.rail_reference), amount)
    except BeyondpayError as error:
        return RailOutcome(
            operation="increment",
            status="failed",
            reference=str(charge.rail_reference),
            request_id=request_id,
            amount_minor=amount,
            currency=charge.currency,
            failure_code=error.code,
            message=error.message,
        )


async def apply_increment(
    session: AsyncSession, intent_id: str, charge_id: str, outcome: RailOutcome | None
) -> ConfirmResult:
    """The rail's answer to an increment (None: applied already), in its own transaction:
    raised, the hold is replaced by one for the new total (one linked ledger batch) and the
    intent and charge take the new amount; refused, nothing changes but the error answered."""
    intent, charge = await lock_pair(session, intent_id, charge_id)
    if charge.rail_operation != INCREMENT or outcome is None:
        return ConfirmResult(intent)
    amount = int(charge.rail_operation_amount or 0)
    charge.rail_operation, charge.rail_operation_amount = None, None
    charge.next_check_at = None
    charge.updated_at = utcnow()
    if outcome.status != "succeeded":
        await session.flush()
        return ConfirmResult(intent, _increment_declined(charge, outcome), 402)
    invariant(
        intent.status == Status.requires_capture and not charge.captured and not charge.voided,
        "an increment applies to a held authorization",
    )
    chart = Chart(charge.merchant_id, charge.livemode, charge.currency)
    await postings.write(
        session,
        chart,
        charge.rail,
        postings.increment_transfers(
            chart, charge.rail, charge.id, charge.authorization_increments, amount
        ),
    )
    charge.authorization_increments += 1
    charge.amount = amount
    intent.amount = intent.amount_capturable = amount
    intent.updated_at = charge.updated_at
    await session.flush()
    await record(session, charge, ChargeEvent.updated)
    await record(session, intent, PaymentIntentEvent.amount_capturable_updated)
    return ConfirmResult(intent)


def _increment_declined(charge: ChargeRow, outcome: RailOutcome) -> dict[str, Any]:
    """Stripe's answer to a refused increment: ``card_declined``; the authorization stays."""
    error: dict[str, Any] = {
        "type": "card_error",
        "code": "card_declined",
        "message": outcome.message or "The card's issuer refused to raise the authorization.",
        "charge": charge.id,
        "param": None,
        "doc_url": "https://docs.stripe.com/error-codes/card-declined",
    }
    if outcome.failure_code is not None:
        error["decline_code"] = outcome.failure_code
    return {"error": error}
