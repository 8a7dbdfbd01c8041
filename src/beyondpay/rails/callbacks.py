"""What the composition root plugs into the rails: who hears them (outcome handlers, collect
and credit listeners) and the scheduler of their later work.

``app.wire_modules`` registers every handler and listener (payments' and refunds' outcome
handlers, the PSP's switch handler, collect listener and credit listener) and the scheduler,
in one place. The
handlers and listeners run in the transaction of the rail's state change, so the rail's record
and theirs move together or not at all.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.invariants import invariant
from beyondpay.rails.protocol import (
    CollectListener,
    CollectNotice,
    CreditListener,
    CreditNotice,
    OutcomeHandler,
    PayableCheck,
    PayoutOutcome,
    PayoutOutcomeHandler,
    RailOutcome,
    Scheduler,
)

_handlers: list[OutcomeHandler] = []
_collect_listeners: list[CollectListener] = []
_credit_listeners: list[CreditListener] = []
_payable_checks: list[PayableCheck] = []
_schedulers: list[Scheduler] = []


def use_scheduler(scheduler: Scheduler) -> None:
    """The scheduler of the rails' later work in this process (the last one given wins)."""
    _schedulers[:] = [scheduler]


def scheduler() -> Scheduler:
    invariant(
        bool(_schedulers),
        "the rails' scheduler is injected by the composition root (app.wire_modules)",
    )
    return _schedulers[0]


def on_outcome(handler: OutcomeHandler) -> None:
    """Register ``handler`` (once: registering it again changes nothing)."""
    if handler not in _handlers:
        _handlers.append(handler)


def off_outcome(handler: OutcomeHandler) -> None:
    """Unregister ``handler`` (tests register their own and remove it after)."""
    if handler in _handlers:
        _handlers.remove(handler)


async def notify(session: AsyncSession, outcome: RailOutcome) -> None:
    for handler in list(_handlers):
        await handler(session, outcome)


def on_collect(listener: CollectListener) -> None:
    """Register ``listener`` (once: registering it again changes nothing)."""
    if listener not in _collect_listeners:
        _collect_listeners.append(listener)


def off_collect(listener: CollectListener) -> None:
    """Unregister ``listener`` (tests register their own and remove it after)."""
    if listener in _collect_listeners:
        _collect_listeners.remove(listener)


async def claim_collect(session: AsyncSession, notice: CollectNotice) -> bool:
    """Ask the listeners in the order they registered; the first to answer True owns the VPA
    (the rest are not asked: one VPA has one owner)."""
    for listener in list(_collect_listeners):
        if await listener(session, notice):
            return True
    return False


def on_credit(listener: CreditListener) -> None:
    """Register ``listener`` (once: registering it again changes nothing)."""
    if listener not in _credit_listeners:
        _credit_listeners.append(listener)


def off_credit(listener: CreditListener) -> None:
    """Unregister ``listener`` (tests register their own and remove it after)."""
    if listener in _credit_listeners:
        _credit_listeners.remove(listener)


async def tell_credit(session: AsyncSession, notice: CreditNotice) -> str | None:
    """Tell the listeners in the order they registered; the first to answer a merchant's id
    owns the account (the rest are not told: one account has one owner). That id, or None."""
    for listener in list(_credit_listeners):
        merchant_id = await listener(session, notice)
        if merchant_id is not None:
            return merchant_id
    return None


def on_payable(check: PayableCheck) -> None:
    """Register ``check`` (once: registering it again changes nothing)."""
    if check not in _payable_checks:
        _payable_checks.append(check)


async def still_payable(session: AsyncSession, request_id: str) -> bool:
    """Every check agrees the request ``request_id`` still waits for its payer (True when no
    check is registered: nobody objects)."""
    for check in list(_payable_checks):
        if not await check(session, request_id):
            return False
    return True


# Payout outcomes have listeners of their own (``on_payout_outcome``), not the outcome handlers
# above: a payout has its own states (pending, in_transit, paid, failed) and references (a
# UTR), and the payments' and refunds' handlers, which switch on a RailOutcome's operation,
# can never mistake a payout for a charge (mypy checks each handler's type).
_payout_handlers: list[PayoutOutcomeHandler] = []


def on_payout_outcome(handler: PayoutOutcomeHandler) -> None:
    """Register ``handler`` (once: registering it again changes nothing)."""
    if handler not in _payout_handlers:
        _payout_handlers.append(handler)


def off_payout_outcome(handler: PayoutOutcomeHandler) -> None:
    """Unregister ``handler`` (tests register their own and remove it after)."""
    if handler in _payout_handlers:
        _payout_handlers.remove(handler)


async def notify_payout(session: AsyncSession, outcome: PayoutOutcome) -> None:
    for handler in list(_payout_handlers):
        await handler(session, outcome)
