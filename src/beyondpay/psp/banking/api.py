"""PSP banking routes under ``/v1/psp/bank_accounts``: discover, link, primary, unlink, the UPI
PIN and balance inquiry. Called with a payer's session.

Every POST and DELETE goes through ``api.mutation.run_mutation``. A counted refusal (a wrong PIN
or debit card) is the mutation's answer, not an exception, so that the try it counted commits
(see ``banking.errors``). Discovery is a POST: it asks the banks (NPCI's ReqListAccount), which
open the sandbox accounts on first discovery, so it writes and must be idempotent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

from beyondpay.api.auth import SessionDep
from beyondpay.api.lists import list_object, list_of
from beyondpay.api.mutation import Mutation, Outcome, run_mutation
from beyondpay.api.openapi import ErrorEnvelope, operation
from beyondpay.api.params import body, query
from beyondpay.api.responses import json_response
from beyondpay.kit.clock import unix_now
from beyondpay.kit.crypto import KeyRing
from beyondpay.psp.banking.errors import CountedRefusalError
from beyondpay.psp.banking.models import BankAccountRow
from beyondpay.psp.banking.schemas import (
    BalanceParams,
    DiscoverParams,
    LinkParams,
    ListParams,
    PinChangeParams,
    PinSetParams,
    PspBankAccount,
    PspBankAccountBalance,
    PspDiscoveredBankAccount,
    balance_object,
    bank_account_object,
    discovered_object,
)
from beyondpay.psp.banking.service import BALANCE_CURRENCY, bank_account_service
from beyondpay.psp.identity.auth import PayerDep

router = APIRouter(prefix="/v1/psp/bank_accounts", tags=["psp"])

ACCESS_PAYER = "payer"
BankAccountId = Annotated[
    str, Path(max_length=255, description="The linked bank account's id (`pba_…`).")
]


def _counted(kwargs: dict[str, Any], refused: str) -> dict[str, Any]:
    """``operation``'s keyword arguments with the 402 of a counted refusal documented."""
    responses = {
        **kwargs.get("responses", {}),
        402: {"model": ErrorEnvelope, "description": refused},
    }
    return {**kwargs, "responses": responses}


_PIN_REFUSED = (
    "A wrong UPI PIN (`incorrect_pin`, decline_code ZM) or a locked one (`pin_tries_exceeded`,"
    " Z6); the try is counted."
)
_CARD_REFUSED = (
    "A wrong debit card (`card_verification_failed`) or a bank's card checks locked after too"
    " many (`card_tries_exceeded`); the try is counted."
)


def _ring(request: Request) -> KeyRing:
    ring: KeyRing = request.app.state.key_ring
    return ring


async def _rendered(session: SessionDep, row: BankAccountRow) -> Outcome:
    return Outcome(bank_account_object(row, await bank_account_service.pin_state(session, row)))


async def _counting(work: Callable[[], Awaitable[Outcome]]) -> Outcome:
    try:
        return await work()
    except CountedRefusalError as refusal:
        # The wrong try is written in this transaction: answer with the refusal and commit it.
        return Outcome(refusal.to_dict(), refusal.status)


DiscoveredList = list_of(PspDiscoveredBankAccount)
BankAccountList = list_of(PspBankAccount)


