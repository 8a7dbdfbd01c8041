"""Payout use cases. Never commit but through ``phases``.

A payout is made in phases, and no lock of ours is held while the rail answers
(docs/settlement.md, "Payouts"):

1. The merchant's payout schedule row is locked (payouts of one merchant are made one at a
   time; no row shared by all merchants), the available balance read from the ledger and the
   payout refused if it is more. The payout is written ``pending`` with its ``payout``
   balance transaction and its ledger transfer (available → payouts in transit), its event,
   and ``next_check_at`` (found by the job whatever happens next). A payout whose destination
   is in its cooling hold stops here: the job sends it when the hold ends.
2. ``rail_requested_at`` is set (from then on it cannot be canceled) and
   ``phases.checkpoint("payout:<id>")`` commits; the rail is asked outside any transaction,
   with the payout's id as its request id.
3. The payout is locked again and the answer applied (:func:`_apply`): ``paid`` (the money
   leaves the platform), ``failed`` (it comes back to available, with a ``payout_failure``
   balance transaction), or ``in_transit`` (a NEFT batch to come, a deemed credit to confirm).

A process killed between the phases leaves a pending payout with ``rail_requested_at`` and no
answer: the retry with the same ``Idempotency-Key`` resumes at the recovery point, and the job
asks the rail again, both with the same request id — the rail pays a request id once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db import jobs
from beyondpay.db.pagination import created_conditions, scoped, scoped_page
from beyondpay.db.phases import Phases
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.logging import get_logger
from beyondpay.kit.params import merge_metadata
from beyondpay.merchants.domain import Caller
from beyondpay.payments.service import PayoutStep, payout_funds_service, rail_answer_wait
from beyondpay.rails.errors import PayoutRailUnusableError
from beyondpay.rails.payout_domain import PAYOUT_AMOUNT_MINOR_MAX
from beyondpay.rails.service import (
    PayoutOutcome,
    PayoutRail,
    PayoutRequest,
    choose_payout_rail,
    payout_connector_for,
)
from beyondpay.settlement.bank_accounts.service import bank_account_service
from beyondpay.settlement.payouts import domain
from beyondpay.settlement.payouts.domain import Interval, Status
from beyondpay.settlement.payouts.errors import (
    BalanceInsufficientError,
    ManualPayoutsNotAllowedError,
    PayoutDestinationError,
    PayoutUnexpectedStateError,
)
from beyondpay.settlement.payouts.events import PayoutEvent, record
from beyondpay.settlement.payouts.models import PayoutRow
from beyondpay.settlement.payouts.schedules import locked_schedule, merchant_caller
from beyondpay.settlement.payouts.schemas import (
    PayoutCreateParams,
    PayoutListParams,
    PayoutReverseParams,
    PayoutUpdateParams,
    payout_object,
)
from beyondpay.settlement.windows.service import ClosedWindow

_log = get_logger(__name__)
RECOVERY_PREFIX: Final = "payout:"
STATUS_PREFIX: Final = "payout_status:"
CURRENCY: Final = "inr"
# A payout still in transit is asked about this often, this many times, then left to an
# operator (it stays in_transit: its money is neither the merchant's nor known to be paid).
STATUS_CHECK_INTERVAL: Final = timedelta(minutes=5)
STATUS_CHECKS_MAX: Final = 20
# NEFT settles at its batch (the rail tells us); a status check after this grace if it did not.
NEFT_SETTLE_GRACE: Final = timedelta(minutes=5)
AUTOMATIC_ID_HEX_CHARS: Final = 24


def automatic_payout_id(merchant_id: str, livemode: bool, window_id: str) -> str:
    """The automatic payout of a window: named after it, so a repeat makes nothing twice."""
    digest = hashlib.sha256(f"{merchant_id}:{livemode}:{window_id}".encode()).hexdigest()
    return f"po_{digest[:AUTOMATIC_ID_HEX_CHARS]}"


def _preferred_rail(params: PayoutCreateParams) -> PayoutRail | None:
    """The rail asked for: ``rail``, or IMPS for Stripe's ``method=instant`` (instant at any
    hour, up to ₹5,00,000); both and in conflict is refused."""
    rail = PayoutRail(params.rail) if params.rail is not None else None
    if params.method == "instant":
        if rail not in (None, PayoutRail.imps):
            raise PayoutRailUnusableError(
                "method=instant pays by IMPS; it cannot go with another rail.",
                param="method",
                reason="destination_unsupported",
            )
        return PayoutRail.imps
    return rail


async def _destination(
    session: AsyncSession, caller: Caller, destination: str | None, currency: str
) -> str:
    """The verified bank account a payout goes to: the one named, or the currency's default."""
    if destination is None:
        account = await bank_account_service.payout_account(session, caller, currency)
        if account is None:
            raise PayoutDestinationError(
                "You have no bank account to pay out to: add one (external accounts).",
                param="destination",
            )
    else:
        try:
            account = await bank_account_service.get(session, caller, caller.merchant, destination)
        except ResourceMissingError:
            raise PayoutDestinationError(
                f"No such external account: '{destination}'.", param="destination"
            ) from None
    if account.status != "verified":
        raise PayoutDestinationError(
            f"The bank account {account.id} is {account.status}: only a verified account"
            " (its penny drop passed) can receive payouts.",
            param="destination",
        )
    return account.id


