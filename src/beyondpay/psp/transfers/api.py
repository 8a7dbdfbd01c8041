"""PSP transfer routes: review and pay, collect requests, the payer's history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

from beyondpay.api.auth import SessionDep
from beyondpay.api.lists import list_object, list_of
from beyondpay.api.mutation import Mutation, Outcome, run_mutation
from beyondpay.api.openapi import ErrorEnvelope, operation
from beyondpay.api.params import body, query
from beyondpay.api.responses import json_response
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.psp.banking.errors import UpiPinError
from beyondpay.psp.identity.auth import PayerDep
from beyondpay.psp.transfers.errors import ScreeningRefusalError
from beyondpay.psp.transfers.schemas import (
    CollectApproveParams,
    CollectCreateParams,
    CollectDeclineParams,
    CollectListParams,
    CollectRequest,
    PaymentCreateParams,
    PaymentReview,
    PaymentReviewParams,
    Transaction,
    TransactionListParams,
    TransactionRetrieveParams,
    collect_request_object,
    transaction_object,
)
from beyondpay.psp.transfers.service import collect_service, transfer_service

router = APIRouter(prefix="/v1/psp", tags=["psp"])
PAYER: str = "payer"
TransactionId = Annotated[str, Path(max_length=255, description="The transaction's id (`ptx_…`).")]
CollectId = Annotated[str, Path(max_length=255, description="The collect request's id (`pcr_…`).")]


_PAY_REFUSED = (
    "A wrong UPI PIN (`incorrect_pin`, decline_code ZM) or a locked one (`pin_tries_exceeded`,"
    " Z6), the try counted; or over one of the payer's limits (`limit_exceeded` and its kinds,"
    " Z8 for an amount, Z7 for the count of the day)."
)
_COLLECT_REFUSED = (
    "More than a collect request to a person may ask for (`collect_limit_exceeded`, Z8)."
)


def _refusable(kwargs: dict[str, Any], refused: str) -> dict[str, Any]:
    """``operation``'s keyword arguments with the 402 of a refused payment documented."""
    responses = {
        **kwargs.get("responses", {}),
        402: {"model": ErrorEnvelope, "description": refused},
    }
    return {**kwargs, "responses": responses}


def _ring(request: Request) -> KeyRing:
    ring: KeyRing = request.app.state.key_ring
    return ring


