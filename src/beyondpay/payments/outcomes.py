"""A charge's answers applied: the rail's (at confirmation, from a callback, from a status check)
and the screening gate's refusal. The intent, the charge, the ledger and the events move
together, in the transaction of whoever brings the answer, with both rows locked.

:func:`apply_outcome` is idempotent: a charge already final ignores a repeat.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.clock import utcnow
from beyondpay.kit.invariants import invariant
from beyondpay.kit.logging import get_logger
from beyondpay.payment_methods.service import (
    PaymentMethodRow,
    payment_method_object,
    payment_method_service,
)
from beyondpay.payments import clocks, postings
from beyondpay.payments.charges import AUTHORIZE, lock_pair
from beyondpay.payments.destinations import destination_postings
from beyondpay.payments.domain import Action, Chart, Status, next_status, platform_fee
from beyondpay.payments.events import ChargeEvent, PaymentIntentEvent, record
from beyondpay.payments.models import ChargeRow, PaymentIntentRow
from beyondpay.payments.receipts import receipt_due
from beyondpay.payments.screening import (
    blocked_outcome,
    decline_code,
    network_code,
    outcome_risk,
    release_limits,
)
from beyondpay.payments.settings import settings
from beyondpay.rails.protocol import Rail, RailOutcome
from beyondpay.rails.service import next_status_check, void_later
from beyondpay.screening.domain import Verdict

# A charge waiting for the payer (a challenge, a collect, a bank page) is checked with its rail
# this long after the last answer if the rail named no time: never left without a check.
ACTION_CHECK_AFTER_S: Final = 3_600

_log = get_logger(__name__)


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
        await fail_waiting_charge(
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
        await decline(session, intent, charge, outcome)


async def refuse(
    session: AsyncSession, intent: PaymentIntentRow, charge: ChargeRow, verdict: Verdict
) -> None:
    """The screening gate refused the payment: the charge fails in the confirmation's own
    transaction, never sent to its rail."""
    refusal = verdict.refusal
    invariant(refusal is not None, "only a refusal is applied as one")
    assert refusal is not None
    charge.rail_operation = None  # never sent: decided in this one transaction
    charge.updated_at = utcnow()
    code = decline_code(refusal)
    error = _payment_error(
        charge,
        await _method_object(session, charge),
        failure_code=None,
        message=refusal.reason,
        decline_code=code,
        network_decline_code=network_code(refusal) if charge.rail == Rail.upi else None,
    )
    await _fail(session, intent, charge, error, blocked_outcome(verdict, code))


async def decline(
    session: AsyncSession, intent: PaymentIntentRow, charge: ChargeRow, outcome: RailOutcome
) -> None:
    """The rail (or the payer, or their bank) declined the payment."""
    error = _payment_error(
        charge,
        await _method_object(session, charge),
        failure_code=outcome.failure_code,
        message=outcome.message,
        decline_code=outcome.decline_code,
        network_decline_code=outcome.code,
    )
    declined = {
        "network_status": "declined_by_network",
        "reason": outcome.decline_code,
        **outcome_risk(charge),
        "seller_message": "The bank or payer declined this payment.",
        "type": "issuer_declined",
    }
    await _fail(session, intent, charge, error, declined)


async def _fail(
    session: AsyncSession,
    intent: PaymentIntentRow,
    charge: ChargeRow,
    error: dict[str, Any],
    outcome: dict[str, Any],
) -> None:
    charge.status = "failed"
    charge.failure_code = error["code"]
    charge.failure_message = error["message"]
    charge.next_check_at = None
    charge.outcome = outcome
    await release_limits(session, charge)
    intent.status = next_status(Status(intent.status), Action.rail_failed)
    intent.last_payment_error = error
    intent.next_action = None
    intent.updated_at = utcnow()
    await session.flush()
    await record(session, charge, ChargeEvent.failed)
    await record(session, intent, PaymentIntentEvent.payment_failed)


def _payment_error(
    charge: ChargeRow,
    method: dict[str, Any] | None,
    *,
    failure_code: str | None,
    message: str | None,
    decline_code: str | None,
    network_decline_code: str | None,
) -> dict[str, Any]:
    """The intent's ``last_payment_error``, as Stripe words a decline."""
    card = charge.rail == Rail.card
    return {
        "type": "card_error" if card else "invalid_request_error",
        "code": failure_code
        or ("card_declined" if card else "payment_intent_payment_attempt_failed"),
        "message": message or "The payment was declined.",
        "charge": charge.id,
        "decline_code": decline_code,
        "network_decline_code": network_decline_code,
        "payment_method": method,
    }


async def _method_object(session: AsyncSession, charge: ChargeRow) -> dict[str, Any] | None:
    method = await session.get(PaymentMethodRow, charge.payment_method_id)
    return payment_method_object(method) if method is not None else None


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


