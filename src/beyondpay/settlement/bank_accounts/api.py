"""Bank account routes (Stripe's external accounts of the caller's own account): parse,
authorize, call the service, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from beyondpay.api.access import ExternalAccountsReader, ExternalAccountsWriter
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Mutation, Outcome
from beyondpay.api.routing import Body, Listed, Query, Router, listed
from beyondpay.settlement.bank_accounts.schemas import (
    BankAccount,
    DeletedBankAccount,
    ExternalAccountCreateParams,
    ExternalAccountListParams,
    ExternalAccountUpdateParams,
    bank_account_object,
)
from beyondpay.settlement.bank_accounts.service import bank_account_service

router = Router(prefix="/v1/accounts", tags=["external_accounts"])

AccountId = Annotated[
    str,
    Path(max_length=255, description="The caller's own account, or a connected one (`acct_…`)."),
]
BankAccountId = Annotated[str, Path(max_length=255, description="The bank account's id (`ba_…`).")]


@router.post("/{account}/external_accounts", returns=BankAccount)
async def create_external_account(
    account: AccountId,
    session: SessionDep,
    caller: ExternalAccountsWriter,
    params: Body[ExternalAccountCreateParams],
    mutation: Mutation,
) -> Outcome:
    """Create a bank account to pay out to, verified by a penny drop."""
    row = await bank_account_service.create(session, caller, account, params, mutation)
    return Outcome(bank_account_object(row))


@router.get("/{account}/external_accounts/{id}", returns=BankAccount)
async def retrieve_external_account(
    account: AccountId, id: BankAccountId, session: SessionDep, caller: ExternalAccountsReader
) -> dict[str, Any]:
    """Retrieve a bank account."""
    return bank_account_object(await bank_account_service.get(session, caller, account, id))


@router.post("/{account}/external_accounts/{id}", returns=BankAccount)
async def update_external_account(
    account: AccountId,
    id: BankAccountId,
    session: SessionDep,
    caller: ExternalAccountsWriter,
    params: Body[ExternalAccountUpdateParams],
) -> Outcome:
    """Update a bank account (make it its currency's default, its holder, metadata)."""
    row = await bank_account_service.update(session, caller, account, id, params)
    return Outcome(bank_account_object(row))


@router.delete("/{account}/external_accounts/{id}", returns=DeletedBankAccount)
async def delete_external_account(
    account: AccountId, id: BankAccountId, session: SessionDep, caller: ExternalAccountsWriter
) -> Outcome:
    """Delete a bank account (not its currency's default)."""
    row = await bank_account_service.delete(session, caller, account, id)
    return Outcome(bank_account_object(row))


@router.get("/{account}/external_accounts", returns=BankAccount)
async def list_external_accounts(
    account: AccountId,
    session: SessionDep,
    caller: ExternalAccountsReader,
    params: Query[ExternalAccountListParams],
) -> Listed:
    """List bank accounts."""
    return listed(
        bank_account_object, await bank_account_service.list(session, caller, account, params)
    )
