"""Payment intent, charge, balance and balance transaction routes: parse, authorize, call the
service, render."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Path
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.api.access import (
    BalanceReader,
    ChargesReader,
    ChargesWriter,
    PaymentIntentsReader,
    PaymentIntentsReaderOrBrowser,
    PaymentIntentsWriter,
    PaymentIntentsWriterOrBrowser,
)
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Mutation, Outcome
from beyondpay.api.routing import Body, Listed, Query, RingDep, Router, listed
from beyondpay.kit.errors import PublishableKeyParameterError
from beyondpay.kit.invariants import invariant
from beyondpay.merchants.domain import Caller, KeyKind
from beyondpay.payment_methods.service import payment_method_object, payment_method_service
from beyondpay.payments.models import ChargeRow, PaymentIntentRow
from beyondpay.payments.schemas import (
    Balance,
    BalanceTransaction,
    BalanceTransactionListParams,
    Charge,
    ChargeCaptureParams,
    ChargeCreateParams,
    ChargeListParams,
    ChargeSearchParams,
    ChargeSearchResult,
    ChargeUpdateParams,
    PaymentIntent,
    PaymentIntentCancelParams,
    PaymentIntentCaptureParams,
    PaymentIntentConfirmParams,
    PaymentIntentCreateParams,
    PaymentIntentIncrementAuthorizationParams,
    PaymentIntentListParams,
    PaymentIntentSearchParams,
    PaymentIntentSearchResult,
    PaymentIntentUpdateParams,
    PaymentRetrieveParams,
    balance_transaction_object,
    charge_object,
    payment_intent_object,
    publishable_payment_intent_object,
)
from beyondpay.payments.service import (
    ChargeResult,
    ConfirmResult,
    balance_service,
    charge_service,
    legacy_charge_service,
    payment_intent_service,
)

INTENT_EXPANSIONS: Final = frozenset(
    {"latest_charge", "latest_charge.balance_transaction", "payment_method"}
)
CHARGE_EXPANSIONS: Final = frozenset({"balance_transaction", "payment_intent"})
# Stripe answers a card payment the rail (or screening) refused at once with 402 card_error.
DECLINED: Final = "The card was declined: a `card_error` with `decline_code`, and the intent."
CHARGE_DECLINED: Final = "The card was declined: a `card_error` with `decline_code` and `charge`."

intents = Router(prefix="/v1/payment_intents", tags=["payment_intents"])
charges = Router(prefix="/v1/charges", tags=["charges"])
balance = Router(prefix="/v1", tags=["balance"])

IntentId = Annotated[str, Path(max_length=255, description="The payment intent's id (`pi_…`).")]
ChargeId = Annotated[str, Path(max_length=255, description="The charge's id (`ch_…`).")]
TransactionId = Annotated[
    str, Path(max_length=255, description="The balance transaction's id (`txn_…`).")
]


async def render_intent(
    session: AsyncSession, caller: Caller, row: PaymentIntentRow, expand: list[str]
) -> dict[str, Any]:
    if caller.kind is KeyKind.publishable:
        # A browser sees what it needs to finish paying, and expands nothing.
        if expand:
            raise PublishableKeyParameterError.for_param("expand")
        return publishable_payment_intent_object(row)
    rendered = payment_intent_object(row)
    wanted = set(expand)
    if row.latest_charge_id and wanted & {"latest_charge", "latest_charge.balance_transaction"}:
        charge = await charge_service.get(session, caller, row.latest_charge_id)
        nested = ["balance_transaction"] if "latest_charge.balance_transaction" in wanted else []
        rendered["latest_charge"] = await render_charge(session, caller, charge, nested)
    if row.payment_method_id and "payment_method" in wanted:
        method = await payment_method_service.get(session, caller, row.payment_method_id)
        rendered["payment_method"] = payment_method_object(method)
    return rendered


async def render_charge(
    session: AsyncSession, caller: Caller, row: ChargeRow, expand: list[str]
) -> dict[str, Any]:
    rendered = charge_object(row)
    if "balance_transaction" in expand and row.balance_transaction_id:
        transaction = await balance_service.get_transaction(
            session, caller, row.balance_transaction_id
        )
        rendered["balance_transaction"] = balance_transaction_object(transaction)
    if "payment_intent" in expand:
        intent = await payment_intent_service.get(session, caller, row.payment_intent_id)
        rendered["payment_intent"] = payment_intent_object(intent)
    return rendered


async def _answer(
    session: AsyncSession, caller: Caller, result: ConfirmResult, expand: list[str]
) -> Outcome:
    """The intent, or the error body of a payment the rail (or screening) refused at once."""
    if result.failure is not None:
        failure = result.failure
        if caller.kind is KeyKind.publishable:
            error = {**failure["error"]}
            error["payment_intent"] = publishable_payment_intent_object(result.intent)
            failure = {"error": error}
        return Outcome(failure, status=result.failure_status)
    return Outcome(await render_intent(session, caller, result.intent, expand))


@intents.post("", returns=PaymentIntent, expand=INTENT_EXPANSIONS, responses={402: DECLINED})
async def create_payment_intent(
    session: SessionDep,
    caller: PaymentIntentsWriter,
    ring: RingDep,
    params: Body[PaymentIntentCreateParams],
    mutation: Mutation,
    expand: list[str],
) -> Outcome:
    """Create a payment intent."""
    result = await payment_intent_service.create(session, caller, ring, params, mutation)
    return await _answer(session, caller, result, expand)


# Declared before /{intent}, which would otherwise take "search" for an id.
@intents.get("/search", returns=PaymentIntentSearchResult, expand=INTENT_EXPANSIONS, listing=True)
async def search_payment_intents(
    session: SessionDep,
    caller: PaymentIntentsReader,
    params: Query[PaymentIntentSearchParams],
    expand: list[str],
) -> Listed:
    """Search payment intents with Stripe's search query language."""
    rows, has_more, next_page = await payment_intent_service.search(session, caller, params)
    data = [await render_intent(session, caller, row, expand) for row in rows]
    return Listed(data, has_more, object="search_result", extra={"next_page": next_page})