def _next_action(intent: PaymentIntentRow, outcome: RailOutcome) -> dict[str, Any] | None:
    expires = outcome.action_expires_at
    expires_at = int(expires.timestamp()) if expires else None
    if outcome.action_type == "redirect_to_url":
        return {
            "type": "redirect_to_url",
            "redirect_to_url": {"url": outcome.action_url, "return_url": intent.return_url},
        }
    if outcome.action_type == "upi_collect":
        return {"type": "upi_collect", "upi_collect": {"expires_at": expires_at}}
    if outcome.action_type == "upi_intent":
        return {
            "type": "upi_intent",
            "upi_intent": {"url": outcome.action_url, "expires_at": expires_at},
        }
    return None


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
        await capture_charge(session, charge, charge.amount, authorize=True)
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
    if intent.setup_future_usage is not None:
        # Saved for later as Stripe does once the payment is authorized: attached to the
        # customer, and for off_session the network transaction id kept as its credential.
        await payment_method_service.save_for_later(
            session,
            charge.payment_method_id,
            intent.customer_id,
            off_session=intent.setup_future_usage == "off_session",
            network_transaction_id=charge.rail_details.get("network_transaction_id"),
        )
    await session.flush()
    await record(session, charge, ChargeEvent.succeeded)
    if captured_by_rail:
        await record(session, intent, PaymentIntentEvent.succeeded)
    else:
        await record(session, intent, PaymentIntentEvent.amount_capturable_updated)


async def capture_charge(
    session: AsyncSession, charge: ChargeRow, amount: int, *, authorize: bool = False
) -> None:
    """Posts the hold for ``amount`` with the platform fee, and the balance transaction: one
    ledger batch, with the hold itself first when ``authorize`` (an authorization captured at
    once) and the funds made available when they are at once."""
    config = settings()
    fee = platform_fee(amount, config.payments_fee_bps, config.payments_fee_fixed_minor)
    chart = Chart(charge.merchant_id, charge.livemode, charge.currency)
    clock = await clocks.clock_time(session, charge.livemode, charge.customer_id)
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
        now=clock.frozen_time if clock is not None else None,
    )
    transaction.test_clock = clock.clock_id if clock is not None else None
    session.add(transaction)
    transfers = [postings.hold_transfer(chart, charge.rail, charge.id, charge.amount)]
    transfers = transfers if authorize else []
    transfers += postings.capture_transfers(
        chart, charge.id, amount, fee, increments=charge.authorization_increments
    )
    if transaction.status == "available":
        transfers += postings.available_transfers(chart, transaction.id, transaction.net)
    # Connect: a destination charge's transfer and application fee, in this same batch.
    transfers += await destination_postings(session, charge, amount, transaction)
    await postings.write(session, chart, charge.rail, transfers)
    charge.captured = True
    charge.amount_captured = amount
    charge.balance_transaction_id = transaction.id
    charge.updated_at = utcnow()
    await receipt_due(session, charge)  # an outbox row, sent after commit


async def fail_waiting_charge(
    session: AsyncSession, charge: ChargeRow, code: str, message: str
) -> None:
    """A charge that waited for the payer or the rail and will not be completed: it fails, and
    the rail is told to release whatever it may hold for it."""
    if charge.rail_reference is not None and ":" not in charge.rail_reference:
        # Asked of the rail once this commits (never "refused:…", which the rail never took).
        await void_later(
            session, Rail(charge.rail), charge.livemode, f"{charge.id}:void", charge.rail_reference
        )
    if charge.authorized and not charge.captured and not charge.voided:
        await postings.void(session, charge.id, charge.authorization_increments)
        charge.voided = True
    charge.status = "failed"
    charge.failure_code = code
    charge.failure_message = message
    charge.next_check_at = None
    charge.updated_at = utcnow()
    await release_limits(session, charge)
    await session.flush()
    await record(session, charge, ChargeEvent.failed)


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
    intent, charge = await lock_pair(session, found, outcome.request_id)
    await apply_outcome(session, intent, charge, outcome)


async def waits_for_payer(session: AsyncSession, charge_id: str) -> bool:
    """The rail may still take the payer's money for ``charge_id``: it is its intent's latest
    attempt and the intent waits for the payer (``requires_action``). False once the intent
    is canceled or tried again, before the old request's void reaches the rail (registered
    with ``rails.on_payable`` by the composition root)."""
    charge = await session.get(ChargeRow, charge_id)
    if charge is None:
        return True  # not a payment of ours: nothing to object to
    intent = await session.get(PaymentIntentRow, charge.payment_intent_id, populate_existing=True)
    return (
        intent is not None
        and intent.status == Status.requires_action
        and intent.latest_charge_id == charge.id
    )
