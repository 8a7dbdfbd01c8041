"""Refund use cases. Never commit but through ``phases``.

A refund is made in three phases, and no lock of ours is held while the rail answers
(docs/api.md, "Refunds"):

1. The charge's row is locked, so the refunds of one charge are made one at a time: each sees
   the amount already refunded (pending refunds included) and none can take the total past the
   amount captured — 100 concurrent ₹1 refunds of a ₹10 charge make exactly 10. The refund is
   written ``pending``, its money held from the merchant's balance with its balance transaction,
   and ``next_check_at`` set, so that the reconciliation job finds it whatever happens next;
   then ``phases.checkpoint("refund:<id>")`` commits.
2. The rail is asked to refund, with the refund's id as its request id, outside any
   transaction (it works in a transaction of its own).
3. The charge and the refund are locked again and the answer applied (:func:`_settle`): the
   hold is posted when the rail refunded, voided (given back) when it failed; a pending answer
   waits for the rail's callback or a status check. A refund already final ignores a repeat.

A process killed between the phases leaves a pending refund with no ``rail_reference``: the
retry with the same ``Idempotency-Key`` (after ``RECOVERY_LEASE_S``) resumes at the recovery
point, and the status check job asks the rail again, both with the same request id — the rail
refunds a request id once — and apply the answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.pagination import created_conditions, scoped, scoped_page
from beyondpay.db.phases import Phases
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.logging import get_logger
from beyondpay.kit.params import merge_metadata
from beyondpay.merchants.domain import Caller
from beyondpay.payments.service import (
    ChargeRow,
    PlatformRecord,
    charge_service,
    payment_intent_service,
    rail_answer_wait,
)
from beyondpay.rails.protocol import Rail, RailOutcome
from beyondpay.rails.service import connector_for, next_status_check
from beyondpay.refunds.errors import (
    ChargeAlreadyRefundedError,
    ChargeDisputedError,
    RefundAmountTooLargeError,
    RefundUnexpectedStateError,
)
from beyondpay.refunds.events import RefundEvent, record
from beyondpay.refunds.models import RefundRow
from beyondpay.refunds.schemas import (
    RefundCreateParams,
    RefundListParams,
    RefundUpdateParams,
)

_log = get_logger(__name__)
RECOVERY_PREFIX: Final = "refund:"
# The one status a refund may be canceled from (it waits for the customer: Stripe's rule).
CANCELABLE: Final = "requires_action"


async def _charge_to_refund(
    session: AsyncSession, caller: Caller, params: RefundCreateParams
) -> tuple[ChargeRow, str]:
    """The charge the refund is of, locked (refunds of one charge run one at a time), and the
    parameter that named it."""
    if (params.charge is None) == (params.payment_intent is None):
        raise InvalidRequestError(
            "You must pass exactly one of charge or payment_intent.",
            param="charge" if params.charge is None else "payment_intent",
        )
    if params.charge is not None:
        charge_id, param = params.charge, "charge"
    else:
        charge_id = await payment_intent_service.latest_charge_of(
            session, caller, str(params.payment_intent), param="payment_intent"
        )
        param = "payment_intent"
    charge = await charge_service.lock_for_refund(session, caller, charge_id, param=param)
    if charge.status != "succeeded" or not charge.captured:
        raise InvalidRequestError(
            f"Charge {charge.id} has not been captured: there is nothing to refund.",
            param=param,
        )
    if charge.disputed:
        # The network took the money back already: a refund would pay the customer twice.
        raise ChargeDisputedError(
            f"Charge {charge.id} has been charged back; cannot issue a refund.", param=param
        )
    return charge, param


def _amount(charge: ChargeRow, asked: int | None, param: str) -> int:
    """The amount to refund: what was asked, or all that is left, never more than is left."""
    remaining = charge.amount_captured - charge.amount_refunded
    if remaining <= 0:
        raise ChargeAlreadyRefundedError(
            f"Charge {charge.id} has already been refunded.", param=param
        )
    amount = asked if asked is not None else remaining
    if amount > remaining:
        raise RefundAmountTooLargeError(
            f"Refund amount ({amount}) is greater than the charge's unrefunded amount"
            f" ({remaining}).",
            param="amount",
        )
    return amount


def _new_refund(charge: ChargeRow, params: RefundCreateParams, amount: int) -> RefundRow:
    now = utcnow()
    return RefundRow(
        id=new_id("re"),
        merchant_id=charge.merchant_id,
        livemode=charge.livemode,
        charge_id=charge.id,
        payment_intent_id=charge.payment_intent_id,
        amount=amount,
        currency=charge.currency,
        status="pending",
        reason=params.reason,
        rail=charge.rail,
        metadata_=merge_metadata(
            {}, params.metadata if isinstance(params.metadata, dict) else None
        ),
        checks_made=0,
        # Found by the status check job if this request dies before the rail's answer.
        # The status job first looks at a refund whose answer was never applied (its
        # process died between the phases) after the settings' rail_answer_wait_s, the
        # API's lease too. Earlier or later is harmless: the rail refunds a request id once.
        next_check_at=now + rail_answer_wait(),
        created_at=now,
        updated_at=now,
    )


@dataclass(frozen=True, slots=True)
class DestinationRefund:
    """What Connect hears of a refund of a destination charge that asked for the transfer
    (``reverse_transfer``) or the application fee (``refund_application_fee``) back, in the
    refund's creating transaction, the charge's row locked: refunds of one charge are heard
    one at a time; ``charge_refunded`` is all the charge's refunds, this one counted."""

    refund_id: str
    charge_id: str
    amount: int
    charge_amount: int
    charge_refunded: int
    transfer_id: str | None
    application_fee_id: str | None
    reverse_transfer: bool
    refund_application_fee: bool