async def _record_step(
    session: AsyncSession, payout: PayoutRow, step: PayoutStep, description: str
) -> str:
    """One step of the payout's money (its balance transaction and ledger transfer, written
    by payments): the balance transaction's id."""
    return await payout_funds_service.record_step(
        session,
        merchant_id=payout.merchant_id,
        livemode=payout.livemode,
        payout_id=payout.id,
        rail=payout.rail,
        amount=payout.amount,
        currency=payout.currency,
        step=step,
        description=description,
    )


async def _make(session: AsyncSession, payout: PayoutRow) -> PayoutRow:
    """Phase 1's writes: the payout, its balance transaction and ledger transfer (last), its
    event, and when it is next looked at (the hold's end, or the job's recovery)."""
    now = utcnow()
    payout.held_until = await bank_account_service.payouts_held_until(
        session, merchant_caller(payout.merchant_id, payout.livemode), payout.currency
    )
    payout.next_check_at = payout.held_until or now + rail_answer_wait()
    session.add(payout)
    await session.flush()
    payout.balance_transaction_id = await _record_step(
        session, payout, "payout", payout.description or "STRIPE PAYOUT"
    )
    await session.flush()
    await record(session, payout, PayoutEvent.created)
    return payout


def _new_payout(
    merchant_id: str,
    livemode: bool,
    *,
    payout_id: str,
    amount: int,
    destination: str,
    rail: PayoutRail,
    arrival_at: datetime,
    automatic: bool,
) -> PayoutRow:
    now = utcnow()
    return PayoutRow(
        id=payout_id,
        merchant_id=merchant_id,
        livemode=livemode,
        amount=amount,
        currency=CURRENCY,
        status=Status.pending.value,
        automatic=automatic,
        method="standard",
        rail=rail.value,
        destination=destination,
        description=None,
        statement_descriptor=None,
        metadata_={},
        arrival_at=arrival_at,
        checks_made=0,
        created_at=now,
        updated_at=now,
    )


