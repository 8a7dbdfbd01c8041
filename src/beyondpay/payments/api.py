"""Payment intent, charge, balance and balance transaction routes: parse, authorize, call the
service, render."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from beyondpay.api.auth import SessionDep, authorize
from beyondpay.api.expand import refuse_expansions
from beyondpay.api.lists import list_object, list_of
from beyondpay.api.mutation import Mutation, Outcome, run_mutation
from beyondpay.api.openapi import operation
from beyondpay.api.params import body, query
from beyondpay.api.responses import json_response
from beyondpay.kit.crypto import KeyRing
from beyondpay.merchants.domain import Caller, Scope
from beyondpay.payment_methods.service import payment_method_object, payment_method_service
from beyondpay.payments.models import ChargeRow, PaymentIntentRow
from beyondpay.payments.schemas import (
    Balance,
    BalanceRetrieveParams,
    BalanceTransaction,
    BalanceTransactionListParams,
    Charge,
    ChargeListParams,
    ChargeUpdateParams,
    PaymentIntent,
    PaymentIntentCancelParams,
    PaymentIntentCaptureParams,
    PaymentIntentConfirmParams,
    PaymentIntentCreateParams,
    PaymentIntentListParams,
    PaymentIntentUpdateParams,
    RetrieveParams,
    balance_transaction_object,
    charge_object,
    payment_intent_object,
)
from beyondpay.payments.service import (
    ConfirmResult,
    balance_service,
    charge_service,
    payment_intent_service,
)

intents = APIRouter(prefix="/v1/payment_intents", tags=["payment_intents"])
charges = APIRouter(prefix="/v1/charges", tags=["charges"])
balance = APIRouter(prefix="/v1", tags=["balance"])

IntentReader = Annotated[Caller, Depends(authorize(Scope.payment_intents_read))]
IntentWriter = Annotated[Caller, Depends(authorize(Scope.payment_intents_write))]
ChargeReader = Annotated[Caller, Depends(authorize(Scope.charges_read))]
ChargeWriter = Annotated[Caller, Depends(authorize(Scope.charges_write))]
BalanceReader = Annotated[Caller, Depends(authorize(Scope.balance_read))]
IntentId = Annotated[str, Path(max_length=255, description="The payment intent's id (`pi_…`).")]
ChargeId = Annotated[str, Path(max_length=255, description="The charge's id (`ch_…`).")]
TransactionId = Annotated[
    str, Path(max_length=255, description="The balance transaction's id (`txn_…`).")
]

INTENT_EXPANSIONS: Final = frozenset(
    {"latest_charge", "latest_charge.balance_transaction", "payment_method"}
)
CHARGE_EXPANSIONS: Final = frozenset({"balance_transaction", "payment_intent"})


def _ring(request: Request) -> KeyRing:
    ring: KeyRing = request.app.state.key_ring
    return ring


async def render_intent(
    session: AsyncSession, caller: Caller, row: PaymentIntentRow, expand: list[str]
) -> dict[str, Any]:
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
    if result.failure is not None:
        return Outcome(result.failure, status=result.failure_status)
    return Outcome(await render_intent(session, caller, result.intent, expand))


@intents.post(
    "",
    summary="Create a payment intent",
    **operation(
        body=PaymentIntentCreateParams, returns=PaymentIntent, access="payment_intents:write"
    ),
)
async def create_payment_intent(
    request: Request,
    session: SessionDep,
    caller: IntentWriter,
    params: Annotated[PaymentIntentCreateParams, Depends(body(PaymentIntentCreateParams))],
) -> Response:
    expand = refuse_expansions(params.expand, set(INTENT_EXPANSIONS))

    async def execute(mutation: Mutation) -> Outcome:
        result = await payment_intent_service.create(
            session, caller, _ring(request), params, mutation
        )
        return await _answer(session, caller, result, expand)

    return await run_mutation(request, session, caller, params, execute)


@intents.get(
    "/{intent}",
    summary="Retrieve a payment intent",
    **operation(query=RetrieveParams, returns=PaymentIntent, access="payment_intents:read"),
)
async def retrieve_payment_intent(
    intent: IntentId,
    session: SessionDep,
    caller: IntentReader,
    params: Annotated[RetrieveParams, Depends(query(RetrieveParams))],
) -> Response:
    expand = refuse_expansions(params.expand, set(INTENT_EXPANSIONS))
    row = await payment_intent_service.get(session, caller, intent)
    return json_response(await render_intent(session, caller, row, expand))


@intents.post(
    "/{intent}",
    summary="Update a payment intent",
    **operation(
        body=PaymentIntentUpdateParams, returns=PaymentIntent, access="payment_intents:write"
    ),
)
async def update_payment_intent(
    intent: IntentId,
    request: Request,
    session: SessionDep,
    caller: IntentWriter,
    params: Annotated[PaymentIntentUpdateParams, Depends(body(PaymentIntentUpdateParams))],
) -> Response:
    expand = refuse_expansions(params.expand, set(INTENT_EXPANSIONS))

    async def execute(_mutation: Mutation) -> Outcome:
        row = await payment_intent_service.update(session, caller, _ring(request), intent, params)
        return Outcome(await render_intent(session, caller, row, expand))

    return await run_mutation(request, session, caller, params, execute)


@intents.post(
    "/{intent}/confirm",
    summary="Confirm a payment intent",
    **operation(
        body=PaymentIntentConfirmParams, returns=PaymentIntent, access="payment_intents:write"
    ),
)
async def confirm_payment_intent(
    intent: IntentId,
    request: Request,
    session: SessionDep,
    caller: IntentWriter,
    params: Annotated[PaymentIntentConfirmParams, Depends(body(PaymentIntentConfirmParams))],
) -> Response:
    expand = refuse_expansions(params.expand, set(INTENT_EXPANSIONS))

    async def execute(mutation: Mutation) -> Outcome:
        result = await payment_intent_service.confirm(
            session, caller, _ring(request), intent, params, mutation
        )
        return await _answer(session, caller, result, expand)

    return await run_mutation(request, session, caller, params, execute)


@intents.post(
    "/{intent}/capture",
    summary="Capture a payment intent",
    **operation(
        body=PaymentIntentCaptureParams, returns=PaymentIntent, access="payment_intents:write"
    ),
)
async def capture_payment_intent(
    intent: IntentId,
    request: Request,
    session: SessionDep,
    caller: IntentWriter,
    params: Annotated[PaymentIntentCaptureParams, Depends(body(PaymentIntentCaptureParams))],
) -> Response:
    expand = refuse_expansions(params.expand, set(INTENT_EXPANSIONS))

    async def execute(mutation: Mutation) -> Outcome:
        result = await payment_intent_service.capture(
            session, caller, _ring(request), intent, params, mutation
        )
        return await _answer(session, caller, result, expand)

    return await run_mutation(request, session, caller, params, execute)


@intents.post(
    "/{intent}/cancel",
    summary="Cancel a payment intent",
    **operation(
        body=PaymentIntentCancelParams, returns=PaymentIntent, access="payment_intents:write"
    ),
)
async def cancel_payment_intent(
    intent: IntentId,
    request: Request,
    session: SessionDep,
    caller: IntentWriter,
    params: Annotated[PaymentIntentCancelParams, Depends(body(PaymentIntentCancelParams))],
) -> Response:
    expand = refuse_expansions(params.expand, set(INTENT_EXPANSIONS))

    async def execute(_mutation: Mutation) -> Outcome:
        row = await payment_intent_service.cancel(session, caller, intent, params)
        return Outcome(await render_intent(session, caller, row, expand))

    return await run_mutation(request, session, caller, params, execute)


PaymentIntentList = list_of(PaymentIntent)


@intents.get(
    "",
    summary="List payment intents",
    **operation(
        query=PaymentIntentListParams, returns=PaymentIntentList, access="payment_intents:read"
    ),
)
async def list_payment_intents(
    request: Request,
    session: SessionDep,
    caller: IntentReader,
    params: Annotated[PaymentIntentListParams, Depends(query(PaymentIntentListParams))],
) -> Response:
    expand = refuse_expansions(params.expand, set(INTENT_EXPANSIONS), listing=True)
    rows, has_more = await payment_intent_service.list(session, caller, params)
    data = [await render_intent(session, caller, row, expand) for row in rows]
    return json_response(list_object(request.url.path, data, has_more))


@charges.get(
    "/{charge}",
    summary="Retrieve a charge",
    **operation(query=RetrieveParams, returns=Charge, access="charges:read"),
)
async def retrieve_charge(
    charge: ChargeId,
    session: SessionDep,
    caller: ChargeReader,
    params: Annotated[RetrieveParams, Depends(query(RetrieveParams))],
) -> Response:
    expand = refuse_expansions(params.expand, set(CHARGE_EXPANSIONS))
    row = await charge_service.get(session, caller, charge)
    return json_response(await render_charge(session, caller, row, expand))


@charges.post(
    "/{charge}",
    summary="Update a charge",
    **operation(body=ChargeUpdateParams, returns=Charge, access="charges:write"),
)
async def update_charge(
    charge: ChargeId,
    request: Request,
    session: SessionDep,
    caller: ChargeWriter,
    params: Annotated[ChargeUpdateParams, Depends(body(ChargeUpdateParams))],
) -> Response:
    expand = refuse_expansions(params.expand, set(CHARGE_EXPANSIONS))

    async def execute(_mutation: Mutation) -> Outcome:
        row = await charge_service.update(session, caller, charge, params)
        return Outcome(await render_charge(session, caller, row, expand))

    return await run_mutation(request, session, caller, params, execute)


ChargeList = list_of(Charge)


@charges.get(
    "",
    summary="List charges",
    **operation(query=ChargeListParams, returns=ChargeList, access="charges:read"),
)
async def list_charges(
    request: Request,
    session: SessionDep,
    caller: ChargeReader,
    params: Annotated[ChargeListParams, Depends(query(ChargeListParams))],
) -> Response:
    expand = refuse_expansions(params.expand, set(CHARGE_EXPANSIONS), listing=True)
    rows, has_more = await charge_service.list(session, caller, params)
    data = [await render_charge(session, caller, row, expand) for row in rows]
    return json_response(list_object(request.url.path, data, has_more))


@balance.get(
    "/balance",
    summary="Retrieve the balance",
    **operation(query=BalanceRetrieveParams, returns=Balance, access="balance:read"),
)
async def retrieve_balance(
    session: SessionDep,
    caller: BalanceReader,
    params: Annotated[BalanceRetrieveParams, Depends(query(BalanceRetrieveParams))],
) -> Response:
    refuse_expansions(params.expand, set())
    return json_response(await balance_service.balance(session, caller))


@balance.get(
    "/balance_transactions/{transaction}",
    summary="Retrieve a balance transaction",
    **operation(query=RetrieveParams, returns=BalanceTransaction, access="balance:read"),
)
async def retrieve_balance_transaction(
    transaction: TransactionId,
    session: SessionDep,
    caller: BalanceReader,
    params: Annotated[RetrieveParams, Depends(query(RetrieveParams))],
) -> Response:
    refuse_expansions(params.expand, set())
    row = await balance_service.get_transaction(session, caller, transaction)
    return json_response(balance_transaction_object(row))


BalanceTransactionList = list_of(BalanceTransaction)


@balance.get(
    "/balance_transactions",
    summary="List balance transactions",
    **operation(
        query=BalanceTransactionListParams, returns=BalanceTransactionList, access="balance:read"
    ),
)
async def list_balance_transactions(
    request: Request,
    session: SessionDep,
    caller: BalanceReader,
    params: Annotated[BalanceTransactionListParams, Depends(query(BalanceTransactionListParams))],
) -> Response:
    refuse_expansions(params.expand, set(), listing=True)
    rows, has_more = await balance_service.list_transactions(session, caller, params)
    data = [balance_transaction_object(row) for row in rows]
    return json_response(list_object(request.url.path, data, has_more))
