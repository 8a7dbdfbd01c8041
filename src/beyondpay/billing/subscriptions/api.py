"""Subscription and subscription item routes: parse, authorize, call the service, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from beyondpay.api.access import SubscriptionsReader, SubscriptionsWriter
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, Listed, Query, Router
from beyondpay.billing.subscriptions import changes
from beyondpay.billing.subscriptions.dunning_settings import dunning_settings_service
from beyondpay.billing.subscriptions.items import subscription_item_service
from beyondpay.billing.subscriptions.schemas import (
    DeletedSubscriptionItem,
    DunningSettings,
    DunningSettingsUpdateParams,
    Subscription,
    SubscriptionCancelParams,
    SubscriptionCreateParams,
    SubscriptionItem,
    SubscriptionItemCreateParams,
    SubscriptionItemDeleteParams,
    SubscriptionItemListParams,
    SubscriptionItemUpdateParams,
    SubscriptionListParams,
    SubscriptionResumeParams,
    SubscriptionSearchParams,
    SubscriptionSearchResult,
    SubscriptionUpdateParams,
    deleted_item_object,
)
from beyondpay.billing.subscriptions.service import rendered, subscription_service

router = Router(prefix="/v1/subscriptions", tags=["subscriptions"])
items_router = Router(prefix="/v1/subscription_items", tags=["subscriptions"])

SubscriptionId = Annotated[
    str, Path(max_length=255, description="The subscription's id (`sub_…`).")
]
ItemId = Annotated[str, Path(max_length=255, description="The subscription item's id (`si_…`).")]


@router.post("", returns=Subscription)
async def create_subscription(
    session: SessionDep, caller: SubscriptionsWriter, params: Body[SubscriptionCreateParams]
) -> Outcome:
    """Create a subscription: its first invoice is finalized at once and charged (the
    subscription is ``incomplete`` until it is paid), or it starts ``trialing``."""
    row = await subscription_service.create(session, caller, params)
    return Outcome(await rendered(session, row))


# Declared before /{subscription}, which would otherwise take "search" for an id.
@router.get("/search", returns=SubscriptionSearchResult, listing=True)
async def search_subscriptions(
    session: SessionDep, caller: SubscriptionsReader, params: Query[SubscriptionSearchParams]
) -> Listed:
    """Search subscriptions with Stripe's search query language (``created``, ``status``,
    ``metadata['key']``)."""
    rows, has_more, next_page = await changes.search_subscriptions(session, caller, params)
    data = [await rendered(session, row) for row in rows]
    return Listed(data, has_more, object="search_result", extra={"next_page": next_page})


@router.get("/{subscription}", returns=Subscription)
async def retrieve_subscription(
    subscription: SubscriptionId, session: SessionDep, caller: SubscriptionsReader
) -> dict[str, Any]:
    """Retrieve a subscription."""
    return await rendered(session, await subscription_service.get(session, caller, subscription))


@router.post("/{subscription}", returns=Subscription)
async def update_subscription(
    subscription: SubscriptionId,
    session: SessionDep,
    caller: SubscriptionsWriter,
    params: Body[SubscriptionUpdateParams],
) -> Outcome:
    """Update a subscription: its items (prorated by ``proration_behavior``),
    ``cancel_at_period_end``, default payment method and metadata."""
    row = await subscription_service.update(session, caller, subscription, params)
    return Outcome(await rendered(session, row))


@router.delete("/{subscription}", returns=Subscription)
async def cancel_subscription(
    subscription: SubscriptionId,
    session: SessionDep,
    caller: SubscriptionsWriter,
    params: Query[SubscriptionCancelParams],
) -> Outcome:
    """Cancel a subscription now: it is ``canceled`` (``incomplete_expired`` before its first
    payment) and bills nothing more."""
    row = await subscription_service.cancel(session, caller, subscription, params)
    return Outcome(await rendered(session, row))


@router.get("", returns=Subscription)
async def list_subscriptions(
    session: SessionDep, caller: SubscriptionsReader, params: Query[SubscriptionListParams]
) -> Listed:
    """List subscriptions (all but canceled ones unless ``status`` says otherwise)."""
    rows, has_more = await subscription_service.list(session, caller, params)
    return Listed([await rendered(session, row) for row in rows], has_more)


@items_router.get("", returns=SubscriptionItem)
async def list_subscription_items(
    session: SessionDep, caller: SubscriptionsReader, params: Query[SubscriptionItemListParams]
) -> Listed:
    """List a subscription's items."""
    data, has_more = await subscription_service.items(session, caller, params)
    return Listed(list(data), has_more)


@items_router.get("/{item}", returns=SubscriptionItem)
async def retrieve_subscription_item(
    item: ItemId, session: SessionDep, caller: SubscriptionsReader
) -> dict[str, Any]:
    """Retrieve a subscription item."""
    return await subscription_service.item(session, caller, item)


# ---- the merchant's dunning settings ------------------------------------------------------------

settings_router = Router(prefix="/v1/billing/dunning_settings", tags=["subscriptions"])


@settings_router.get("", returns=DunningSettings)
async def retrieve_dunning_settings(
    session: SessionDep, caller: SubscriptionsReader
) -> dict[str, Any]:
    """Retrieve the retry schedule of failed subscription payments and what follows its last
    try (Stripe's recommended 8 tries in 2 weeks, then cancel, until the merchant sets them)."""
    return await dunning_settings_service.retrieve(session, caller)


@settings_router.post("", returns=DunningSettings)
async def update_dunning_settings(
    session: SessionDep, caller: SubscriptionsWriter, params: Body[DunningSettingsUpdateParams]
) -> Outcome:
    """Set the retry schedule (`retry_offsets_days[]` or `retry_offsets_seconds[]`: at most 8,
    increasing, the last within 60 days), `final_action`, `final_invoice` and
    `mandate_category`."""
    return Outcome(await dunning_settings_service.update(session, caller, params))


@router.post("/{subscription}/resume", returns=Subscription)
async def resume_subscription(
    subscription: SubscriptionId,
    session: SessionDep,
    caller: SubscriptionsWriter,
    params: Body[SubscriptionResumeParams],
) -> Outcome:
    """Resume a ``paused`` subscription: a new billing cycle now (or the anchor kept), its
    first invoice finalized at once."""
    row = await changes.resume(session, caller, subscription, params)
    return Outcome(await rendered(session, row))


@items_router.post("", returns=SubscriptionItem)
async def create_subscription_item(
    session: SessionDep, caller: SubscriptionsWriter, params: Body[SubscriptionItemCreateParams]
) -> Outcome:
    """Add a price to a subscription, prorated as a subscription update is."""
    return Outcome(await subscription_item_service.create(session, caller, params))


@items_router.post("/{item}", returns=SubscriptionItem)
async def update_subscription_item(
    item: ItemId,
    session: SessionDep,
    caller: SubscriptionsWriter,
    params: Body[SubscriptionItemUpdateParams],
) -> Outcome:
    """Change a subscription item's price, quantity or metadata, prorated."""
    return Outcome(await subscription_item_service.update(session, caller, item, params))


@items_router.delete("/{item}", returns=DeletedSubscriptionItem)
async def delete_subscription_item(
    item: ItemId,
    session: SessionDep,
    caller: SubscriptionsWriter,
    params: Query[SubscriptionItemDeleteParams],
) -> Outcome:
    """Remove an item from its subscription, prorated (not its last item)."""
    deleted = await subscription_item_service.delete(session, caller, item, params)
    return Outcome(deleted_item_object(deleted))
