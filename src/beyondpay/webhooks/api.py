"""Webhook endpoint routes: parse, vet the URL, authorize, call the service, render.

The signing secret is rendered only by create and roll_secret, and their answers are stored
sealed for idempotent replay (``Outcome(sealed=True)``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Request

from beyondpay.api.access import WebhookEndpointsReader, WebhookEndpointsWriter
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, Listed, Query, RingDep, Router, listed
from beyondpay.kit.settings import Settings
from beyondpay.merchants.domain import Caller
from beyondpay.webhooks.replay import Recovery, check_window, webhook_replay_service
from beyondpay.webhooks.schemas import (
    DeletedWebhookEndpoint,
    WebhookDelivery,
    WebhookDeliveryListParams,
    WebhookDeliveryRetryParams,
    WebhookDeliveryWithAttempts,
    WebhookEndpoint,
    WebhookEndpointCreateParams,
    WebhookEndpointListParams,
    WebhookEndpointRecoverParams,
    WebhookEndpointRollParams,
    WebhookEndpointUpdateParams,
    WebhookEndpointWithSecret,
    WebhookRecovery,
    webhook_delivery_object,
    webhook_delivery_with_attempts,
    webhook_endpoint_object,
    webhook_endpoint_with_secret,
)
from beyondpay.webhooks.service import webhook_delivery_service, webhook_endpoint_service
from beyondpay.webhooks.ssrf import check_url

router = Router(prefix="/v1/webhook_endpoints", tags=["webhook_endpoints"])
deliveries_router = Router(prefix="/v1/webhook_deliveries", tags=["webhook_endpoints"])

DeliveryId = Annotated[
    str, Path(max_length=255, description="The webhook delivery's id (`whd_…`).")
]
EndpointId = Annotated[str, Path(max_length=255, description="The webhook endpoint's id (`we_…`).")]

# The checks below run before the mutation: what they refuse is a validation failure, never
# stored under the idempotency key (the same key may retry with a fixed URL or window). Each
# names the caller first, so that an unauthenticated request is refused before it is parsed.


async def _vet(request: Request, caller: Caller, url: str) -> None:
    """Refuses a URL deliveries may not go to."""
    settings: Settings = request.app.state.settings
    await check_url(
        url,
        livemode=caller.livemode,
        allow_private_test_urls=settings.webhooks_allow_private_test_urls,
    )


async def _vet_new_url(
    request: Request, caller: WebhookEndpointsWriter, params: Body[WebhookEndpointCreateParams]
) -> None:
    await _vet(request, caller, params.url)


async def _vet_changed_url(
    request: Request, caller: WebhookEndpointsWriter, params: Body[WebhookEndpointUpdateParams]
) -> None:
    if params.url is not None:
        await _vet(request, caller, params.url)


async def _check_window(
    caller: WebhookEndpointsWriter, params: Body[WebhookEndpointRecoverParams]
) -> None:
    check_window(params.since, params.until)


def _recovery_object(recovery: Recovery) -> dict[str, object]:
    return {
        "object": "webhook_recovery",
        "webhook_endpoint": recovery.endpoint.id,
        "since": recovery.since,
        "until": recovery.until,
        "deliveries_requeued": recovery.requeued,
        "livemode": recovery.endpoint.livemode,
    }


@router.post("", returns=WebhookEndpointWithSecret, checks=[_vet_new_url])
async def create_webhook_endpoint(
    session: SessionDep,
    caller: WebhookEndpointsWriter,
    ring: RingDep,
    params: Body[WebhookEndpointCreateParams],
) -> Outcome:
    """Create a webhook endpoint (its signing secret is shown this once)."""
    row, secret = await webhook_endpoint_service.create(session, ring, caller, params)
    return Outcome(webhook_endpoint_with_secret(row, secret), sealed=True)


@router.get("/{webhook_endpoint}", returns=WebhookEndpoint | DeletedWebhookEndpoint)
async def retrieve_webhook_endpoint(
    webhook_endpoint: EndpointId,
    session: SessionDep,
    caller: WebhookEndpointsReader,
) -> dict[str, Any]:
    """Retrieve a webhook endpoint."""
    return webhook_endpoint_object(
        await webhook_endpoint_service.get(session, caller, webhook_endpoint)
    )


@router.post("/{webhook_endpoint}", returns=WebhookEndpoint, checks=[_vet_changed_url])
async def update_webhook_endpoint(
    webhook_endpoint: EndpointId,
    session: SessionDep,
    caller: WebhookEndpointsWriter,
    params: Body[WebhookEndpointUpdateParams],
) -> Outcome:
    """Update a webhook endpoint."""
    row = await webhook_endpoint_service.update(session, caller, webhook_endpoint, params)
    return Outcome(webhook_endpoint_object(row))


@router.delete("/{webhook_endpoint}", returns=DeletedWebhookEndpoint)
async def delete_webhook_endpoint(
    webhook_endpoint: EndpointId, session: SessionDep, caller: WebhookEndpointsWriter
) -> Outcome:
    """Delete a webhook endpoint."""
    row = await webhook_endpoint_service.delete(session, caller, webhook_endpoint)
    return Outcome(webhook_endpoint_object(row))


@router.post("/{webhook_endpoint}/roll_secret", returns=WebhookEndpointWithSecret)
async def roll_webhook_endpoint_secret(
    webhook_endpoint: EndpointId,
    session: SessionDep,
    caller: WebhookEndpointsWriter,
    ring: RingDep,
    params: Body[WebhookEndpointRollParams],
) -> Outcome:
    """Roll the signing secret; the old one keeps signing for `expires_in` seconds."""
    row, secret = await webhook_endpoint_service.roll_secret(
        session, ring, caller, webhook_endpoint, params.expires_in
    )
    return Outcome(webhook_endpoint_with_secret(row, secret), sealed=True)


@router.get("", returns=WebhookEndpoint)
async def list_webhook_endpoints(
    session: SessionDep, caller: WebhookEndpointsReader, params: Query[WebhookEndpointListParams]
) -> Listed:
    """List webhook endpoints."""
    page = await webhook_endpoint_service.list(session, caller, params)
    return listed(webhook_endpoint_object, page)


@router.get("/{webhook_endpoint}/deliveries", returns=WebhookDelivery)
async def list_webhook_deliveries(
    webhook_endpoint: EndpointId,
    session: SessionDep,
    caller: WebhookEndpointsReader,
    params: Query[WebhookDeliveryListParams],
) -> Listed:
    """List an endpoint's deliveries, newest first."""
    service = webhook_delivery_service
    page = await service.list_for_endpoint(session, caller, webhook_endpoint, params)
    return listed(webhook_delivery_object, page)


