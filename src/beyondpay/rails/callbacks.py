"""The outcome handlers: who hears what a rail reports by itself (a callback).

``payments`` registers its handler at import. Every handler runs in the transaction of the rail's
state change, so the rail's record and the payment's move together or not at all.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.rails.protocol import OutcomeHandler, RailOutcome

_handlers: list[OutcomeHandler] = []


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