DestinationRefundHandler = Callable[[AsyncSession, DestinationRefund], Awaitable[None]]
_destination_handlers: list[DestinationRefundHandler] = []


def on_destination_refund(handler: DestinationRefundHandler) -> None:
    """Registered by the composition root (``app.wire_settlement``): Connect sits above."""
    if handler not in _destination_handlers:
        _destination_handlers.append(handler)


def _check_destination(charge: ChargeRow, params: RefundCreateParams) -> None:
    """Stripe: ``reverse_transfer`` and ``refund_application_fee`` are for a charge with a
    destination (``transfer_data``) only."""
    for param in ("reverse_transfer", "refund_application_fee"):
        if getattr(params, param) and charge.transfer_destination is None:
            raise InvalidRequestError(
                f"{param} can only be used on a charge with a destination"
                f" (transfer_data[destination]); charge {charge.id} has none.",
                param=param,
            )


async def _refund_destination(
    session: AsyncSession, charge: ChargeRow, refund: RefundRow, params: RefundCreateParams
) -> None:
    if not (params.reverse_transfer or params.refund_application_fee):
        return
    heard = DestinationRefund(
        refund_id=refund.id,
        charge_id=charge.id,
        amount=refund.amount,
        charge_amount=charge.amount_captured,
        charge_refunded=charge.amount_refunded,
        transfer_id=charge.transfer_id,
        application_fee_id=charge.application_fee_id,
        reverse_transfer=bool(params.reverse_transfer),
        refund_application_fee=bool(params.refund_application_fee),
    )
    for handler in _destination_handlers:
        await handler(session, heard)


class RefundService:
    async def create(
        self, session: AsyncSession, caller: Caller, params: RefundCreateParams, phases: Phases
    ) -> RefundRow:
        if phases.recovery_point.startswith(RECOVERY_PREFIX):
            # A retry of a request that died after its first phase: the same refund, finished.
            refund_id = phases.recovery_point.removeprefix(RECOVERY_PREFIX)
            return await _finish(session, phases, await self.get(session, caller, refund_id))
        charge, param = await _charge_to_refund(session, caller, params)
        _check_destination(charge, params)
        refund = _new_refund(charge, params, _amount(charge, params.amount, param))
        refund.balance_transaction_id = await charge_service.hold_refund(
            session, charge, refund.id, refund.amount
        )
        session.add(refund)
        await session.flush()
        await record(session, refund, RefundEvent.created)
        # Before the rail is asked: the reversal commits with the refund's first phase.
        await _refund_destination(session, charge, refund, params)
        return await _finish(session, phases, refund, str(charge.rail_reference))

    async def get(self, session: AsyncSession, caller: Caller, refund_id: str) -> RefundRow:
        statement = scoped(RefundRow, caller.merchant, caller.livemode, RefundRow.id == refund_id)
        row: RefundRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("refund", refund_id)
        return row

    async def update(
        self, session: AsyncSession, caller: Caller, refund_id: str, params: RefundUpdateParams
    ) -> RefundRow:
        statement = scoped(
            RefundRow, caller.merchant, caller.livemode, RefundRow.id == refund_id
        ).with_for_update()
        refund: RefundRow | None = (await session.execute(statement)).scalar_one_or_none()
        if refund is None:
            raise ResourceMissingError.for_object("refund", refund_id)
        if "metadata" in params.model_fields_set:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            refund.metadata_ = merge_metadata(refund.metadata_, metadata)
            refund.updated_at = utcnow()
            await session.flush()
            await record(session, refund, RefundEvent.updated)
        return refund

    async def cancel(self, session: AsyncSession, caller: Caller, refund_id: str) -> RefundRow:
        """Cancel a refund waiting for the customer's action (Stripe: only ``requires_action``
        refunds can be canceled; card refunds never wait for one, so theirs are refused). The
        refund's hold is voided: its money is back in the balance, shown by its
        ``failure_balance_transaction``."""
        found = await self.get(session, caller, refund_id)
        charge, refund = await _locked_existing(session, found.id)
        if refund.status != CANCELABLE:
            raise RefundUnexpectedStateError(
                f"You cannot cancel this refund because it has a status of {refund.status}."
                f" Only refunds with a status of {CANCELABLE} can be canceled.",
                param="refund",
            )
        refund.failure_balance_transaction_id = await charge_service.settle_refund(
            session, charge, refund.id, refund.amount, succeeded=False
        )
        refund.status = "canceled"
        refund.next_check_at = None
        refund.updated_at = utcnow()
        await session.flush()
        await record(session, refund, RefundEvent.updated)
        return refund

    async def list(
        self, session: AsyncSession, caller: Caller, params: RefundListParams
    ) -> tuple[Sequence[RefundRow], bool]:
        conditions: list[Any] = list(created_conditions(RefundRow.created_at, params.created))
        if params.charge is not None:
            conditions.append(RefundRow.charge_id == params.charge)
        if params.payment_intent is not None:
            conditions.append(RefundRow.payment_intent_id == params.payment_intent)
        return await scoped_page(
            session,
            RefundRow,
            caller.merchant,
            caller.livemode,
            params,
            *conditions,
            object_name="refund",
        )