@deliveries_router.get("/{webhook_delivery}", returns=WebhookDeliveryWithAttempts)
async def retrieve_webhook_delivery(
    webhook_delivery: DeliveryId,
    session: SessionDep,
    caller: WebhookEndpointsReader,
) -> dict[str, Any]:
    """Retrieve a webhook delivery with its attempts."""
    row, attempts = await webhook_delivery_service.get(session, caller, webhook_delivery)
    return webhook_delivery_with_attempts(row, attempts)


@deliveries_router.post("/{webhook_delivery}/retry", returns=WebhookDelivery)
async def retry_webhook_delivery(
    webhook_delivery: DeliveryId,
    session: SessionDep,
    caller: WebhookEndpointsWriter,
    _: Body[WebhookDeliveryRetryParams],
) -> Outcome:
    """Send a delivery again now (any status), with a fresh retry schedule."""
    row = await webhook_replay_service.retry(session, caller, webhook_delivery)
    return Outcome(webhook_delivery_object(row))


@router.post("/{webhook_endpoint}/recover", returns=WebhookRecovery, checks=[_check_window])
async def recover_webhook_endpoint(
    webhook_endpoint: EndpointId,
    session: SessionDep,
    caller: WebhookEndpointsWriter,
    params: Body[WebhookEndpointRecoverParams],
) -> Outcome:
    """Send again every dead or failed delivery of an endpoint created since a time."""
    recovery = await webhook_replay_service.recover(
        session, caller, webhook_endpoint, params.since, params.until
    )
    return Outcome(_recovery_object(recovery))
