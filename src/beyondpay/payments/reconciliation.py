"""Charges the reconciliation job finishes: an operation asked of a rail and never applied (its
process died between the phases), or a charge waiting for its rail whose status check is due.
Every step runs outside a transaction of ours while the rail answers, as a request's phases do.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.clock import utcnow
from beyondpay.kit.invariants import invariant
from beyondpay.payments.charges import AUTHORIZE, CAPTURE, INCREMENT, lock_pair
from beyondpay.payments.domain import Status
from beyondpay.payments.models import ChargeRow, PaymentIntentRow
from beyondpay.payments.operations import (
    apply_capture,
    apply_increment,
    ask_capture,
    ask_increment,
    authorize_on_rail,
    request_for,
)
from beyondpay.payments.outcomes import apply_outcome, decline, fail_waiting_charge
from beyondpay.payments.settings import key_ring
from beyondpay.rails.protocol import Rail, RailOutcome
from beyondpay.rails.service import connector_for, next_status_check, void_later


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
        request = await request_for(session, key_ring(), intent, charge)
        await authorize_on_rail(session, connector, request, intent.id)
    elif charge.rail_operation == CAPTURE:
        await session.commit()
        await apply_capture(session, intent.id, charge.id, await ask_capture(session, charge))
    elif charge.rail_operation == INCREMENT:
        await session.commit()
        await apply_increment(session, intent.id, charge.id, await ask_increment(session, charge))
    elif charge.status == "pending" and charge.next_check_at is not None:
        await session.commit()
        await _status_check(session, intent.id, charge)
    status = charge.status
    await session.commit()
    return status


async def _status_check(session: AsyncSession, intent_id: str, asked: ChargeRow) -> None:
    if asked.rail_reference is None:
        intent, charge = await lock_pair(session, intent_id, asked.id)
        if charge.status == "pending":
            await fail_waiting_charge(
                session, charge, "processing_error", "The rail never answered."
            )
        return
    connector = connector_for(Rail(asked.rail), asked.livemode)
    outcome = await connector.status(session, asked.rail_reference)
    intent, charge = await lock_pair(session, intent_id, asked.id)
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
        await decline(session, intent, charge, timeout)
        await void_later(
            session, Rail(charge.rail), charge.livemode, f"{charge.id}:void", outcome.reference
        )
    else:
        await fail_waiting_charge(
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
