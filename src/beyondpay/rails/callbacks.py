"""Who hears the rails: outcome handlers (what a rail reports by itself) and collect listeners
(who owns the VPA a collect request is sent to).

``payments`` registers its outcome handler at import; the PSP registers a collect listener for
its own handle. Both run in the transaction of the rail's state change, so the rail's record and
theirs move together or not at all.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.rails.protocol import CollectListener, CollectNotice, OutcomeHandler, RailOutcome

_handlers: list[OutcomeHandler] = []
_collect_listeners: list[CollectListener] = []


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