@intents.get("/{intent}", returns=PaymentIntent, expand=INTENT_EXPANSIONS)
async def retrieve_payment_intent(
    intent: IntentId,
    session: SessionDep,
    caller: PaymentIntentsReaderOrBrowser,
    params: Query[PaymentRetrieveParams],
    expand: list[str],
) -> dict[str, Any]:
    """Retrieve a payment intent.

    A publishable key (the card element, Stripe.js) sends the intent's `client_secret` and sees
    only the fields a browser needs to finish paying.
    """
    row = await payment_intent_service.get_with_client_secret(
        session, caller, intent, params.client_secret
    )
    return await render_intent(session, caller, row, expand)


@intents.post("/{intent}", returns=PaymentIntent, expand=INTENT_EXPANSIONS)
async def update_payment_intent(
    intent: IntentId,
    session: SessionDep,
    caller: PaymentIntentsWriter,
    ring: RingDep,
    params: Body[PaymentIntentUpdateParams],
    expand: list[str],
) -> Outcome:
    """Update a payment intent."""
    row = await payment_intent_service.update(session, caller, ring, intent, params)
    return Outcome(await render_intent(session, caller, row, expand))


@intents.post(
    "/{intent}/confirm", returns=PaymentIntent, expand=INTENT_EXPANSIONS, responses={402: DECLINED}
)
async def confirm_payment_intent(
    intent: IntentId,
    session: SessionDep,
    caller: PaymentIntentsWriterOrBrowser,
    ring: RingDep,
    params: Body[PaymentIntentConfirmParams],
    mutation: Mutation,
    expand: list[str],
) -> Outcome:
    """Confirm a payment intent.

    A publishable key (the card element, Stripe.js) sends the intent's `client_secret`, and
    only the payment method, `return_url` and the customer's own details.
    """
    result = await payment_intent_service.confirm(session, caller, ring, intent, params, mutation)
    return await _answer(session, caller, result, expand)


@intents.post(
    "/{intent}/capture", returns=PaymentIntent, expand=INTENT_EXPANSIONS, responses={402: DECLINED}
)
async def capture_payment_intent(
    intent: IntentId,
    session: SessionDep,
    caller: PaymentIntentsWriter,
    ring: RingDep,
    params: Body[PaymentIntentCaptureParams],
    mutation: Mutation,
    expand: list[str],
) -> Outcome:
    """Capture a payment intent."""
    result = await payment_intent_service.capture(session, caller, ring, intent, params, mutation)
    return await _answer(session, caller, result, expand)


@intents.post(
    "/{intent}/increment_authorization",
    returns=PaymentIntent,
    expand=INTENT_EXPANSIONS,
    responses={402: "The issuer refused to raise the authorization: `card_declined`."},
)
async def increment_payment_intent_authorization(
    intent: IntentId,
    session: SessionDep,
    caller: PaymentIntentsWriter,
    ring: RingDep,
    params: Body[PaymentIntentIncrementAuthorizationParams],
    mutation: Mutation,
    expand: list[str],
) -> Outcome:
    """Increment a payment intent's authorization.

    Raises the amount held by a `requires_capture` card intent to `amount` (the new total); the
    intent and its charge take the new amount and a capture may take up to it.
    """
    result = await payment_intent_service.increment_authorization(
        session, caller, ring, intent, params, mutation
    )
    return await _answer(session, caller, result, expand)


@intents.post("/{intent}/cancel", returns=PaymentIntent, expand=INTENT_EXPANSIONS)
async def cancel_payment_intent(
    intent: IntentId,
    session: SessionDep,
    caller: PaymentIntentsWriter,
    params: Body[PaymentIntentCancelParams],
    expand: list[str],
) -> Outcome:
    """Cancel a payment intent."""
    row = await payment_intent_service.cancel(session, caller, intent, params)
    return Outcome(await render_intent(session, caller, row, expand))