class PayoutService:
    async def create(
        self, session: AsyncSession, caller: Caller, params: PayoutCreateParams, phases: Phases
    ) -> PayoutRow:
        if phases.recovery_point.startswith(RECOVERY_PREFIX):
            # A retry of a request that died after its first phase: the same payout, finished.
            payout_id = phases.recovery_point.removeprefix(RECOVERY_PREFIX)
            found = await self.get(session, caller, payout_id)
            return await _send(session, phases, await _locked(session, found.id))
        currency = params.currency.lower()
        if currency != CURRENCY:
            raise InvalidRequestError(
                "Payouts are made in inr only (India's rails).", param="currency"
            )
        payout_connector_for(caller.livemode)  # live mode has no rail: refused before writing
        preferred = _preferred_rail(params)
        schedule = await locked_schedule(session, caller.merchant, caller.livemode)
        if schedule.interval != Interval.manual:
            raise ManualPayoutsNotAllowedError(
                f"You cannot create manual payouts while your payout schedule is automatic"
                f" (interval {schedule.interval}): set the interval to manual first."
            )
        destination = await _destination(session, caller, params.destination, currency)
        choice = choose_payout_rail(params.amount, currency, "bank_account", utcnow(), preferred)
        available = await payout_funds_service.available(
            session, caller.merchant, caller.livemode, currency
        )
        if params.amount > available:
            raise BalanceInsufficientError(
                f"You have insufficient funds in your available balance ({available}) for a"
                f" payout of {params.amount}.",
                param="amount",
            )
        payout = _new_payout(
            caller.merchant,
            caller.livemode,
            payout_id=new_id("po"),
            amount=params.amount,
            destination=destination,
            rail=choice.rail,
            arrival_at=choice.arrival_at,
            automatic=False,
        )
        payout.method = params.method
        payout.description = params.description
        payout.statement_descriptor = params.statement_descriptor
        payout.metadata_ = merge_metadata({}, _metadata(params.metadata))
        await _make(session, payout)
        if payout.held_until is not None:
            await _defer_send(session, payout)  # sent by the job when the cooling hold ends
            return payout
        return await _send(session, phases, payout)

    async def get(self, session: AsyncSession, caller: Caller, payout_id: str) -> PayoutRow:
        statement = scoped(PayoutRow, caller.merchant, caller.livemode, PayoutRow.id == payout_id)
        row: PayoutRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("payout", payout_id)
        return row

    async def update(
        self, session: AsyncSession, caller: Caller, payout_id: str, params: PayoutUpdateParams
    ) -> PayoutRow:
        payout = await _locked(session, (await self.get(session, caller, payout_id)).id)
        before = payout_object(payout)
        if "metadata" in params.model_fields_set:
            payout.metadata_ = merge_metadata(payout.metadata_, _metadata(params.metadata) or {})
        if "description" in params.model_fields_set:
            payout.description = params.description
        await _changed(session, payout, before)
        return payout

    async def cancel(self, session: AsyncSession, caller: Caller, payout_id: str) -> PayoutRow:
        """Cancel a payout the rail has not received (one waiting for its cooling hold): its
        money back to available, shown by its ``failure_balance_transaction``
        (``payout_cancel``, Stripe's type)."""
        payout = await _locked(session, (await self.get(session, caller, payout_id)).id)
        if payout.status != Status.pending or payout.rail_requested_at is not None:
            raise PayoutUnexpectedStateError(
                f"Payout {payout.id} cannot be canceled: the rail already has it (status"
                f" {payout.status}). Only a pending payout not yet sent can be canceled.",
                param="payout",
            )
        before = payout_object(payout)
        payout.failure_balance_transaction_id = await _record_step(
            session, payout, "payout_cancel", f"Cancellation of payout {payout.id}"
        )
        payout.status = Status.canceled.value
        payout.next_check_at = None
        await _changed(session, payout, before, PayoutEvent.canceled)
        return payout

    async def reverse(
        self, session: AsyncSession, caller: Caller, payout_id: str, params: PayoutReverseParams
    ) -> PayoutRow:
        """Reverse a paid payout: a new payout (``original_payout``) that brings its money back
        to available; the original's ``reversed_by`` names it. The sandbox bank returns the
        money at once (live mode has no rail)."""
        original = await _locked(session, (await self.get(session, caller, payout_id)).id)
        payout_connector_for(caller.livemode)  # live mode has no rail to pull it back by
        if (
            original.status != Status.paid
            or original.reversed_by_id is not None
            or original.original_payout_id is not None
        ):
            raise PayoutUnexpectedStateError(
                f"Payout {original.id} cannot be reversed: only a paid payout, not reversed"
                " and not itself a reversal, can be.",
                param="payout",
            )
        before = payout_object(original)
        reversal = _reversal_of(original, params)
        session.add(reversal)
        await session.flush()
        reversal.balance_transaction_id = await _record_step(
            session, reversal, "payout_reversal", f"Reversal of payout {original.id}"
        )
        original.reversed_by_id = reversal.id
        await session.flush()
        await record(session, reversal, PayoutEvent.created)
        await record(session, reversal, PayoutEvent.paid)
        await _changed(session, original, before)
        return reversal

    async def list(
        self, session: AsyncSession, caller: Caller, params: PayoutListParams
    ) -> tuple[Sequence[PayoutRow], bool]:
        conditions: list[Any] = list(created_conditions(PayoutRow.created_at, params.created))
        conditions += created_conditions(PayoutRow.arrival_at, params.arrival_date)
        if params.status is not None:
            conditions.append(PayoutRow.status == params.status)
        if params.destination is not None:
            conditions.append(PayoutRow.destination == params.destination)
        return await scoped_page(
            session,
            PayoutRow,
            caller.merchant,
            caller.livemode,
            params,
            *conditions,
            object_name="payout",
        )


