"""Connect's routes: a platform's connected accounts (``/v1/accounts``, with their payout
schedules from settlement) and transfers. Parse, authorize, call the services, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.api.access import (
    AccountsReader,
    AccountsWriter,
    ApplicationFeesReader,
    ApplicationFeesWriter,
    TransfersReader,
    TransfersWriter,
)
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, Listed, Query, RingDep, Router, listed
from beyondpay.connect.fees import application_fee_service
from beyondpay.connect.schemas import (
    ApplicationFee,
    ApplicationFeeListParams,
    ConnectedAccountCreateParams,
    ConnectedAccountListParams,
    ConnectedAccountObject,
    ConnectedAccountUpdateParams,
    ConnectTransferCreateParams,
    ConnectTransferListParams,
    ConnectTransferUpdateParams,
    DeletedAccount,
    FeeRefund,
    FeeRefundCreateParams,
    FeeRefundListParams,
    FeeRefundUpdateParams,
    PayoutScheduleParams,
    ReversalCreateParams,
    ReversalListParams,
    ReversalUpdateParams,
    Transfer,
    TransferReversal,
    application_fee_object,
    fee_refund_object,
    reversal_object,
    transfer_object,
)
from beyondpay.connect.service import transfer_service
from beyondpay.merchants.connected import (
    ConnectedAccount,
    account_object,
    connected_account_service,
    deleted_account_object,
)
from beyondpay.merchants.domain import Caller
from beyondpay.settlement.payouts.schedules import payout_schedule_service

router = Router(prefix="/v1/transfers", tags=["transfers"])

TransferId = Annotated[str, Path(max_length=255, description="The transfer's id (`tr_…`).")]
ReversalId = Annotated[str, Path(max_length=255, description="The reversal's id (`trr_…`).")]


@router.post("", returns=Transfer)
async def create_transfer(
    session: SessionDep, caller: TransfersWriter, params: Body[ConnectTransferCreateParams]
) -> Outcome:
    """Send money from the platform's available balance to a connected account."""
    return Outcome(transfer_object(await transfer_service.create(session, caller, params)))


@router.get("/{id}", returns=Transfer)
async def retrieve_transfer(
    id: TransferId, session: SessionDep, caller: TransfersReader
) -> dict[str, Any]:
    """Retrieve a transfer."""
    return transfer_object(await transfer_service.get(session, caller, id))


@router.post("/{id}", returns=Transfer)
async def update_transfer(
    id: TransferId,
    session: SessionDep,
    caller: TransfersWriter,
    params: Body[ConnectTransferUpdateParams],
) -> Outcome:
    """Update a transfer's description and metadata."""
    return Outcome(transfer_object(await transfer_service.update(session, caller, id, params)))


@router.get("", returns=Transfer)
async def list_transfers(
    session: SessionDep, caller: TransfersReader, params: Query[ConnectTransferListParams]
) -> Listed:
    """List the platform's transfers."""
    return listed(transfer_object, await transfer_service.list(session, caller, params))


@router.post("/{id}/reversals", returns=TransferReversal)
async def create_transfer_reversal(
    id: TransferId, session: SessionDep, caller: TransfersWriter, params: Body[ReversalCreateParams]
) -> Outcome:
    """Reverse a transfer, in whole or in part."""
    return Outcome(reversal_object(await transfer_service.reverse(session, caller, id, params)))


@router.get("/{id}/reversals/{reversal}", returns=TransferReversal)
async def retrieve_transfer_reversal(
    id: TransferId, reversal: ReversalId, session: SessionDep, caller: TransfersReader
) -> dict[str, Any]:
    """Retrieve a transfer's reversal."""
    return reversal_object(await transfer_service.reversal(session, caller, id, reversal))


@router.post("/{id}/reversals/{reversal}", returns=TransferReversal)
async def update_transfer_reversal(
    id: TransferId,
    reversal: ReversalId,
    session: SessionDep,
    caller: TransfersWriter,
    params: Body[ReversalUpdateParams],
) -> Outcome:
    """Update a reversal's metadata."""
    row = await transfer_service.update_reversal(session, caller, id, reversal, params)
    return Outcome(reversal_object(row))


@router.get("/{id}/reversals", returns=TransferReversal)
async def list_transfer_reversals(
    id: TransferId, session: SessionDep, caller: TransfersReader, params: Query[ReversalListParams]
) -> Listed:
    """List a transfer's reversals."""
    return listed(
        reversal_object, await transfer_service.list_reversals(session, caller, id, params)
    )


# ---- connected accounts ------------------------------------------------------------------------

accounts_router = Router(prefix="/v1/accounts", tags=["accounts"])
AccountId = Annotated[
    str, Path(max_length=255, description="A connected account's id (`acct_…`), or the caller's.")
]


async def _rendered(
    session: AsyncSession, caller: Caller, account: ConnectedAccount
) -> dict[str, Any]:
    """The account with ``settings.payouts.schedule`` as settlement's payout schedules keep it."""
    schedule = await payout_schedule_service.get(session, account.row.id, caller.livemode)
    return account_object(account, schedule)


