"""PSP transfer routes: review and pay, collect requests, the payer's history.

A wrong PIN, or a risk or limits refusal, is the answer of a payment, not an exception
(``answered=``): the PIN's counted try is committed with it (a raised error would roll it back,
and a PIN could then be guessed without end), and so are the risk assessment and the limits
decision. Nothing else is written before those checks. A payment the switch or the payer's bank
declined is answered the same way, as a ``402 card_error`` holding the failed transaction (or
collect request), which stays in the payer's history.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Path

from beyondpay.api.mutation import Mutation, Outcome
from beyondpay.api.routing import Body, Listed, Query, Router
from beyondpay.kit.clock import utcnow
from beyondpay.psp.banking.errors import UpiPinError
from beyondpay.psp.identity.auth import Payer, PayerCall
from beyondpay.psp.transfers.errors import PaymentDeclinedError, ScreeningRefusalError
from beyondpay.psp.transfers.models import CollectRequestRow, TransferRow
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
    collect_request_object,
    transaction_object,
)
from beyondpay.psp.transfers.service import collect_service, transfer_service

router = Router(prefix="/v1/psp", tags=["psp"])
TransactionId = Annotated[str, Path(max_length=255, description="The transaction's id (`ptx_…`).")]
CollectId = Annotated[str, Path(max_length=255, description="The collect request's id (`pcr_…`).")]


# The 402s of refused payments: each a `card_error`, as Stripe answers a declined card.
PAY_REFUSED: Final = (
    "A `card_error`: a wrong UPI PIN (`incorrect_pin`, decline_code ZM) or a locked one"
    " (`pin_tries_exceeded`, Z6), the try counted; over one of the payer's limits"
    " (`limit_exceeded` and its kinds, Z8 for an amount, Z7 for the count of the day); refused"
    " by risk (`risk_blocked`, U16), by a limits policy, or waiting for a passkey step-up"
    " (`step_up_required`); or declined by the switch or the payer's bank (the transaction's"
    " `failure_code`, decline_code Z9, U30, …, with the failed object beside the error)."
)
COLLECT_REFUSED: Final = (
    "A `card_error`: more than a collect request to a person may ask for"
    " (`collect_limit_exceeded`, Z8)."
)
KEPT_REFUSALS: Final = (UpiPinError, ScreeningRefusalError)


def _collect_request(row: CollectRequestRow, payer: PayerCall) -> dict[str, Any]:
    """A collect request as the payer sees it (asking or asked), expired or not by now."""
    return collect_request_object(row, payer.id, utcnow())


def _declined(transfer: TransferRow, attached: str, obj: dict[str, Any]) -> Outcome:
    """A payment the switch or the payer's bank refused: ``402 card_error`` with ``obj``."""
    declined = PaymentDeclinedError(
        transfer.failure_code, transfer.failure_message, transfer.npci_code, attached=attached
    )
    return Outcome(declined.answer(obj), declined.status)


def _receipt(row: TransferRow, payer: PayerCall) -> Outcome:
    receipt = transaction_object(row, payer.id)
    return _declined(row, "transaction", receipt) if row.status == "failed" else Outcome(receipt)


async def _approved(row: CollectRequestRow, payer: PayerCall) -> Outcome:
    """The collect request once its approval was answered; declined if its payment failed."""
    rendered = _collect_request(row, payer)
    if row.transfer_id is None:
        return Outcome(rendered)
    transfer = await transfer_service.get(payer.session, payer.id, row.transfer_id)
    if transfer.status != "failed":
        return Outcome(rendered)
    return _declined(transfer, "collect_request", rendered)


@router.post("/payments/review", returns=PaymentReview)
async def review_payment(payer: Payer, params: Body[PaymentReviewParams]) -> Outcome:
    """Preview a payment: the payee's verified name, the amount and the limits left."""
    return Outcome(await transfer_service.review(payer.session, payer.ring, payer.context, params))


@router.post("/payments", returns=Transaction, responses={402: PAY_REFUSED}, answered=KEPT_REFUSALS)
async def create_payment(
    payer: Payer, params: Body[PaymentCreateParams], mutation: Mutation
) -> Outcome:
    """Pay a VPA, alias, mobile number, beneficiary or scanned QR with the UPI PIN."""
    row = await transfer_service.pay(payer.session, payer.ring, payer.context, params, mutation)
    return _receipt(row, payer)


@router.get("/transactions", returns=Transaction)
async def list_transactions(payer: Payer, params: Query[TransactionListParams]) -> Listed:
    """The payer's transactions, newest first."""
    rows, has_more = await transfer_service.list(payer.session, payer.id, params)
    return Listed([transaction_object(row, payer.id) for row in rows], has_more)


@router.get("/transactions/{transaction}", returns=Transaction)
async def retrieve_transaction(transaction: TransactionId, payer: Payer) -> dict[str, Any]:
    """Retrieve a transaction (its receipt)."""
    row = await transfer_service.get(payer.session, payer.id, transaction)
    return transaction_object(row, payer.id)


@router.post("/collect_requests", returns=CollectRequest, responses={402: COLLECT_REFUSED})
async def create_collect_request(payer: Payer, params: Body[CollectCreateParams]) -> Outcome:
    """Ask another payer for money (a UPI collect request)."""
    row = await collect_service.create(payer.session, payer.ring, payer.context, params)
    return Outcome(_collect_request(row, payer))


@router.get("/collect_requests", returns=CollectRequest)
async def list_collect_requests(payer: Payer, params: Query[CollectListParams]) -> Listed:
    """Collect requests to the payer (role=payer) or from them (role=requester)."""
    rows, has_more = await collect_service.list(payer.session, payer.id, params)
    now = utcnow()
    return Listed([collect_request_object(row, payer.id, now) for row in rows], has_more)


@router.get("/collect_requests/{collect_request}", returns=CollectRequest)
async def retrieve_collect_request(collect_request: CollectId, payer: Payer) -> dict[str, Any]:
    """Retrieve a collect request."""
    row = await collect_service.get(payer.session, payer.id, collect_request)
    return _collect_request(row, payer)


@router.post(
    "/collect_requests/{collect_request}/approve",
    returns=CollectRequest,
    responses={402: PAY_REFUSED},
    answered=KEPT_REFUSALS,
)
async def approve_collect_request(
    collect_request: CollectId, payer: Payer, params: Body[CollectApproveParams], mutation: Mutation
) -> Outcome:
    """Pay a collect request with the UPI PIN."""
    row = await collect_service.approve(
        payer.session,
        payer.ring,
        payer.context,
        collect_request,
        pin=params.pin,
        bank_account=params.bank_account,
        phases=mutation,
        step_up=params.step_up,
    )
    return await _approved(row, payer)


@router.post("/collect_requests/{collect_request}/decline", returns=CollectRequest)
async def decline_collect_request(
    collect_request: CollectId, payer: Payer, _: Body[CollectDeclineParams], mutation: Mutation
) -> Outcome:
    """Decline a collect request (NPCI's ZA)."""
    row = await collect_service.decline(payer.session, payer.context, collect_request, mutation)
    return Outcome(_collect_request(row, payer))
