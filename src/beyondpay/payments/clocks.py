"""Payments on test clocks: what time it is for a payment whose customer is on a clock, and
what happens to the clock's payments when it advances (``test_clocks.timeline``).

A payment for a customer on a clock is stamped at the clock's frozen time: the intent's and the
charge's ``created``, and its balance transaction's ``created`` and ``available_on`` (so funds
become available some days of the *clock's* time later). Such a balance transaction names its
clock: the real-time job (``balance.release_due_funds``) leaves it alone, and the clock's
advances make it available (:func:`release_funds_on_clock`, ``Stage.funds``, wired in
``app.wire_test_clocks``). A payment waiting for its payer whose time to answer (a UPI collect
or intent link) runs out on the clock's time fails when the clock passes it
(:func:`expire_payer_actions_on_clock`, ``Stage.expiry``). Live mode has no clocks, and asks
nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.customers.service import customer_service
from beyondpay.kit.ids import id_timestamp_ms
from beyondpay.payments import postings
from beyondpay.payments.charges import lock_pair
from beyondpay.payments.domain import Chart, Status
from beyondpay.payments.models import BalanceTransactionRow, ChargeRow, PaymentIntentRow
from beyondpay.payments.outcomes import decline
from beyondpay.rails.protocol import Rail, RailOutcome
from beyondpay.rails.service import void_later
from beyondpay.test_clocks.domain import ClockTime
from beyondpay.test_clocks.timeline import Interval

RELEASES_PER_BATCH_MAX: Final = 500


async def clock_time(
    session: AsyncSession, livemode: bool, customer_id: str | None
) -> ClockTime | None:
    """The clock of a payment's customer, if it has one (never in live mode)."""
    if livemode or customer_id is None:
        return None
    return await customer_service.clock_time(session, customer_id)


async def release_funds_on_clock(session: AsyncSession, interval: Interval) -> None:
    """Makes available, in ``available_on`` order, the funds of the clock's payments whose
    ``available_on`` falls by the interval's end. Idempotent: only pending rows are taken, and
    the ledger's transfer id (``<txn>:available``) moves nothing twice."""
    while True:
        rows = list(
            (
                await session.execute(
                    select(BalanceTransactionRow)
                    .where(
                        BalanceTransactionRow.test_clock == interval.clock_id,
                        BalanceTransactionRow.status == "pending",
                        BalanceTransactionRow.available_on <= interval.end,
                    )
                    .order_by(BalanceTransactionRow.available_on, BalanceTransactionRow.id)
                    .limit(RELEASES_PER_BATCH_MAX)
                    .with_for_update()
                )
            ).scalars()
        )
        for row in rows:
            chart = Chart(row.merchant_id, row.livemode, row.currency)
            await postings.make_available(session, chart, row.id, row.net)
            row.status = "available"
        await session.flush()
        if len(rows) < RELEASES_PER_BATCH_MAX:
            return


def _expires_on_clock(intent: PaymentIntentRow, charge: ChargeRow) -> datetime | None:
    """When the payer's time to answer ends, on the clock: the rail gave it as a wall-clock
    moment (``next_action.…expires_at``), counted from the charge's minting (its id's time);
    the same span from the charge's ``created`` (the clock's time when it was made)."""
    action = intent.next_action or {}
    details = action.get(str(action.get("type")))
    expires_at = details.get("expires_at") if isinstance(details, dict) else None
    if not isinstance(expires_at, int):
        return None  # no expiry known (a 3-D Secure page): it waits, as in real time
    span_ms = expires_at * 1_000 - id_timestamp_ms(charge.id)
    return charge.created_at + timedelta(milliseconds=max(span_ms, 0))


async def expire_payer_actions_on_clock(session: AsyncSession, interval: Interval) -> None:
    """Payments of the clock's customers waiting for their payer, whose time to answer ends by
    the interval's end, fail as the rail's expiry would (``payment_intent_payment_attempt_expired``;
    a UPI collect's NPCI code U69), and the rail is asked to release what it holds once this
    commits. Idempotent: a charge no longer pending is left alone."""
    customers = await customer_service.ids_on_clock(session, interval.clock_id)
    if not customers:
        return
    waiting = await session.execute(
        select(PaymentIntentRow.id, ChargeRow.id)
        .join(ChargeRow, ChargeRow.id == PaymentIntentRow.latest_charge_id)
        .where(
            PaymentIntentRow.customer_id.in_(customers),
            PaymentIntentRow.status == Status.requires_action,
            ChargeRow.status == "pending",
            ChargeRow.rail_operation.is_(None),
        )
        .order_by(ChargeRow.created_at, ChargeRow.id)
    )
    for intent_id, charge_id in waiting.all():
        intent, charge = await lock_pair(session, intent_id, charge_id)
        expires = _expires_on_clock(intent, charge)
        if charge.status != "pending" or expires is None or expires > interval.end:
            continue
        await _expire(session, intent, charge)


async def _expire(session: AsyncSession, intent: PaymentIntentRow, charge: ChargeRow) -> None:
    expired = RailOutcome(
        operation="authorize",
        status="failed",
        reference=charge.rail_reference or charge.id,
        request_id=charge.id,
        amount_minor=charge.amount,
        currency=charge.currency,
        code="U69" if charge.rail == Rail.upi else None,
        failure_code="payment_intent_payment_attempt_expired",
        decline_code="processing_error",
        message="The payer did not answer in time.",
    )
    await decline(session, intent, charge, expired)
    if charge.rail_reference is not None and ":" not in charge.rail_reference:
        await void_later(
            session, Rail(charge.rail), charge.livemode, f"{charge.id}:void", charge.rail_reference
        )