@router.post(
    "/payments/review",
    summary="Preview a payment: the payee's verified name, the amount and the limits left",
    **operation(body=PaymentReviewParams, returns=PaymentReview, access=PAYER),
)
async def review_payment(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[PaymentReviewParams, Depends(body(PaymentReviewParams))],
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        return Outcome(await transfer_service.review(session, _ring(request), payer, params))

    return await run_mutation(request, session, payer.caller, params, execute)


@router.post(
    "/payments",
    summary="Pay a VPA, alias, mobile number, beneficiary or scanned QR with the UPI PIN",
    **_refusable(
        operation(body=PaymentCreateParams, returns=Transaction, access=PAYER), _PAY_REFUSED
    ),
)
async def create_payment(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[PaymentCreateParams, Depends(body(PaymentCreateParams))],
) -> Response:
    async def execute(mutation: Mutation) -> Outcome:
        try:
            row = await transfer_service.pay(session, _ring(request), payer, params, mutation)
        except (UpiPinError, ScreeningRefusalError) as refusal:
            # A wrong PIN is counted toward the lock in this transaction: answered, not raised,
            # so the count is committed (a raised error would roll it back, and a PIN could
            # then be guessed without end). Nothing else is written before the PIN check. A
            # risk or limits refusal is answered too, so its assessment and decision are kept.
            return Outcome(refusal.to_dict(), refusal.status)
        return Outcome(transaction_object(row, payer.payer_id))

    return await run_mutation(request, session, payer.caller, params, execute)


@router.get(
    "/transactions",
    summary="The payer's transactions, newest first",
    **operation(query=TransactionListParams, returns=list_of(Transaction), access=PAYER),
)
async def list_transactions(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[TransactionListParams, Depends(query(TransactionListParams))],
) -> Response:
    rows, has_more = await transfer_service.list(session, payer.payer_id, params)
    data = [transaction_object(row, payer.payer_id) for row in rows]
    return json_response(list_object(request.url.path, data, has_more))


@router.get(
    "/transactions/{transaction}",
    summary="Retrieve a transaction (its receipt)",
    **operation(query=TransactionRetrieveParams, returns=Transaction, access=PAYER),
)
async def retrieve_transaction(
    transaction: TransactionId,
    session: SessionDep,
    payer: PayerDep,
    _params: Annotated[TransactionRetrieveParams, Depends(query(TransactionRetrieveParams))],
) -> Response:
    row = await transfer_service.get(session, payer.payer_id, transaction)
    return json_response(transaction_object(row, payer.payer_id))


@router.post(
    "/collect_requests",
    summary="Ask another payer for money (a UPI collect request)",
    **_refusable(
        operation(body=CollectCreateParams, returns=CollectRequest, access=PAYER),
        _COLLECT_REFUSED,
    ),
)
async def create_collect_request(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[CollectCreateParams, Depends(body(CollectCreateParams))],
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        row = await collect_service.create(session, _ring(request), payer, params)
        return Outcome(collect_request_object(row, payer.payer_id, utcnow()))

    return await run_mutation(request, session, payer.caller, params, execute)


@router.get(
    "/collect_requests",
    summary="Collect requests to the payer (role=payer) or from them (role=requester)",
    **operation(query=CollectListParams, returns=list_of(CollectRequest), access=PAYER),
)
async def list_collect_requests(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[CollectListParams, Depends(query(CollectListParams))],
) -> Response:
    rows, has_more = await collect_service.list(session, payer.payer_id, params)
    now = utcnow()
    data = [collect_request_object(row, payer.payer_id, now) for row in rows]
    return json_response(list_object(request.url.path, data, has_more))


@router.get(
    "/collect_requests/{collect_request}",
    summary="Retrieve a collect request",
    **operation(query=TransactionRetrieveParams, returns=CollectRequest, access=PAYER),
)
async def retrieve_collect_request(
    collect_request: CollectId,
    session: SessionDep,
    payer: PayerDep,
    _params: Annotated[TransactionRetrieveParams, Depends(query(TransactionRetrieveParams))],
) -> Response:
    row = await collect_service.get(session, payer.payer_id, collect_request)
    return json_response(collect_request_object(row, payer.payer_id, utcnow()))


@router.post(
    "/collect_requests/{collect_request}/approve",
    summary="Pay a collect request with the UPI PIN",
    **_refusable(
        operation(body=CollectApproveParams, returns=CollectRequest, access=PAYER),
        _PAY_REFUSED,
    ),
)
async def approve_collect_request(
    collect_request: CollectId,
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[CollectApproveParams, Depends(body(CollectApproveParams))],
) -> Response:
    async def execute(mutation: Mutation) -> Outcome:
        try:
            row = await collect_service.approve(
                session,
                _ring(request),
                payer,
                collect_request,
                pin=params.pin,
                bank_account=params.bank_account,
                phases=mutation,
                step_up=params.step_up,
            )
        except (UpiPinError, ScreeningRefusalError) as refusal:  # kept, as in create_payment
            return Outcome(refusal.to_dict(), refusal.status)
        return Outcome(collect_request_object(row, payer.payer_id, utcnow()))

    return await run_mutation(request, session, payer.caller, params, execute)


@router.post(
    "/collect_requests/{collect_request}/decline",
    summary="Decline a collect request (NPCI's ZA)",
    **operation(body=CollectDeclineParams, returns=CollectRequest, access=PAYER),
)
async def decline_collect_request(
    collect_request: CollectId,
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[CollectDeclineParams, Depends(body(CollectDeclineParams))],
) -> Response:
    async def execute(mutation: Mutation) -> Outcome:
        row = await collect_service.decline(session, payer, collect_request, mutation)
        return Outcome(collect_request_object(row, payer.payer_id, utcnow()))

    return await run_mutation(request, session, payer.caller, params, execute)
