"""Subscription items written one at a time (``/v1/subscription_items``): each is an update of
its subscription's items (``SubscriptionService.update``), so it is prorated, refused and
recorded exactly as ``POST /v1/subscriptions/{id}`` with one entry in ``items`` would be.
Never commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.subscriptions import service
from beyondpay.billing.subscriptions.models import SubscriptionItemRow
from beyondpay.billing.subscriptions.schemas import (
    ItemUpdateParams,
    SubscriptionItemCreateParams,
    SubscriptionItemDeleteParams,
    SubscriptionItemUpdateParams,
    SubscriptionUpdateParams,
)
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.merchants.domain import Caller

# The one entry of ``items`` an item write becomes: its errors name the item's own parameter.
_ENTRY = "items[0]["


async def _update(
    session: AsyncSession,
    caller: Caller,
    subscription_id: str,
    item: ItemUpdateParams,
    params: Any,
) -> None:
    update = SubscriptionUpdateParams.model_validate(
        {
            "items": [item],
            "proration_behavior": params.proration_behavior,
            "proration_date": params.proration_date,
        }
    )
    try:
        await service.subscription_service.update(session, caller, subscription_id, update)
    except InvalidRequestError as error:
        if error.param is not None and error.param.startswith(_ENTRY):
            error.param = error.param.removeprefix(_ENTRY).removesuffix("]")
        elif error.param == "items[0]":
            error.param = None
        raise


async def _row(session: AsyncSession, caller: Caller, item_id: str) -> SubscriptionItemRow:
    row = (
        await session.execute(
            select(SubscriptionItemRow).where(
                SubscriptionItemRow.merchant_id == caller.merchant,
                SubscriptionItemRow.livemode == caller.livemode,
                SubscriptionItemRow.id == item_id,
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise ResourceMissingError.for_object(service.ITEM_OBJECT, item_id, param="id")
    return row


class SubscriptionItemService:
    async def create(
        self, session: AsyncSession, caller: Caller, params: SubscriptionItemCreateParams
    ) -> dict[str, Any]:
        """Adds a price to a subscription (once: a price already on it is a 400)."""
        subscription = await service._find(
            session, caller, params.subscription, param="subscription"
        )
        entry = ItemUpdateParams(price=params.price, quantity=params.quantity)
        if "metadata" in params.model_fields_set:
            entry.metadata = params.metadata
        await _update(session, caller, subscription.id, entry, params)
        added = next(
            row
            for row in await service._items(session, subscription.id)
            if row.price_id == params.price
        )
        return await service.subscription_service.item(session, caller, added.id)

    async def update(
        self,
        session: AsyncSession,
        caller: Caller,
        item_id: str,
        params: SubscriptionItemUpdateParams,
    ) -> dict[str, Any]:
        row = await _row(session, caller, item_id)
        entry = ItemUpdateParams(id=row.id, price=params.price, quantity=params.quantity)
        if "metadata" in params.model_fields_set:
            entry.metadata = params.metadata
        await _update(session, caller, row.subscription_id, entry, params)
        return await service.subscription_service.item(session, caller, item_id)

    async def delete(
        self,
        session: AsyncSession,
        caller: Caller,
        item_id: str,
        params: SubscriptionItemDeleteParams,
    ) -> str:
        """Removes an item, prorated; the last one stays (cancel the subscription instead)."""
        row = await _row(session, caller, item_id)
        if len(await service._items(session, row.subscription_id)) == 1:
            raise InvalidRequestError(
                "A subscription must keep at least one item: to end it, cancel the subscription"
                " (DELETE /v1/subscriptions/{id}).",
                param="id",
            )
        entry = ItemUpdateParams(id=row.id, deleted=True)
        await _update(session, caller, row.subscription_id, entry, params)
        return item_id


subscription_item_service = SubscriptionItemService()
