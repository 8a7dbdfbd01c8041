"""PSP transfer routes: review and pay, collect requests, the payer's history.

A wrong PIN, or a risk or limits refusal, is the answer of a payment, not an exception
(``answered=``): the PIN's counted try is committed with it (a raised error would roll it back,
and a PIN could then be guessed without end), and so are the risk assessment and the limits
decision. Nothing else is written before those checks.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Path, Request
from starlette.responses import Response

from beyondpay.api.auth import SessionDep
from beyondpay.api.lists import list_object, list_of
from beyondpay.api.mutation import Mutation, Outcome
from beyondpay.api.responses import json_response
from beyondpay.api.routing import Body, Query, RingDep, Router
from beyondpay.kit.clock import utcnow
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

router = Router(prefix="/v1/psp", tags=["psp"])
PAYER: Final = "payer"
TransactionId = Annotated[str, Path(max_length=255, description="The transaction's id (`ptx_…`).")]
CollectId = Annotated[str, Path(max_length=255, description="The collect request's id (`pcr_…`).")]
TransactionList = list_of(Transaction)
CollectRequestList = list_of(CollectRequest)


# The 402s of refused payments.
PAY_REFUSED: Final = (
    "A wrong UPI PIN (`incorrect_pin`, decline_code ZM) or a locked one (`pin_tries_exceeded`,"
    " Z6), the try counted; or over one of the payer's limits (`limit_exceeded` and its kinds,"
    " Z8 for an amount, Z7 for the count of the day)."
)
COLLECT_REFUSED: Final = (
    "More than a collect request to a person may ask for (`collect_limit_exceeded`, Z8)."
)
KEPT_REFUSALS: Final = (UpiPinError, ScreeningRefusalError)


@router.post(
    "/payments/review",
    summary="Preview a payment: the payee's verified name, the amount and the limits left",
    returns=PaymentReview,
    access=PAYER,
)
async def review_payment(
    session: SessionDep, ring: RingDep, payer: PayerDep, params: Body[PaymentReviewParams]
) -> Outcome:
    return Outcome(await transfer_service.review(session, ring, payer, params))


@router.post(
    "/payments",
    summary="Pay a VPA, alias, mobile number, beneficiary or scanned QR with the UPI PIN",
    returns=Transaction,
    access=PAYER,
    responses={402: PAY_REFUSED},
    answered=KEPT_REFUSALS,
)
async def create_payment(
    session: SessionDep,
    ring: RingDep,
    payer: PayerDep,
    params: Body[PaymentCreateParams],
    mutation: Mutation,
) -> Outcome:
    row = await transfer_service.pay(session, ring, payer, params, mutation)
    return Outcome(transaction_object(row, payer.payer_id))


@router.get(
    "/transactions",
    summary="The payer's transactions, newest first",
    returns=TransactionList,
    access=PAYER,
)
async def list_transactions(
    request: Request, session: SessionDep, payer: PayerDep, params: Query[TransactionListParams]
) -> Response:
    rows, has_more = await transfer_service.list(session, payer.payer_id, params)
    data = [transaction_object(row, payer.payer_id) for row in rows]
    return json_response(list_object(request.url.path, data, has_more))


@router.get(
    "/transactions/{transaction}",
    summary="Retrieve a transaction (its receipt)",
    returns=Transaction,
    access=PAYER,
)
async def retrieve_transaction(
    transaction: TransactionId,
    session: SessionDep,
    payer: PayerDep,
    _: Query[TransactionRetrieveParams],
) -> Response:
    row = await transfer_service.get(session, payer.payer_id, transaction)
    return json_response(transaction_object(row, payer.payer_id))


@router.post(
    "/collect_requests",
    summary="Ask another payer for money (a UPI collect request)",
    returns=CollectRequest,
    access=PAYER,
    responses={402: COLLECT_REFUSED},
)
async def create_collect_request(
    session: SessionDep, ring: RingDep, payer: PayerDep, params: Body[CollectCreateParams]
) -> Outcome:
    row = await collect_service.create(session, ring, payer, params)
    return Outcome(collect_request_object(row, payer.payer_id, utcnow()))


@router.get(
    "/collect_requests",
    summary="Collect requests to the payer (role=payer) or from them (role=requester)",
    returns=CollectRequestList,
    access=PAYER,
)
async def list_collect_requests(
    request: Request, session: SessionDep, payer: PayerDep, params: Query[CollectListParams]
) -> Response:
    rows, has_more = await collect_service.list(session, payer.payer_id, params)
    now = utcnow()
    data = [collect_request_object(row, payer.payer_id, now) for row in rows]
    return json_response(list_object(request.url.path, data, has_more))


@router.get(
    "/collect_requests/{collect_request}",
    summary="Retrieve a collect request",
    returns=CollectRequest,
    access=PAYER,
)
async def retrieve_collect_request(
    collect_request: CollectId,
    session: SessionDep,
    payer: PayerDep,
    _: Query[TransactionRetrieveParams],
) -> Response:
    row = await collect_service.get(session, payer.payer_id, collect_request)
    return json_response(collect_request_object(row, payer.payer_id, utcnow()))


@router.post(
    "/collect_requests/{collect_request}/approve",
    summary="Pay a collect request with the UPI PIN",
    returns=CollectRequest,
    access=PAYER,
    responses={402: PAY_REFUSED},
    answered=KEPT_REFUSALS,
)
async def approve_collect_request(
    collect_request: CollectId,
    session: SessionDep,
    ring: RingDep,
    payer: PayerDep,
    params: Body[CollectApproveParams],
    mutation: Mutation,
) -> Outcome:
    row = await collect_service.approve(
        session,
        ring,
        payer,
        collect_request,
        pin=params.pin,
        bank_account=params.bank_account,
        phases=mutation,
        step_up=params.step_up,
    )
    return Outcome(collect_request_object(row, payer.payer_id, utcnow()))


@router.post(
    "/collect_requests/{collect_request}/decline",
    summary="Decline a collect request (NPCI's ZA)",
    returns=CollectRequest,
    access=PAYER,
)
async def decline_collect_request(
    collect_request: CollectId,
    session: SessionDep,
    payer: PayerDep,
    _: Body[CollectDeclineParams],
    mutation: Mutation,
) -> Outcome:
    row = await collect_service.decline(session, payer, collect_request, mutation)
    return Outcome(collect_request_object(row, payer.payer_id, utcnow()))
