"""Ledger routes (``/v1/ledger/…``): parse, authorize, call the service, render."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Final

from fastapi import Path
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.api.access import LedgerReader, LedgerWriter
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, Listed, Query, Router, listed
from beyondpay.ledger.service import JournalEntry
from beyondpay.merchants.domain import Caller
from beyondpay.wallets.domain import Namespace
from beyondpay.wallets.schemas import (
    AccountCreateParams,
    AccountListParams,
    BalanceHistoryParams,
    LedgerAccount,
    LedgerBalanceSnapshot,
    LedgerTransfer,
    LedgerTransferBatch,
    TransferCreateParams,
    TransferListParams,
    account_object,
    snapshot_object,
    transfer_object,
)
from beyondpay.wallets.service import TransferOutcome, wallet_service

router = Router(prefix="/v1/ledger", tags=["ledger"])

AccountId = Annotated[str, Path(max_length=255, description="The account's id (yours).")]
TransferId = Annotated[str, Path(max_length=255, description="The transfer's id (yours).")]

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


@router.post("/accounts", returns=LedgerAccount)
async def create_account(
    session: SessionDep, caller: LedgerWriter, params: Body[AccountCreateParams]
) -> Outcome:
    """Create a ledger account."""
    account = await wallet_service.create_account(session, caller, params)
    return Outcome(account_object(Namespace.of(caller), account))


@router.get("/accounts/{account}", returns=LedgerAccount)
async def retrieve_account(
    account: AccountId, session: SessionDep, caller: LedgerReader
) -> dict[str, Any]:
    """Retrieve a ledger account."""
    found = await wallet_service.get_account(session, caller, account)
    return account_object(Namespace.of(caller), found)


@router.get("/accounts", returns=LedgerAccount)
async def list_accounts(
    session: SessionDep, caller: LedgerReader, params: Query[AccountListParams]
) -> Listed:
    """List ledger accounts."""
    page = await wallet_service.list_accounts(session, caller, params)
    return listed(functools.partial(account_object, Namespace.of(caller)), page)


@router.get("/accounts/{account}/balance_history", returns=LedgerBalanceSnapshot)
async def balance_history(
    account: AccountId,
    session: SessionDep,
    caller: LedgerReader,
    params: Query[BalanceHistoryParams],
) -> Listed:
    """List an account's balances after each of its transfers, oldest first."""
    found, entries, has_more = await wallet_service.balance_history(
        session, caller, account, params
    )
    namespace = Namespace.of(caller)
    return Listed([snapshot_object(namespace, found, entry) for entry in entries], has_more)


@router.post("/transfers", returns=LedgerTransferBatch)
async def create_transfers(
    session: SessionDep, caller: LedgerWriter, params: Body[TransferCreateParams]
) -> Outcome:
    """Create a batch of ledger transfers."""
    outcomes = await wallet_service.create_transfers(session, caller, params)
    entries = [outcome.entry for outcome in outcomes if outcome.entry is not None]
    statuses = await wallet_service.hold_statuses(session, entries)
    return Outcome(_batch_object(caller, outcomes, statuses))


@router.get("/transfers/{transfer}", returns=LedgerTransfer, expand=_TRANSFER_EXPANSIONS)
async def retrieve_transfer(
    transfer: TransferId,
    session: SessionDep,
    caller: LedgerReader,
    expand: list[str],
) -> dict[str, Any]:
    """Retrieve a ledger transfer."""
    entry = await wallet_service.get_transfer(session, caller, transfer)
    [rendered] = await _render_transfers(session, caller, [entry], expand)
    return rendered


@router.get("/transfers", returns=LedgerTransfer, expand=_TRANSFER_EXPANSIONS)
async def list_transfers(
    session: SessionDep, caller: LedgerReader, params: Query[TransferListParams], expand: list[str]
) -> Listed:
    """List ledger transfers, newest first."""
    entries, has_more = await wallet_service.list_transfers(session, caller, params)
    return Listed(await _render_transfers(session, caller, entries, expand), has_more)
