"""SetupIntent routes: parse, authorize, call the service, render."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Path
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.api.access import (
    SetupIntentsReader,
    SetupIntentsReaderOrBrowser,
    SetupIntentsWriter,
    SetupIntentsWriterOrBrowser,
)
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Mutation, Outcome
from beyondpay.api.routing import Body, Listed, Query, RingDep, Router
from beyondpay.kit.errors import PublishableKeyParameterError
from beyondpay.merchants.domain import Caller, KeyKind
from beyondpay.payment_methods.service import payment_method_object, payment_method_service
from beyondpay.setup_intents.models import SetupIntentRow
from beyondpay.setup_intents.schemas import (
    SetupIntent,
    SetupIntentCancelParams,
    SetupIntentConfirmParams,
    SetupIntentCreateParams,
    SetupIntentListParams,
    SetupIntentRetrieveParams,
    SetupIntentUpdateParams,
    publishable_setup_intent_object,
    setup_intent_object,
)
from beyondpay.setup_intents.service import SetupResult, setup_intent_service

EXPANSIONS: Final = frozenset({"payment_method"})
# Stripe answers a card the network refused at once with 402 card_error.
DECLINED: Final = "The card was declined: a `card_error` with `decline_code`, and the intent."

router = Router(prefix="/v1/setup_intents", tags=["setup_intents"])

SetupIntentId = Annotated[str, Path(max_length=255, description="The SetupIntent's id (`seti_…`).")]


async def render(
    session: AsyncSession, caller: Caller, row: SetupIntentRow, expand: list[str]
) -> dict[str, Any]:
    if caller.kind is KeyKind.publishable:
        # A browser sees what it needs to finish setting the card up, and expands nothing.
        if expand:
            raise PublishableKeyParameterError.for_param("expand")
        return publishable_setup_intent_object(row)
    rendered = setup_intent_object(row)
    if row.payment_method_id and "payment_method" in expand:
        method = await payment_method_service.get(session, caller, row.payment_method_id)
        rendered["payment_method"] = payment_method_object(method)
    return rendered


async def _answer(
    session: AsyncSession, caller: Caller, result: SetupResult, expand: list[str]
) -> Outcome:
    """The intent, or the error body of a card the network refused at once."""
    if result.failure is not None:
        failure = result.failure
        if caller.kind is KeyKind.publishable and "setup_intent" in failure.get("error", {}):
            error = {
                **failure["error"],
                "setup_intent": publishable_setup_intent_object(result.intent),
            }
            failure = {"error": error}
        return Outcome(failure, status=result.failure_status)
    return Outcome(await render(session, caller, result.intent, expand))


@router.post("", returns=SetupIntent, expand=EXPANSIONS, responses={402: DECLINED})
async def create_setup_intent(
    session: SessionDep,
    caller: SetupIntentsWriter,
    ring: RingDep,
    params: Body[SetupIntentCreateParams],
    mutation: Mutation,
    expand: list[str],
) -> Outcome:
    """Create a SetupIntent (and confirm it with `confirm=true`)."""
    result = await setup_intent_service.create(session, caller, ring, params, mutation)
    return await _answer(session, caller, result, expand)


@router.get("/{intent}", returns=SetupIntent, expand=EXPANSIONS)
async def retrieve_setup_intent(
    intent: SetupIntentId,
    session: SessionDep,
    caller: SetupIntentsReaderOrBrowser,
    params: Query[SetupIntentRetrieveParams],
    expand: list[str],
) -> dict[str, Any]:
    """Retrieve a SetupIntent.

    A publishable key (the card element, Stripe.js) sends the intent's `client_secret` and sees
    only the fields a browser needs to finish setting the card up.
    """
    row = await setup_intent_service.get_with_client_secret(
        session, caller, intent, params.client_secret
    )
    return await render(session, caller, row, expand)


@router.post("/{intent}", returns=SetupIntent, expand=EXPANSIONS)
async def update_setup_intent(
    intent: SetupIntentId,
    session: SessionDep,
    caller: SetupIntentsWriter,
    ring: RingDep,
    params: Body[SetupIntentUpdateParams],
    expand: list[str],
) -> Outcome:
    """Update a SetupIntent."""
    row = await setup_intent_service.update(session, caller, ring, intent, params)
    return Outcome(await render(session, caller, row, expand))


@router.post("/{intent}/confirm", returns=SetupIntent, expand=EXPANSIONS, responses={402: DECLINED})
async def confirm_setup_intent(
    intent: SetupIntentId,
    session: SessionDep,
    caller: SetupIntentsWriterOrBrowser,
    ring: RingDep,
    params: Body[SetupIntentConfirmParams],
    mutation: Mutation,
    expand: list[str],
) -> Outcome:
    """Confirm a SetupIntent: the card is verified (and authenticated when its bank asks).

    A publishable key (the card element, Stripe.js) sends the intent's `client_secret`, and
    only the payment method and `return_url`.
    """
    result = await setup_intent_service.confirm(session, caller, ring, intent, params, mutation)
    return await _answer(session, caller, result, expand)


@router.post("/{intent}/cancel", returns=SetupIntent, expand=EXPANSIONS)
async def cancel_setup_intent(
    intent: SetupIntentId,
    session: SessionDep,
    caller: SetupIntentsWriter,
    params: Body[SetupIntentCancelParams],
    expand: list[str],
) -> Outcome:
    """Cancel a SetupIntent."""
    row = await setup_intent_service.cancel(session, caller, intent, params)
    return Outcome(await render(session, caller, row, expand))


@router.get("", returns=SetupIntent, expand=EXPANSIONS)
async def list_setup_intents(
    session: SessionDep,
    caller: SetupIntentsReader,
    params: Query[SetupIntentListParams],
    expand: list[str],
) -> Listed:
    """List SetupIntents."""
    rows, has_more = await setup_intent_service.list(session, caller, params)
    return Listed([await render(session, caller, row, expand) for row in rows], has_more)
