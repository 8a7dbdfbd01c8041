"""The events PSP identity records: their names, and the one place that records them.

A payer is its own scope: PSP events carry the payer's id as ``merchant_id`` and test mode (the
PSP runs on the sandbox banks), exactly as the payer's
:class:`~beyondpay.merchants.domain.Caller` does for idempotency keys and the audit trail, so
each payer's events are numbered gap-free in their own sequence. No event holds a mobile number
(only its masked form), an OTP or a token.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.events.service import event_service
from beyondpay.psp.identity.domain import PSP_LIVEMODE


class IdentityEvent(StrEnum):
    payer_created = "psp.payer.created"
    payer_frozen = "psp.payer.frozen"
    payer_unfrozen = "psp.payer.unfrozen"
    payer_sessions_revoked = "psp.payer.sessions_revoked"
    session_created = "psp.session.created"
    session_updated = "psp.session.updated"
    session_refreshed = "psp.session.refreshed"
    session_revoked = "psp.session.revoked"
    device_bound = "psp.device.bound"
    device_revoked = "psp.device.revoked"
    device_binding_blocked = "psp.device.binding_blocked"
    device_link_created = "psp.device_link.created"
    device_link_approved = "psp.device_link.approved"
    device_link_declined = "psp.device_link.declined"
    handoff_created = "psp.handoff.created"
    handoff_redeemed = "psp.handoff.redeemed"
    passkey_created = "psp.passkey.created"


async def record(
    session: AsyncSession, payer_id: str, type: IdentityEvent, object: dict[str, Any]
) -> None:
    """``type`` about ``object`` in the payer's own scope, in the caller's transaction."""
    await event_service.record(
        session, merchant_id=payer_id, livemode=PSP_LIVEMODE, type=type, object=object
    )
