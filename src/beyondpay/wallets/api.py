"""Ledger routes (``/v1/ledger/…``): parse, authorize, call the service, render."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from beyondpay.ledger.service import JournalEntry
from beyondpay.merchants.domain import Caller, Scope
from beyondpay.wallets.domain import Namespace
from beyondpay.wallets.schemas import (
    AccountCreateParams,
    AccountListParams,
    AccountRetrieveParams,
    BalanceHistoryParams,
    LedgerAccount,
    LedgerBalanceSnapshot,
    LedgerTransfer,
    LedgerTransferBatch,
    TransferCreateParams,
    TransferListParams,
    TransferRetrieveParams,
    account_object,
    snapshot_object,
    transfer_object,
)
from beyondpay.wallets.service import TransferOutcome, wallet_service

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])

Reader = Annotated[Caller, Depends(authorize(Scope.ledger_read))]
Writer = Annotated[Caller, Depends(authorize(Scope.ledger_write))]
AccountId = Annotated[str, Path(max_length=255, description="The account's id (yours).")]
TransferId = Annotated[str, Path(max_length=255, description="The transfer's id (yours).")]

_TRANSFER_EXPANSIONS: Final = {"debit_account", "credit_account"}


@router.post(
    "/accounts",
    summary="Create a ledger account",
    **operation(body=AccountCreateParams, returns=LedgerAccount, access="ledger:write"),
)
async def create_account(
    request: Request,
    session: SessionDep,
    caller: Writer,
    params: Annotated[AccountCreateParams, Depends(body(AccountCreateParams))],
) -> Response:
    refuse_expansions(params.expand, set())

    async def execute(_mutation: Mutation) -> Outcome:
        account = await wallet_service.create_account(session, caller, params)
        return Outcome(account_object(Namespace.of(caller), account))

    return await run_mutation(request, session, caller, params, execute)


@router.get(
    "/accounts/{account}",
    summary="Retrieve a ledger account",
    **operation(query=AccountRetrieveParams, returns=LedgerAccount, access="ledger:read"),
)
async def retrieve_account(
    account: AccountId,
    session: SessionDep,
    caller: Reader,
    params: Annotated[AccountRetrieveParams, Depends(query(AccountRetrieveParams))],
) -> Response:
    refuse_expansions(params.expand, set())
    found = await wallet_service.get_account(session, caller, account)
    return json_response(account_object(Namespace.of(caller), found))


LedgerAccountList = list_of(LedgerAccount)


@router.get(
    "/accounts",
    summary="List ledger accounts",
    **operation(query=AccountListParams, returns=LedgerAccountList, access="ledger:read"),
)
async def list_accounts(
    request: Request,
    session: SessionDep,
    caller: Reader,
    params: Annotated[AccountListParams, Depends(query(AccountListParams))],
) -> Response:
    refuse_expansions(params.expand, set(), listing=True)
    accounts, has_more = await wallet_service.list_accounts(session, caller, params)
    namespace = Namespace.of(caller)
    data = [account_object(namespace, account) for account in accounts]
    return json_response(list_object(request.url.path, data, has_more))


LedgerBalanceHistory = list_of(LedgerBalanceSnapshot)


@router.get(
    "/accounts/{account}/balance_history",
    summary="List an account's balances after each of its transfers, oldest first",
    **operation(query=BalanceHistoryParams, returns=LedgerBalanceHistory, access="ledger:read"),
)
async def balance_history(
    account: AccountId,
    request: Request,
    session: SessionDep,
    caller: Reader,
    params: Annotated[BalanceHistoryParams, Depends(query(BalanceHistoryParams))],
) -> Response:
    found, entries, has_more = await wallet_service.balance_history(
        session, caller, account, params
    )
    namespace = Namespace.of(caller)
    data = [snapshot_object(namespace, found, entry) for entry in entries]
    return json_response(list_object(request.url.path, data, has_more))


def _batch_object(
    caller: Caller, outcomes: Sequence[TransferOutcome], hold_statuses: Mapping[str, str]
) -> dict[str, Any]:
    namespace = Namespace.of(caller)
    return {
        "object": "ledger_transfer_batch",
        "livemode": caller.livemode,
        "data": [
            {
                "object": "ledger_transfer_result",
                "id": outcome.id,
                "result": outcome.result.value,
                "transfer": (
                    transfer_object(namespace, outcome.entry, hold_statuses=hold_statuses)
                    if outcome.entry is not None
                    else None
                ),
            }
            for outcome in outcomes
        ],
    }


@router.post(
    "/transfers",
    summary="Create a batch of ledger transfers",
    **operation(body=TransferCreateParams, returns=LedgerTransferBatch, access="ledger:write"),
)
async def create_transfers(
    request: Request,
    session: SessionDep,
    caller: Writer,
    params: Annotated[TransferCreateParams, Depends(body(TransferCreateParams))],
) -> Response:
    refuse_expansions(params.expand, set())

    async def execute(_mutation: Mutation) -> Outcome:
        outcomes = await wallet_service.create_transfers(session, caller, params)
        entries = [outcome.entry for outcome in outcomes if outcome.entry is not None]
        statuses = await wallet_service.hold_statuses(session, entries)
        return Outcome(_batch_object(caller, outcomes, statuses))

    return await run_mutation(request, session, caller, params, execute)


async def _render_transfers(
    session: AsyncSession, caller: Caller, entries: Sequence[JournalEntry], paths: list[str]
) -> list[dict[str, Any]]:
    namespace = Namespace.of(caller)
    ids: set[str] = set()
    for entry in entries:
        if "debit_account" in paths:
            ids.add(entry.transfer.debit_account_id)
        if "credit_account" in paths:
            ids.add(entry.transfer.credit_account_id)
    accounts = await wallet_service.accounts_by_ledger_id(session, caller, sorted(ids))
    expanded = {key: account_object(namespace, account) for key, account in accounts.items()}
    statuses = await wallet_service.hold_statuses(session, entries)
    return [transfer_object(namespace, entry, expanded, paths, statuses) for entry in entries]


@router.get(
    "/transfers/{transfer}",
    summary="Retrieve a ledger transfer",
    **operation(query=TransferRetrieveParams, returns=LedgerTransfer, access="ledger:read"),
)
async def retrieve_transfer(
    transfer: TransferId,
    session: SessionDep,
    caller: Reader,
    params: Annotated[TransferRetrieveParams, Depends(query(TransferRetrieveParams))],
) -> Response:
    paths = refuse_expansions(params.expand, _TRANSFER_EXPANSIONS)
    entry = await wallet_service.get_transfer(session, caller, transfer)
    [rendered] = await _render_transfers(session, caller, [entry], paths)
    return json_response(rendered)


LedgerTransferList = list_of(LedgerTransfer)


@router.get(
    "/transfers",
    summary="List ledger transfers, newest first",
    **operation(query=TransferListParams, returns=LedgerTransferList, access="ledger:read"),
)
async def list_transfers(
    request: Request,
    session: SessionDep,
    caller: Reader,
    params: Annotated[TransferListParams, Depends(query(TransferListParams))],
) -> Response:
    paths = refuse_expansions(params.expand, _TRANSFER_EXPANSIONS, listing=True)
    entries, has_more = await wallet_service.list_transfers(session, caller, params)
    data = await _render_transfers(session, caller, entries, paths)
    return json_response(list_object(request.url.path, data, has_more))
