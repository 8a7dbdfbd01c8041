"""Ledger routes (``/v1/ledger/…``): parse, authorize, call the service, render."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Final

from fastapi import Depends, Path
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.api.auth import SessionDep, authorize
from beyondpay.api.lists import list_of
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, Listed, Query, Router, listed
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

router = Router(prefix="/v1/ledger", tags=["ledger"])

Reader = Annotated[Caller, Depends(authorize(Scope.ledger_read))]
Writer = Annotated[Caller, Depends(authorize(Scope.ledger_write))]
AccountId = Annotated[str, Path(max_length=255, description="The account's id (yours).")]
TransferId = Annotated[str, Path(max_length=255, description="The transfer's id (yours).")]
LedgerAccountList = list_of(LedgerAccount)
LedgerBalanceHistory = list_of(LedgerBalanceSnapshot)
LedgerTransferList = list_of(LedgerTransfer)

_TRANSFER_EXPANSIONS: Final = frozenset({"debit_account", "credit_account"})


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


@router.post("/accounts", summary="Create a ledger account", returns=LedgerAccount)
async def create_account(
    session: SessionDep, caller: Writer, params: Body[AccountCreateParams]
) -> Outcome:
    account = await wallet_service.create_account(session, caller, params)
    return Outcome(account_object(Namespace.of(caller), account))


@router.get("/accounts/{account}", summary="Retrieve a ledger account", returns=LedgerAccount)
async def retrieve_account(
    account: AccountId, session: SessionDep, caller: Reader, _: Query[AccountRetrieveParams]
) -> dict[str, Any]:
    found = await wallet_service.get_account(session, caller, account)
    return account_object(Namespace.of(caller), found)


@router.get("/accounts", summary="List ledger accounts", returns=LedgerAccountList)
async def list_accounts(
    session: SessionDep, caller: Reader, params: Query[AccountListParams]
) -> Listed:
    page = await wallet_service.list_accounts(session, caller, params)
    return listed(functools.partial(account_object, Namespace.of(caller)), page)


@router.get(
    "/accounts/{account}/balance_history",
    summary="List an account's balances after each of its transfers, oldest first",
    returns=LedgerBalanceHistory,
)
async def balance_history(
    account: AccountId, session: SessionDep, caller: Reader, params: Query[BalanceHistoryParams]
) -> Listed:
    found, entries, has_more = await wallet_service.balance_history(
        session, caller, account, params
    )
    namespace = Namespace.of(caller)
    return Listed([snapshot_object(namespace, found, entry) for entry in entries], has_more)


@router.post(
    "/transfers", summary="Create a batch of ledger transfers", returns=LedgerTransferBatch
)
async def create_transfers(
    session: SessionDep, caller: Writer, params: Body[TransferCreateParams]
) -> Outcome:
    outcomes = await wallet_service.create_transfers(session, caller, params)
    entries = [outcome.entry for outcome in outcomes if outcome.entry is not None]
    statuses = await wallet_service.hold_statuses(session, entries)
    return Outcome(_batch_object(caller, outcomes, statuses))


@router.get(
    "/transfers/{transfer}",
    summary="Retrieve a ledger transfer",
    returns=LedgerTransfer,
    expand=_TRANSFER_EXPANSIONS,
)
async def retrieve_transfer(
    transfer: TransferId,
    session: SessionDep,
    caller: Reader,
    _: Query[TransferRetrieveParams],
    expand: list[str],
) -> dict[str, Any]:
    entry = await wallet_service.get_transfer(session, caller, transfer)
    [rendered] = await _render_transfers(session, caller, [entry], expand)
    return rendered


@router.get(
    "/transfers",
    summary="List ledger transfers, newest first",
    returns=LedgerTransferList,
    expand=_TRANSFER_EXPANSIONS,
)
async def list_transfers(
    session: SessionDep, caller: Reader, params: Query[TransferListParams], expand: list[str]
) -> Listed:
    entries, has_more = await wallet_service.list_transfers(session, caller, params)
    return Listed(await _render_transfers(session, caller, entries, expand), has_more)
