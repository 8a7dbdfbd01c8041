"""Webhook endpoint routes: parse, vet the URL, authorize, call the service, render.

The signing secret is rendered only by create and roll_secret, and their answers are stored
sealed for idempotent replay (``Outcome(sealed=True)``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

from beyondpay.api.auth import SessionDep, authorize
from beyondpay.api.expand import refuse_expansions
from beyondpay.api.lists import list_object, list_of
from beyondpay.api.mutation import Mutation, Outcome, run_mutation
from beyondpay.api.openapi import operation
from beyondpay.api.params import body, query
from beyondpay.api.responses import json_response
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.settings import Settings
from beyondpay.merchants.domain import Caller, Scope
from beyondpay.webhooks.replay import Recovery, check_window, webhook_replay_service
from beyondpay.webhooks.schemas import (
    DeletedWebhookEndpoint,
    WebhookDelivery,
    WebhookDeliveryListParams,
    WebhookDeliveryRetrieveParams,
    WebhookDeliveryRetryParams,
    WebhookDeliveryWithAttempts,
    WebhookEndpoint,
    WebhookEndpointCreateParams,
    WebhookEndpointListParams,
    WebhookEndpointRecoverParams,
    WebhookEndpointRetrieveParams,
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

router = APIRouter(prefix="/v1/webhook_endpoints", tags=["webhook_endpoints"])
deliveries_router = APIRouter(prefix="/v1/webhook_deliveries", tags=["webhook_endpoints"])

Reader = Annotated[Caller, Depends(authorize(Scope.webhook_endpoints_read))]
Writer = Annotated[Caller, Depends(authorize(Scope.webhook_endpoints_write))]
DeliveryId = Annotated[
    str, Path(max_length=255, description="The webhook delivery's id (`whd_…`).")
]
EndpointId = Annotated[str, Path(max_length=255, description="The webhook endpoint's id (`we_…`).")]


def _ring(request: Request) -> KeyRing:
    ring: KeyRing = request.app.state.key_ring
    return ring


async def _vet(request: Request, caller: Caller, url: str) -> None:
    """Refuses a URL deliveries may not go to, before the mutation starts (a validation
    failure, never stored under the idempotency key: the same key may retry a fixed URL)."""
    settings: Settings = request.app.state.settings
    await check_url(
        url,
        livemode=caller.livemode,
        allow_private_test_urls=settings.webhooks_allow_private_test_urls,
    )


@router.post(
    "",
    summary="Create a webhook endpoint (its signing secret is shown this once)",
    **operation(
        body=WebhookEndpointCreateParams,
        returns=WebhookEndpointWithSecret,
        access="webhook_endpoints:write",
    ),
)
async def create_webhook_endpoint(
    request: Request,
    session: SessionDep,
    caller: Writer,
    params: Annotated[WebhookEndpointCreateParams, Depends(body(WebhookEndpointCreateParams))],
) -> Response:
    refuse_expansions(params.expand, set())
    await _vet(request, caller, params.url)
    ring = _ring(request)

    async def execute(_mutation: Mutation) -> Outcome:
        row, secret = await webhook_endpoint_service.create(session, ring, caller, params)
        return Outcome(webhook_endpoint_with_secret(row, secret), sealed=True)

    return await run_mutation(request, session, caller, params, execute)


@router.get(
    "/{webhook_endpoint}",
    summary="Retrieve a webhook endpoint",
    **operation(
        query=WebhookEndpointRetrieveParams,
        returns=WebhookEndpoint | DeletedWebhookEndpoint,
        access="webhook_endpoints:read",
    ),
)
async def retrieve_webhook_endpoint(
    webhook_endpoint: EndpointId,
    session: SessionDep,
    caller: Reader,
    params: Annotated[WebhookEndpointRetrieveParams, Depends(query(WebhookEndpointRetrieveParams))],
) -> Response:
    refuse_expansions(params.expand, set())
    row = await webhook_endpoint_service.get(session, caller, webhook_endpoint)
    return json_response(webhook_endpoint_object(row))


@router.post(
    "/{webhook_endpoint}",
    summary="Update a webhook endpoint",
    **operation(
        body=WebhookEndpointUpdateParams,
        returns=WebhookEndpoint,
        access="webhook_endpoints:write",
    ),
)
async def update_webhook_endpoint(
    webhook_endpoint: EndpointId,
    request: Request,
    session: SessionDep,
    caller: Writer,
    params: Annotated[WebhookEndpointUpdateParams, Depends(body(WebhookEndpointUpdateParams))],
) -> Response:
    refuse_expansions(params.expand, set())
    if params.url is not None:
        await _vet(request, caller, params.url)

    async def execute(_mutation: Mutation) -> Outcome:
        row = await webhook_endpoint_service.update(session, caller, webhook_endpoint, params)
        return Outcome(webhook_endpoint_object(row))

    return await run_mutation(request, session, caller, params, execute)


@router.delete(
    "/{webhook_endpoint}",
    summary="Delete a webhook endpoint",
    **operation(returns=DeletedWebhookEndpoint, access="webhook_endpoints:write"),
)
async def delete_webhook_endpoint(
    webhook_endpoint: EndpointId, request: Request, session: SessionDep, caller: Writer
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        row = await webhook_endpoint_service.delete(session, caller, webhook_endpoint)
        return Outcome(webhook_endpoint_object(row))

    return await run_mutation(request, session, caller, None, execute)


@router.post(
    "/{webhook_endpoint}/roll_secret",
    summary="Roll the signing secret; the old one keeps signing for `expires_in` seconds",
    **operation(
        body=WebhookEndpointRollParams,
        returns=WebhookEndpointWithSecret,
        access="webhook_endpoints:write",
    ),
)
async def roll_webhook_endpoint_secret(
    webhook_endpoint: EndpointId,
    request: Request,
    session: SessionDep,
    caller: Writer,
    params: Annotated[WebhookEndpointRollParams, Depends(body(WebhookEndpointRollParams))],
) -> Response:
    ring = _ring(request)

    async def execute(_mutation: Mutation) -> Outcome:
        row, secret = await webhook_endpoint_service.roll_secret(
            session, ring, caller, webhook_endpoint, params.expires_in
        )
        return Outcome(webhook_endpoint_with_secret(row, secret), sealed=True)

    return await run_mutation(request, session, caller, params, execute)


WebhookEndpointList = list_of(WebhookEndpoint)


@router.get(
    "",
    summary="List webhook endpoints",
    **operation(
        query=WebhookEndpointListParams,
        returns=WebhookEndpointList,
        access="webhook_endpoints:read",
    ),
)
async def list_webhook_endpoints(
    request: Request,
    session: SessionDep,
    caller: Reader,
    params: Annotated[WebhookEndpointListParams, Depends(query(WebhookEndpointListParams))],
) -> Response:
    refuse_expansions(params.expand, set(), listing=True)
    rows, has_more = await webhook_endpoint_service.list(session, caller, params)
    return json_response(
        list_object(request.url.path, [webhook_endpoint_object(row) for row in rows], has_more)
    )


WebhookDeliveryList = list_of(WebhookDelivery)


@router.get(
    "/{webhook_endpoint}/deliveries",
    summary="List an endpoint's deliveries, newest first",
    **operation(
        query=WebhookDeliveryListParams,
        returns=WebhookDeliveryList,
        access="webhook_endpoints:read",
    ),
)
async def list_webhook_deliveries(
    webhook_endpoint: EndpointId,
    request: Request,
    session: SessionDep,
    caller: Reader,
    params: Annotated[WebhookDeliveryListParams, Depends(query(WebhookDeliveryListParams))],
) -> Response:
    refuse_expansions(params.expand, set(), listing=True)
    rows, has_more = await webhook_delivery_service.list_for_endpoint(
        session, caller, webhook_endpoint, params
    )
    return json_response(
        list_object(request.url.path, [webhook_delivery_object(row) for row in rows], has_more)
    )


@deliveries_router.get(
    "/{webhook_delivery}",
    summary="Retrieve a webhook delivery with its attempts",
    **operation(
        query=WebhookDeliveryRetrieveParams,
        returns=WebhookDeliveryWithAttempts,
        access="webhook_endpoints:read",
    ),
)
async def retrieve_webhook_delivery(
    webhook_delivery: DeliveryId,
    session: SessionDep,
    caller: Reader,
    params: Annotated[WebhookDeliveryRetrieveParams, Depends(query(WebhookDeliveryRetrieveParams))],
) -> Response:
    refuse_expansions(params.expand, set())
    row, attempts = await webhook_delivery_service.get(session, caller, webhook_delivery)
    return json_response(webhook_delivery_with_attempts(row, attempts))


@deliveries_router.post(
    "/{webhook_delivery}/retry",
    summary="Send a delivery again now (any status), with a fresh retry schedule",
    **operation(
        body=WebhookDeliveryRetryParams,
        returns=WebhookDelivery,
        access="webhook_endpoints:write",
    ),
)
async def retry_webhook_delivery(
    webhook_delivery: DeliveryId,
    request: Request,
    session: SessionDep,
    caller: Writer,
    params: Annotated[WebhookDeliveryRetryParams, Depends(body(WebhookDeliveryRetryParams))],
) -> Response:
    refuse_expansions(params.expand, set())

    async def execute(_mutation: Mutation) -> Outcome:
        row = await webhook_replay_service.retry(session, caller, webhook_delivery)
        return Outcome(webhook_delivery_object(row))

    return await run_mutation(request, session, caller, params, execute)


def _recovery_object(recovery: Recovery) -> dict[str, object]:
    return {
        "object": "webhook_recovery",
        "webhook_endpoint": recovery.endpoint.id,
        "since": recovery.since,
        "until": recovery.until,
        "deliveries_requeued": recovery.requeued,
        "livemode": recovery.endpoint.livemode,
    }


@router.post(
    "/{webhook_endpoint}/recover",
    summary="Send again every dead or failed delivery of an endpoint created since a time",
    **operation(
        body=WebhookEndpointRecoverParams,
        returns=WebhookRecovery,
        access="webhook_endpoints:write",
    ),
)
async def recover_webhook_endpoint(
    webhook_endpoint: EndpointId,
    request: Request,
    session: SessionDep,
    caller: Writer,
    params: Annotated[WebhookEndpointRecoverParams, Depends(body(WebhookEndpointRecoverParams))],
) -> Response:
    check_window(params.since, params.until)

    async def execute(_mutation: Mutation) -> Outcome:
        recovery = await webhook_replay_service.recover(
            session, caller, webhook_endpoint, params.since, params.until
        )
        return Outcome(_recovery_object(recovery))

    return await run_mutation(request, session, caller, params, execute)