async def _finish(
    session: AsyncSession, phases: Phases, refund: RefundRow, charge_reference: str | None = None
) -> RefundRow:
    """Phases 2 and 3 of a refund written pending: commit, ask the rail outside any transaction,
    apply its answer in a new short transaction. A refund the rail has answered already (it
    has its ``rail_reference``) is left to the rail's callback and the status checks.

    Why no deadlock: no transaction of ours holds the rail's rows (its operations, its banks'
    ledger accounts) and ours (the charge, the refund, the merchant's ledger accounts) at once —
    phase 1 and phase 3 take only ours, charge first then refund, and the rail's own
    transaction takes only its own. (Before the phases, one transaction held both and had to
    take them in one order, the rail's first, as a UPI callback does.) A rail's callback that
    reaches :func:`handle_rail_outcome` in the rail's transaction takes the rail's rows, then
    ours in the same order as the phases: still one order for every path.
    """
    if refund.status != "pending" or refund.rail_reference is not None:
        return refund
    refund_id, amount, rail, livemode = refund.id, refund.amount, refund.rail, refund.livemode
    if charge_reference is None:
        charge = await charge_service.charge_for_refund_outcome(session, refund.charge_id)
        charge_reference = str(charge.rail_reference)
    await phases.checkpoint(f"{RECOVERY_PREFIX}{refund_id}")
    connector = connector_for(Rail(rail), livemode)
    outcome = await connector.refund(session, refund_id, charge_reference, amount)
    charge, refund = await _locked_existing(session, refund_id)
    await _settle(session, charge, refund, outcome, announce=True)
    return refund


async def _settle(
    session: AsyncSession,
    charge: ChargeRow,
    refund: RefundRow,
    outcome: RailOutcome,
    *,
    announce: bool,
) -> None:
    """The rail's answer about a pending refund (charge and refund locked)."""
    if refund.status != "pending":
        return
    now = utcnow()
    if refund.rail_reference is None:
        refund.rail_reference = outcome.reference
    if outcome.status in ("pending", "requires_action"):
        refund.next_check_at = (
            outcome.check_after
            or next_status_check(Rail(refund.rail), refund.checks_made, refund.created_at)
            or now
        )
        refund.updated_at = now
        await session.flush()
        return
    succeeded = outcome.status == "succeeded"
    failure_transaction = await charge_service.settle_refund(
        session, charge, refund.id, refund.amount, succeeded=succeeded
    )
    refund.status = "succeeded" if succeeded else "failed"
    if not succeeded:
        refund.failure_reason = _failure_reason(outcome)
        refund.failure_balance_transaction_id = failure_transaction
    refund.next_check_at = None
    refund.updated_at = now
    await session.flush()
    if announce:
        await record(session, refund, RefundEvent.updated)
        if not succeeded:
            await record(session, refund, RefundEvent.failed)


def _failure_reason(outcome: RailOutcome) -> str:
    # Stripe's reasons: lost_or_stolen_card, expired_or_canceled_card, charge_for_pending_refund_
    # disputed, insufficient_funds, declined, merchant_request, unknown.
    if outcome.decline_code in ("expired_card", "lost_card", "stolen_card"):
        return "expired_or_canceled_card"
    return "declined" if outcome.decline_code else "unknown"