@intents.get("", returns=PaymentIntent, expand=INTENT_EXPANSIONS)
async def list_payment_intents(
    session: SessionDep,
    caller: PaymentIntentsReader,
    params: Query[PaymentIntentListParams],
    expand: list[str],
) -> Listed:
    """List payment intents."""
    rows, has_more = await payment_intent_service.list(session, caller, params)
    return Listed([await render_intent(session, caller, row, expand) for row in rows], has_more)


async def _charge_answer(
    session: AsyncSession, caller: Caller, result: ChargeResult, expand: list[str]
) -> Outcome:
    """The charge, or the error body of a payment refused at once (its work committed)."""
    if result.failure is not None:
        return Outcome(result.failure, status=result.failure_status)
    invariant(result.charge is not None, "a charge answered without a failure exists")
    assert result.charge is not None
    return Outcome(await render_charge(session, caller, result.charge, expand))


@charges.post("", returns=Charge, expand=CHARGE_EXPANSIONS, responses={402: CHARGE_DECLINED})
async def create_charge(
    session: SessionDep,
    caller: ChargesWriter,
    ring: RingDep,
    params: Body[ChargeCreateParams],
    mutation: Mutation,
    expand: list[str],
) -> Outcome:
    """Create a charge (Stripe's legacy Charges API).

    Charges `source` (a token `tok_…`, a saved card `card_…` with its `customer`, or a
    payment method `pm_…`) at once, or only authorizes it with `capture=false`. Made through an
    internal payment intent, which the charge names in `payment_intent`.
    """
    result = await legacy_charge_service.create(session, caller, ring, params, mutation)
    return await _charge_answer(session, caller, result, expand)


@charges.post(
    "/{charge}/capture", returns=Charge, expand=CHARGE_EXPANSIONS, responses={402: DECLINED}
)
async def capture_charge(
    charge: ChargeId,
    session: SessionDep,
    caller: ChargesWriter,
    ring: RingDep,
    params: Body[ChargeCaptureParams],
    mutation: Mutation,
    expand: list[str],
) -> Outcome:
    """Capture a charge.

    Captures `amount` (or all) of an authorized, uncaptured charge — one created with
    `capture=false`, or a payment intent's with manual capture — by capturing its intent.
    """
    result = await legacy_charge_service.capture(session, caller, ring, charge, params, mutation)
    return await _charge_answer(session, caller, result, expand)


# Declared before /{charge}, which would otherwise take "search" for an id.
@charges.get("/search", returns=ChargeSearchResult, expand=CHARGE_EXPANSIONS, listing=True)
async def search_charges(
    session: SessionDep, caller: ChargesReader, params: Query[ChargeSearchParams], expand: list[str]
) -> Listed:
    """Search charges with Stripe's search query language."""
    rows, has_more, next_page = await charge_service.search(session, caller, params)
    data = [await render_charge(session, caller, row, expand) for row in rows]
    return Listed(data, has_more, object="search_result", extra={"next_page": next_page})


@charges.get("/{charge}", returns=Charge, expand=CHARGE_EXPANSIONS)
async def retrieve_charge(
    charge: ChargeId,
    session: SessionDep,
    caller: ChargesReader,
    _: Query[PaymentRetrieveParams],
    expand: list[str],
) -> dict[str, Any]:
    """Retrieve a charge."""
    return await render_charge(
        session, caller, await charge_service.get(session, caller, charge), expand
    )


@charges.post("/{charge}", returns=Charge, expand=CHARGE_EXPANSIONS)
async def update_charge(
    charge: ChargeId,
    session: SessionDep,
    caller: ChargesWriter,
    params: Body[ChargeUpdateParams],
    expand: list[str],
) -> Outcome:
    """Update a charge."""
    row = await charge_service.update(session, caller, charge, params)
    return Outcome(await render_charge(session, caller, row, expand))


@charges.get("", returns=Charge, expand=CHARGE_EXPANSIONS)
async def list_charges(
    session: SessionDep, caller: ChargesReader, params: Query[ChargeListParams], expand: list[str]
) -> Listed:
    """List charges."""
    rows, has_more = await charge_service.list(session, caller, params)
    return Listed([await render_charge(session, caller, row, expand) for row in rows], has_more)


@balance.get("/balance", returns=Balance)
async def retrieve_balance(session: SessionDep, caller: BalanceReader) -> dict[str, Any]:
    """Retrieve the balance."""
    return await balance_service.balance(session, caller)


@balance.get("/balance_transactions/{transaction}", returns=BalanceTransaction)
async def retrieve_balance_transaction(
    transaction: TransactionId,
    session: SessionDep,
    caller: BalanceReader,
    _: Query[PaymentRetrieveParams],
) -> dict[str, Any]:
    """Retrieve a balance transaction."""
    return balance_transaction_object(
        await balance_service.get_transaction(session, caller, transaction)
    )


@balance.get("/balance_transactions", returns=BalanceTransaction)
async def list_balance_transactions(
    session: SessionDep, caller: BalanceReader, params: Query[BalanceTransactionListParams]
) -> Listed:
    """List balance transactions."""
    page = await balance_service.list_transactions(session, caller, params)
    return listed(balance_transaction_object, page)