async def _set_schedule(
    session: AsyncSession, caller: Caller, account_id: str, schedule: PayoutScheduleParams | None
) -> None:
    if schedule is not None:
        await payout_schedule_service.update(
            session, account_id, caller.livemode, **schedule.model_dump(exclude_none=True)
        )


@accounts_router.post("", returns=ConnectedAccountObject)
async def create_connected_account(
    session: SessionDep,
    caller: AccountsWriter,
    ring: RingDep,
    params: Body[ConnectedAccountCreateParams],
) -> Outcome:
    """Create a connected account of the caller (a platform)."""
    account = await connected_account_service.create(session, ring, caller, params.fields())
    await _set_schedule(session, caller, account.row.id, params.payout_schedule())
    return Outcome(await _rendered(session, caller, account))


@accounts_router.get("/{account}", returns=ConnectedAccountObject)
async def retrieve_connected_account(
    account: AccountId, session: SessionDep, caller: AccountsReader
) -> dict[str, Any]:
    """Retrieve a connected account (or the caller's own account)."""
    found = await connected_account_service.get(session, caller, account)
    return await _rendered(session, caller, found)


@accounts_router.post("/{account}", returns=ConnectedAccountObject)
async def update_connected_account(
    account: AccountId,
    session: SessionDep,
    caller: AccountsWriter,
    params: Body[ConnectedAccountUpdateParams],
) -> Outcome:
    """Update a connected account (or the caller's own), its payout schedule included."""
    found = await connected_account_service.update(session, caller, account, params.fields())
    await _set_schedule(session, caller, found.row.id, params.payout_schedule())
    return Outcome(await _rendered(session, caller, found))


@accounts_router.get("", returns=ConnectedAccountObject)
async def list_connected_accounts(
    session: SessionDep, caller: AccountsReader, params: Query[ConnectedAccountListParams]
) -> Listed:
    """List the caller's connected accounts."""
    accounts, has_more = await connected_account_service.list(session, caller, params)
    return Listed([await _rendered(session, caller, found) for found in accounts], has_more)


@accounts_router.delete("/{account}", returns=DeletedAccount)
async def delete_connected_account(
    account: AccountId, session: SessionDep, caller: AccountsWriter
) -> Outcome:
    """Delete a test-mode connected account."""
    deleted = await connected_account_service.delete(session, caller, account)
    return Outcome(deleted_account_object(deleted))


# ---- application fees (destination charges) ----------------------------------------------------

fees_router = Router(prefix="/v1/application_fees", tags=["application_fees"])

FeeId = Annotated[str, Path(max_length=255, description="The application fee's id (`fee_…`).")]
FeeRefundId = Annotated[str, Path(max_length=255, description="The fee refund's id (`fr_…`).")]


@fees_router.get("/{id}", returns=ApplicationFee)
async def retrieve_application_fee(
    id: FeeId, session: SessionDep, caller: ApplicationFeesReader
) -> dict[str, Any]:
    """Retrieve an application fee the platform collected on a destination charge."""
    return application_fee_object(await application_fee_service.get(session, caller, id))


@fees_router.get("", returns=ApplicationFee)
async def list_application_fees(
    session: SessionDep, caller: ApplicationFeesReader, params: Query[ApplicationFeeListParams]
) -> Listed:
    """List the platform's application fees."""
    return listed(
        application_fee_object, await application_fee_service.list(session, caller, params)
    )


@fees_router.post("/{id}/refunds", returns=FeeRefund)
async def create_fee_refund(
    id: FeeId,
    session: SessionDep,
    caller: ApplicationFeesWriter,
    params: Body[FeeRefundCreateParams],
) -> Outcome:
    """Refund an application fee to the connected account, in whole or in part."""
    return Outcome(
        fee_refund_object(await application_fee_service.refund(session, caller, id, params))
    )


@fees_router.get("/{id}/refunds/{refund}", returns=FeeRefund)
async def retrieve_fee_refund(
    id: FeeId, refund: FeeRefundId, session: SessionDep, caller: ApplicationFeesReader
) -> dict[str, Any]:
    """Retrieve an application fee's refund."""
    return fee_refund_object(await application_fee_service.fee_refund(session, caller, id, refund))


@fees_router.post("/{id}/refunds/{refund}", returns=FeeRefund)
async def update_fee_refund(
    id: FeeId,
    refund: FeeRefundId,
    session: SessionDep,
    caller: ApplicationFeesWriter,
    params: Body[FeeRefundUpdateParams],
) -> Outcome:
    """Update a fee refund's metadata."""
    row = await application_fee_service.update_refund(session, caller, id, refund, params)
    return Outcome(fee_refund_object(row))


@fees_router.get("/{id}/refunds", returns=FeeRefund)
async def list_fee_refunds(
    id: FeeId,
    session: SessionDep,
    caller: ApplicationFeesReader,
    params: Query[FeeRefundListParams],
) -> Listed:
    """List an application fee's refunds."""
    return listed(
        fee_refund_object, await application_fee_service.list_refunds(session, caller, id, params)
    )
