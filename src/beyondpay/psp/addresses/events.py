"""The events PSP addresses record: their names, and the one place that records them.

A payer's (``psp.vpa.*``, ``psp.alias.*``, ``psp.beneficiary.*``) are recorded in the payer's
own scope (the payer's id as ``merchant_id``, test mode); a merchant VPA's in the merchant's. No
event holds a VPA or an alias in clear: objects in events carry the masked forms only.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.events.service import event_service
from beyondpay.psp.identity.service import PSP_LIVEMODE


class AddressEvent(StrEnum):
    vpa_created = "psp.vpa.created"
    vpa_updated = "psp.vpa.updated"
    vpa_deactivated = "psp.vpa.deactivated"
    alias_created = "psp.alias.created"
    alias_rotated = "psp.alias.rotated"
    alias_revoked = "psp.alias.revoked"
    alias_used = "psp.alias.used"
    beneficiary_created = "psp.beneficiary.created"
    beneficiary_deleted = "psp.beneficiary.deleted"


class MerchantVpaEvent(StrEnum):
    """A merchant's VPA is the merchant API's object (``upi.*``), not a payer's."""

    created = "upi.merchant_vpa.created"


async def record(
    session: AsyncSession,
    owner_id: str,
    type: AddressEvent | MerchantVpaEvent,
    object: dict[str, Any],
    *,
    livemode: bool = PSP_LIVEMODE,
    previous_attributes: dict[str, Any] | None = None,
) -> None:
    """``type`` about ``object`` in its owner's scope (a payer's id, or a merchant's with the
    merchant's mode), in the caller's transaction."""
    await event_service.record(
        session,
        merchant_id=owner_id,
        livemode=livemode,
        type=type,
        object=object,
        previous_attributes=previous_attributes,
    )
