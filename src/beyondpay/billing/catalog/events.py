"""The events the catalog records (Stripe's names), and the one place that records them.

No ``price.deleted``: Stripe's API deletes no price (a price is archived, ``active=false``), and
a product is deleted only while it has none.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.events.service import event_service


class ProductEvent(StrEnum):
    created = "product.created"
    updated = "product.updated"
    deleted = "product.deleted"


class PriceEvent(StrEnum):
    created = "price.created"
    updated = "price.updated"


class CouponEvent(StrEnum):
    created = "coupon.created"
    updated = "coupon.updated"
    deleted = "coupon.deleted"


class PromotionCodeEvent(StrEnum):
    created = "promotion_code.created"
    updated = "promotion_code.updated"


CatalogEvent = ProductEvent | PriceEvent | CouponEvent | PromotionCodeEvent


class Owned(Protocol):
    merchant_id: str
    livemode: bool


async def record(
    session: AsyncSession,
    row: Owned,
    type: CatalogEvent,
    object: dict[str, Any],
    *,
    previous_attributes: dict[str, Any] | None = None,
) -> None:
    """``type`` about ``row``, rendered by the caller as it stands after the change, in the
    caller's transaction."""
    await event_service.record(
        session,
        merchant_id=row.merchant_id,
        livemode=row.livemode,
        type=type,
        object=object,
        previous_attributes=previous_attributes,
    )