def _metadata(value: dict[str, str] | str | None) -> dict[str, str] | None:
    return value if isinstance(value, dict) else None


def _reversal_of(original: PayoutRow, params: PayoutReverseParams) -> PayoutRow:
    reversal = _new_payout(
        original.merchant_id,
        original.livemode,
        payout_id=new_id("po"),
        amount=original.amount,
        destination=original.destination,
        rail=PayoutRail(original.rail),
        arrival_at=utcnow(),
        automatic=False,
    )
    reversal.status = Status.paid.value
    reversal.method = original.method
    reversal.original_payout_id = original.id
    reversal.metadata_ = merge_metadata({}, _metadata(params.metadata))
    return reversal


async def _changed(
    session: AsyncSession,
    payout: PayoutRow,
    before: dict[str, Any],
    also: PayoutEvent | None = None,
) -> None:
    """``payout.updated`` with what changed (nothing changed: no event), then ``also``."""
    payout.updated_at = utcnow()
    await session.flush()
    after = payout_object(payout)
    changed = {key: before[key] for key in after if before[key] != after[key]}
    if changed:
        await record(session, payout, PayoutEvent.updated, previous_attributes=changed)
    if also is not None:
        await record(session, payout, also)


async def _locked(session: AsyncSession, payout_id: str) -> PayoutRow:
    row: PayoutRow = (
        await session.execute(
            select(PayoutRow)
            .where(PayoutRow.id == payout_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    return row


async def _send(session: AsyncSession, phases: Phases, payout: PayoutRow) -> PayoutRow:
    """Phases 2 and 3 of a pending payout (locked): commit, ask the rail outside any
    transaction, apply its answer in a new short transaction. One whose cooling hold still
    runs waits (the hold may have been extended since); one the rail has answered is left to
    the rail's report and the status checks."""
    if payout.status != Status.pending or payout.rail_reference is not None:
        return payout
    now = utcnow()
    if payout.rail_requested_at is None and payout.automatic and _send_at(payout) > now:
        payout.next_check_at = _send_at(payout)  # an automatic payout leaves at its eta
        await session.flush()
        return payout
    owner = merchant_caller(payout.merchant_id, payout.livemode)
    if payout.rail_requested_at is None:
        held = await bank_account_service.payouts_held_until(session, owner, payout.currency)
        if held is not None:
            payout.held_until = payout.next_check_at = held
            await session.flush()
            return payout
    destination = await bank_account_service.payout_destination(session, owner, payout.destination)
    if destination is None:
        failed = _failure(payout, "no_account", "The bank account was deleted before sending.")
        await _apply(session, payout, failed)
        return payout
    payout.rail_requested_at = payout.rail_requested_at or now
    payout.next_check_at = now + rail_answer_wait()
    request = PayoutRequest(
        request_id=payout.id,
        merchant_id=payout.merchant_id,
        livemode=payout.livemode,
        amount_minor=payout.amount,
        currency=payout.currency,
        rail=PayoutRail(payout.rail),
        destination=destination,
        narration=payout.statement_descriptor,
    )
    await phases.checkpoint(f"{RECOVERY_PREFIX}{payout.id}")
    outcome = await payout_connector_for(request.livemode).payout(session, request)
    payout = await _locked(session, request.request_id)
    await _apply(session, payout, outcome)
    return payout


def _failure(payout: PayoutRow, code: str, message: str) -> PayoutOutcome:
    return PayoutOutcome(
        request_id=payout.id,
        reference=payout.rail_reference or payout.id,
        rail=PayoutRail(payout.rail),
        status="failed",
        amount_minor=payout.amount,
        currency=payout.currency,
        utr=payout.utr,
        destination_masked="",
        failure_code=code,
        failure_message=message,
    )


async def _apply(session: AsyncSession, payout: PayoutRow, outcome: PayoutOutcome) -> None:
    """The rail's answer about a payout (locked); a payout already final ignores a repeat."""
    if payout.status not in domain.OPEN_STATUSES:
        return
    invariant(outcome.request_id == payout.id, "the rail answered about this payout")
    invariant(
        outcome.amount_minor == payout.amount and outcome.currency == payout.currency,
        "the rail answered for the payout's amount",
    )
    before = payout_object(payout)
    now = utcnow()
    payout.rail_reference = payout.rail_reference or outcome.reference
    payout.utr = outcome.utr or payout.utr
    if outcome.arrival_at is not None:
        payout.arrival_at = outcome.arrival_at
    also: PayoutEvent | None = None
    if outcome.status in ("pending", "in_transit"):
        payout.status = Status.in_transit.value
        payout.next_check_at = outcome.check_after or (
            (outcome.arrival_at or now) + NEFT_SETTLE_GRACE
        )
    elif outcome.status == "paid":
        await payout_funds_service.paid(
            session,
            merchant_id=payout.merchant_id,
            livemode=payout.livemode,
            payout_id=payout.id,
            rail=payout.rail,
            amount=payout.amount,
            currency=payout.currency,
        )
        payout.status, payout.next_check_at, also = Status.paid.value, None, PayoutEvent.paid
    else:
        payout.failure_balance_transaction_id = await _record_step(
            session, payout, "payout_failure", f"Payout failure for {payout.id}"
        )
        payout.failure_code = outcome.failure_code or "could_not_process"
        payout.failure_message = outcome.failure_message
        payout.status, payout.next_check_at, also = Status.failed.value, None, PayoutEvent.failed
    await _changed(session, payout, before, also)


async def handle_payout_outcome(session: AsyncSession, outcome: PayoutOutcome) -> None:
    """What the payout rail reports by itself (a NEFT batch settled), in its transaction."""
    found = (
        await session.execute(select(PayoutRow.id).where(PayoutRow.id == outcome.request_id))
    ).scalar_one_or_none()
    if found is None:
        _log.warning("payout_outcome_unknown_payout", rail_reference=outcome.reference)
        return
    await _apply(session, await _locked(session, found), outcome)


async def advance_payout(session: AsyncSession, payout_id: str, phases: Phases) -> str:
    """The job's step for one payout: send a pending one (its hold over, or its rail answer
    never applied: asked again with the same request id), check an in-transit one. Safe to run
    twice or at once: the payout's row lock and its status."""
    payout = await session.get(PayoutRow, payout_id, populate_existing=True, with_for_update=True)
    if payout is None:
        return "missing"
    if payout.status == Status.pending:
        return (await _send(session, phases, payout)).status
    if payout.status != Status.in_transit or payout.next_check_at is None:
        return payout.status
    if payout.next_check_at > utcnow():
        return payout.status
    reference, livemode = str(payout.rail_reference), payout.livemode
    await phases.checkpoint(f"{STATUS_PREFIX}{payout_id}")
    outcome = await payout_connector_for(livemode).status(session, reference)
    payout = await _locked(session, payout_id)
    if payout.status != Status.in_transit:
        return payout.status  # answered meanwhile (the rail's report, another check)
    payout.checks_made += 1
    if outcome.final:
        await _apply(session, payout, outcome)
    elif payout.checks_made >= STATUS_CHECKS_MAX:
        _log.warning("payout_in_transit_unresolved", payout=payout_id)
        payout.next_check_at = None
    else:
        payout.next_check_at = outcome.check_after or utcnow() + STATUS_CHECK_INTERVAL
    await session.flush()
    return payout.status


async def due_payouts(session: AsyncSession, limit: int) -> list[str]:
    rows = await session.execute(
        select(PayoutRow.id)
        .where(PayoutRow.next_check_at <= utcnow(), PayoutRow.status.in_(domain.OPEN_STATUSES))
        .order_by(PayoutRow.next_check_at)
        .limit(limit)
    )
    return list(rows.scalars())


def _send_at(payout: PayoutRow) -> datetime:
    """When an automatic payout is sent: its arrival (its window's eta) on an instant rail."""
    return payout.arrival_at


async def _defer_send(session: AsyncSession, payout: PayoutRow) -> None:
    """The job that sends the payout after this transaction commits (at its hold's end)."""
    from beyondpay.settlement.payouts.tasks import send_payout

    wait_s = 0.0
    if payout.held_until is not None:
        wait_s = max((payout.held_until - utcnow()).total_seconds(), 0.0)
    if payout.automatic:
        wait_s = max(wait_s, (_send_at(payout) - utcnow()).total_seconds())
    await jobs.defer(session, send_payout, schedule_in_s=wait_s or None, payout_id=payout.id)


async def pay_closed_window(session: AsyncSession, window: ClosedWindow) -> None:
    """A settlement window closed (its close's transaction): the automatic payout its
    merchant's schedule says it makes — the window's inr net (weekly, monthly: all that is
    available), capped at the available balance; none at or below zero, none when the period
    is paid already or no verified bank account is the default. The rail is asked by the job,
    after commit. Live mode has no payout rail yet: its windows pay nothing (a payout written
    now could be neither sent nor canceled)."""
    if window.livemode:
        return
    schedule = await locked_schedule(session, window.merchant_id, window.livemode)
    period = domain.pays_period(
        Interval(schedule.interval),
        window.id,
        window.cut_off_at,
        weekly_anchor=schedule.weekly_anchor,
        monthly_anchor=schedule.monthly_anchor,
    )
    if period is None or await _period_paid(session, window, period):
        return
    available = await payout_funds_service.available(
        session, window.merchant_id, window.livemode, CURRENCY
    )
    net = sum(int(t["net"]) for t in window.totals if t["currency"] == CURRENCY)
    wanted = net if schedule.interval == Interval.daily else available
    amount = min(wanted, available, PAYOUT_AMOUNT_MINOR_MAX)
    owner = merchant_caller(window.merchant_id, window.livemode)
    account = await bank_account_service.payout_account(session, owner, CURRENCY)
    if amount <= 0 or account is None or account.status != "verified":
        return
    # Sent so that it arrives when the window promised (its eta): the rail chosen is instant
    # (IMPS, RTGS), so it leaves at the eta; a window closed after its eta (a worker down that
    # long) pays at once, late.
    send_at = max(window.eta, utcnow())
    choice = choose_payout_rail(amount, CURRENCY, "bank_account", send_at)
    payout = _new_payout(
        window.merchant_id,
        window.livemode,
        payout_id=automatic_payout_id(window.merchant_id, window.livemode, window.id),
        amount=amount,
        destination=account.id,
        rail=choice.rail,
        arrival_at=choice.arrival_at,
        automatic=True,
    )
    payout.settlement_window_id = window.id
    payout.schedule_period = period
    await _make(session, payout)
    payout.next_check_at = max(payout.next_check_at or send_at, send_at)
    await _defer_send(session, payout)


async def _period_paid(session: AsyncSession, window: ClosedWindow, period: str) -> bool:
    found = await session.execute(
        select(PayoutRow.id).where(
            PayoutRow.merchant_id == window.merchant_id,
            PayoutRow.livemode == window.livemode,
            PayoutRow.schedule_period == period,
        )
    )
    return found.first() is not None


payout_service = PayoutService()