async def _locked(session: AsyncSession, refund_id: str) -> tuple[ChargeRow, RefundRow] | None:
    charge_id = (
        await session.execute(select(RefundRow.charge_id).where(RefundRow.id == refund_id))
    ).scalar_one_or_none()
    if charge_id is None:
        return None
    # The charge first, then the refund: the order creation locks them in.
    charge = await charge_service.charge_for_refund_outcome(session, charge_id)
    refund = (
        await session.execute(select(RefundRow).where(RefundRow.id == refund_id).with_for_update())
    ).scalar_one()
    return charge, refund


async def _locked_existing(session: AsyncSession, refund_id: str) -> tuple[ChargeRow, RefundRow]:
    locked = await _locked(session, refund_id)
    invariant(locked is not None, "a refund is never deleted")
    assert locked is not None
    return locked


async def handle_rail_outcome(session: AsyncSession, outcome: RailOutcome) -> None:
    """What a rail reports by itself about a refund."""
    if outcome.operation != "refund":
        return
    locked = await _locked(session, outcome.request_id)
    if locked is None:
        _log.warning("rail_outcome_unknown_refund", rail_reference=outcome.reference)
        return
    charge, refund = locked
    await _settle(session, charge, refund, outcome, announce=True)


async def check_refund(session: AsyncSession, refund_id: str, phases: Phases) -> str:
    """One status check of a pending refund, outside any transaction of ours: read, commit, ask
    the rail, then lock and apply. A refund whose rail was asked but whose answer was never
    applied (no ``rail_reference``) is asked again with the same request id. When the rail's
    pacing allows no more checks, the refund fails and its money goes back to the merchant's
    balance."""
    refund = await session.get(RefundRow, refund_id, populate_existing=True)
    if refund is None:
        return "missing"
    if refund.status != "pending" or refund.next_check_at is None:
        return refund.status
    if refund.rail_reference is None:
        return (await _finish(session, phases, refund)).status
    reference, rail, livemode = refund.rail_reference, Rail(refund.rail), refund.livemode
    await phases.checkpoint(f"refund_status:{refund_id}")
    outcome = await connector_for(rail, livemode).status(session, reference)
    charge, refund = await _locked_existing(session, refund_id)
    if refund.status != "pending" or refund.next_check_at is None:
        return refund.status  # answered meanwhile (a callback, another check)
    refund.checks_made += 1
    if outcome.final:
        await _settle(session, charge, refund, outcome, announce=True)
        return refund.status
    following = next_status_check(rail, refund.checks_made, refund.created_at)
    if following is None:
        failed = RailOutcome(
            operation="refund",
            status="failed",
            reference=outcome.reference,
            request_id=refund.id,
            amount_minor=refund.amount,
            currency=refund.currency,
            message="The rail gave no final answer in time.",
        )
        await _settle(session, charge, refund, failed, announce=True)
    else:
        refund.next_check_at = following
        refund.updated_at = utcnow()
    return refund.status


async def due_refunds(session: AsyncSession, limit: int) -> list[str]:
    rows = await session.execute(
        select(RefundRow.id)
        .where(RefundRow.next_check_at <= utcnow(), RefundRow.status == "pending")
        .order_by(RefundRow.next_check_at)
        .limit(limit)
    )
    return list(rows.scalars())


refund_service = RefundService()


async def succeeded_refunds(
    session: AsyncSession,
    rail: str,
    livemode: bool,
    *,
    keys: Sequence[str] = (),
    between: tuple[datetime, datetime] | None = None,
) -> list[PlatformRecord]:
    """Refunds the rail made (``succeeded``), for reconciliation against the rail's file: those
    with the rail's references ``keys``, or made ``between`` (an IST day's bounds)."""
    statement = select(RefundRow).where(
        RefundRow.rail == rail,
        RefundRow.livemode == livemode,
        RefundRow.status == "succeeded",
        RefundRow.rail_reference.is_not(None),
    )
    if between is not None:
        statement = statement.where(
            RefundRow.created_at >= between[0], RefundRow.created_at < between[1]
        )
    else:
        statement = statement.where(RefundRow.rail_reference.in_(list(keys)))
    return [
        PlatformRecord(
            key=str(row.rail_reference),
            object_id=row.id,
            merchant_id=row.merchant_id,
            amount_minor=row.amount,
            currency=row.currency,
            occurred_at=row.created_at,
            ledger_transfer_id=f"{row.id}:hold",
        )
        for row in await session.scalars(statement)
    ]