@router.post(
    "/discover",
    summary="Discover your accounts at the banks by your registered mobile number",
    **operation(body=DiscoverParams, returns=DiscoveredList, access=ACCESS_PAYER),
)
async def discover_bank_accounts(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[DiscoverParams, Depends(body(DiscoverParams))],
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        found = await bank_account_service.discover(session, _ring(request), payer.payer_id)
        data = [discovered_object(item.info, linked=item.linked, pin=item.pin) for item in found]
        return Outcome(list_object(request.url.path, data, has_more=False))

    return await run_mutation(request, session, payer.caller, params, execute)


@router.post(
    "",
    summary="Link a discovered bank account, verified with its debit card",
    **_counted(
        operation(body=LinkParams, returns=PspBankAccount, access=ACCESS_PAYER), _CARD_REFUSED
    ),
)
async def link_bank_account(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[LinkParams, Depends(body(LinkParams))],
) -> Response:
    async def work() -> Outcome:
        row = await bank_account_service.link(session, _ring(request), payer.payer_id, params)
        return await _rendered(session, row)

    async def execute(_mutation: Mutation) -> Outcome:
        return await _counting(work)

    return await run_mutation(request, session, payer.caller, params, execute)


@router.get(
    "",
    summary="List your linked bank accounts",
    **operation(query=ListParams, returns=BankAccountList, access=ACCESS_PAYER),
)
async def list_bank_accounts(
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    _params: Annotated[ListParams, Depends(query(ListParams))],
) -> Response:
    rows = await bank_account_service.list(session, payer.payer_id)
    pins = await bank_account_service.pin_states(session, [row.account_ref for row in rows])
    data = [bank_account_object(row, pins[row.account_ref]) for row in rows]
    return json_response(list_object(request.url.path, data, has_more=False))


@router.get(
    "/{bank_account}",
    summary="Retrieve a linked bank account",
    **operation(returns=PspBankAccount, access=ACCESS_PAYER),
)
async def retrieve_bank_account(
    bank_account: BankAccountId, session: SessionDep, payer: PayerDep
) -> Response:
    row = await bank_account_service.get(session, payer.payer_id, bank_account)
    return json_response((await _rendered(session, row)).body)


@router.post(
    "/{bank_account}/primary",
    summary="Make a linked bank account your primary one",
    **operation(returns=PspBankAccount, access=ACCESS_PAYER),
)
async def make_primary(
    bank_account: BankAccountId, request: Request, session: SessionDep, payer: PayerDep
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        row = await bank_account_service.make_primary(session, payer.payer_id, bank_account)
        return await _rendered(session, row)

    return await run_mutation(request, session, payer.caller, None, execute)


@router.delete(
    "/{bank_account}",
    summary="Unlink a bank account",
    **operation(returns=PspBankAccount, access=ACCESS_PAYER),
)
async def unlink_bank_account(
    bank_account: BankAccountId, request: Request, session: SessionDep, payer: PayerDep
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        row = await bank_account_service.unlink(session, payer.payer_id, bank_account)
        return await _rendered(session, row)

    return await run_mutation(request, session, payer.caller, None, execute)


@router.post(
    "/{bank_account}/pin",
    summary="Set the UPI PIN (first time, forgotten or locked) with the debit card",
    **_counted(
        operation(body=PinSetParams, returns=PspBankAccount, access=ACCESS_PAYER), _CARD_REFUSED
    ),
)
async def set_pin(
    bank_account: BankAccountId,
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[PinSetParams, Depends(body(PinSetParams))],
) -> Response:
    async def work() -> Outcome:
        row = await bank_account_service.set_pin(
            session, _ring(request), payer.payer_id, bank_account, params
        )
        return await _rendered(session, row)

    async def execute(_mutation: Mutation) -> Outcome:
        return await _counting(work)

    return await run_mutation(request, session, payer.caller, params, execute)


@router.post(
    "/{bank_account}/pin/change",
    summary="Change the UPI PIN with the current one",
    **_counted(
        operation(body=PinChangeParams, returns=PspBankAccount, access=ACCESS_PAYER),
        _PIN_REFUSED,
    ),
)
async def change_pin(
    bank_account: BankAccountId,
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[PinChangeParams, Depends(body(PinChangeParams))],
) -> Response:
    async def work() -> Outcome:
        row = await bank_account_service.change_pin(
            session, _ring(request), payer.payer_id, bank_account, params
        )
        return await _rendered(session, row)

    async def execute(_mutation: Mutation) -> Outcome:
        return await _counting(work)

    return await run_mutation(request, session, payer.caller, params, execute)


@router.post(
    "/{bank_account}/balance",
    summary="Ask the bank for the account's balance, with the UPI PIN",
    **_counted(
        operation(body=BalanceParams, returns=PspBankAccountBalance, access=ACCESS_PAYER),
        _PIN_REFUSED,
    ),
)
async def inquire_balance(
    bank_account: BankAccountId,
    request: Request,
    session: SessionDep,
    payer: PayerDep,
    params: Annotated[BalanceParams, Depends(body(BalanceParams))],
) -> Response:
    async def work() -> Outcome:
        row, available = await bank_account_service.balance(
            session, _ring(request), payer.payer_id, bank_account, params.pin
        )
        answer = balance_object(row.id, available, BALANCE_CURRENCY, unix_now())
        # Kept for an idempotent replay sealed: a balance is the payer's own business.
        return Outcome(answer, sealed=True)

    async def execute(_mutation: Mutation) -> Outcome:
        return await _counting(work)

    return await run_mutation(request, session, payer.caller, params, execute)
