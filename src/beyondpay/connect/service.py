"""Connect's use cases: a platform's transfers to its connected accounts and their reversals.
Never commits: the request owns the transaction.

A transfer moves money the platform holds (its available balance) to a connected account's
available balance, at once, in one transaction: the transfer, its event and both balance
transactions, with the ledger batch written last (``payments.balance.move_between_merchants``).
No rail is called, so there is no phase to commit between.

**Never overdrawn**: the platform's available balance is read under a per-platform advisory lock
(``merchants.connected.lock_balance``) held to the commit, so two transfers of one platform run
one after the other, and the second sees the first's debit. **Never over-reversed**: a
reversal locks its transfer's row, and ``amount_reversed`` never passes ``amount`` (the table
checks it too).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.connect.domain import refund_share, reversal_amount
from beyondpay.connect.errors import BalanceInsufficientError, TransferReversedTooMuchError
from beyondpay.connect.events import ConnectTransferEvent, record
from beyondpay.connect.fee_refunds import locked_fee_of, refund_fee_locked
from beyondpay.connect.models import TransferReversalRow, TransferRow
from beyondpay.connect.schemas import (
    ConnectTransferCreateParams,
    ConnectTransferListParams,
    ConnectTransferUpdateParams,
    ReversalCreateParams,
    ReversalListParams,
    ReversalUpdateParams,
    TransferView,
    transfer_object,
)
from beyondpay.db.pagination import created_conditions, owned_page, scoped, scoped_page
from beyondpay.events.service import previous_attributes
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError, PermissionDeniedError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.params import merge_metadata
from beyondpay.merchants.connected import connected_account_service
from beyondpay.merchants.domain import Caller
from beyondpay.payments.service import available_balance, charge_service, move_between_merchants

TRANSFER_CODE: Final = "connect_transfer"
REVERSAL_CODE: Final = "connect_transfer_reversal"


def _platform_only(caller: Caller) -> None:
    if caller.platform_id is not None:
        # Stripe: transfers are the platform's; a connected account has none of its own.
        raise PermissionDeniedError(
            "Transfers are made by the platform's own key, without a Stripe-Account header."
        )


def _metadata(value: dict[str, str] | str | None) -> dict[str, str] | None:
    return value if isinstance(value, dict) else None


class TransferService:
    async def create(
        self, session: AsyncSession, caller: Caller, params: ConnectTransferCreateParams
    ) -> TransferView:
        _platform_only(caller)
        destination = await connected_account_service.destination(
            session, caller, params.destination, param="destination"
        )
        if params.source_transaction is not None:
            await self._check_source(session, caller, params.source_transaction)
        await connected_account_service.lock_balance(session, caller.merchant, caller.livemode)
        available = await available_balance(
            session, caller.merchant, caller.livemode, params.currency
        )
        if params.amount > available:
            raise BalanceInsufficientError(
                "You have insufficient available funds in your account to make this transfer"
                f" ({params.amount} asked, {max(available, 0)} available).",
                param="amount",
            )
        now = utcnow()
        row = TransferRow(
            id=new_id("tr"),
            merchant_id=caller.merchant,
            livemode=caller.livemode,
            destination_id=destination.id,
            amount=params.amount,
            amount_reversed=0,
            currency=params.currency,
            description=params.description,
            transfer_group=params.transfer_group,
            source_transaction=params.source_transaction,
            balance_transaction_id=new_id("txn"),
            destination_payment_id=new_id("py"),
            metadata_=merge_metadata({}, _metadata(params.metadata)),
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        view = TransferView(row)
        await record(session, row, ConnectTransferEvent.created, transfer_object(view))
        await move_between_merchants(
            session,
            livemode=row.livemode,
            currency=row.currency,
            amount=row.amount,
            source=(row.merchant_id, row.balance_transaction_id, "transfer", row.id),
            destination=(destination.id, new_id("txn"), "payment", row.destination_payment_id),
            transfer_id=f"{row.id}:transfer",
            code=TRANSFER_CODE,
            description=row.description,
        )
        return view

    async def _check_source(self, session: AsyncSession, caller: Caller, charge_id: str) -> None:
        """Stripe ties a transfer to the charge whose funds pay it; it must be the platform's
        succeeded charge. (The balance check still applies: docs, "Platforms".)"""
        try:
            charge = await charge_service.get(session, caller, charge_id)
        except ResourceMissingError:
            raise ResourceMissingError.for_object(
                "charge", charge_id, param="source_transaction"
            ) from None
        if charge.status != "succeeded":
            raise InvalidRequestError(
                f"Charge {charge_id} has not succeeded: it cannot fund a transfer.",
                param="source_transaction",
            )

    async def _row(
        self, session: AsyncSession, caller: Caller, transfer_id: str, *, lock: bool = False
    ) -> TransferRow:
        statement = scoped(
            TransferRow, caller.merchant, caller.livemode, TransferRow.id == transfer_id
        )
        if lock:
            statement = statement.with_for_update()
        row: TransferRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("transfer", transfer_id)
        return row

    async def views(self, session: AsyncSession, rows: Sequence[TransferRow]) -> list[TransferView]:
        """The transfers with their reversals, in one query."""
        found = await session.execute(
            select(TransferReversalRow)
            .where(TransferReversalRow.transfer_id.in_([row.id for row in rows]))
            .order_by(TransferReversalRow.created_at.desc(), TransferReversalRow.id.desc())
        )
        reversals: dict[str, list[TransferReversalRow]] = {row.id: [] for row in rows}
        for reversal in found.scalars():
            reversals[reversal.transfer_id].append(reversal)
        return [TransferView(row, reversals[row.id]) for row in rows]

    async def get(self, session: AsyncSession, caller: Caller, transfer_id: str) -> TransferView:
        return (await self.views(session, [await self._row(session, caller, transfer_id)]))[0]

    async def update(
        self,
        session: AsyncSession,
        caller: Caller,
        transfer_id: str,
        params: ConnectTransferUpdateParams,
    ) -> TransferView:
        row = await self._row(session, caller, transfer_id, lock=True)
        before = transfer_object((await self.views(session, [row]))[0])
        if "description" in params.model_fields_set:
            row.description = params.description
        row.metadata_ = merge_metadata(dict(row.metadata_ or {}), _metadata(params.metadata))
        view = (await self.views(session, [row]))[0]
        changed = previous_attributes(before, transfer_object(view))
        if changed:
            row.updated_at = utcnow()
            await session.flush()
            await record(session, row, ConnectTransferEvent.updated, transfer_object(view), changed)
        return view

    async def list(
        self, session: AsyncSession, caller: Caller, params: ConnectTransferListParams
    ) -> tuple[list[TransferView], bool]:
        conditions: list[Any] = list(created_conditions(TransferRow.created_at, params.created))
        if params.destination is not None:
            conditions.append(TransferRow.destination_id == params.destination)
        if params.transfer_group is not None:
            conditions.append(TransferRow.transfer_group == params.transfer_group)
        rows: Sequence[TransferRow]
        rows, has_more = await scoped_page(
            session,
            TransferRow,
            caller.merchant,
            caller.livemode,
            params,
            *conditions,
            object_name="transfer",
        )
        return await self.views(session, rows), has_more

    # ---- reversals ----------------------------------------------------------------------------

    async def reverse(
        self, session: AsyncSession, caller: Caller, transfer_id: str, params: ReversalCreateParams
    ) -> TransferReversalRow:
        """Takes back ``amount`` (default: all that is left) from the connected account's
        available balance to the platform's. The transfer's row lock orders the reversals of one
        transfer; more than is left is refused naming ``amount``."""
        _platform_only(caller)
        transfer = await self._row(session, caller, transfer_id, lock=True)
        amount = reversal_amount(transfer.amount, transfer.amount_reversed, params.amount)
        if amount is None:
            left = transfer.amount - transfer.amount_reversed
            raise TransferReversedTooMuchError(
                f"Transfer {transfer.id} has {left} left to reverse: a reversal of"
                f" {params.amount if params.amount is not None else left} is not possible.",
                param="amount",
            )
        reversal = await reverse_locked(
            session, transfer, amount, _metadata(params.metadata), params.description
        )
        if params.refund_application_fee and transfer.charge_id is not None:
            # Stripe: the destination charge's fee, in proportion to the reversal.
            fee = await locked_fee_of(session, transfer.charge_id)
            if fee is not None:
                share = refund_share(
                    fee.amount,
                    fee.amount_refunded,
                    transfer.amount_reversed,
                    amount,
                    transfer.amount,
                )
                if share > 0:
                    await refund_fee_locked(session, fee, share, None)
        return reversal

    async def reversal(
        self,
        session: AsyncSession,
        caller: Caller,
        transfer_id: str,
        reversal_id: str,
        *,
        lock: bool = False,
    ) -> TransferReversalRow:
        statement = scoped(
            TransferReversalRow,
            caller.merchant,
            caller.livemode,
            TransferReversalRow.transfer_id == transfer_id,
            TransferReversalRow.id == reversal_id,
        )
        if lock:
            statement = statement.with_for_update()
        row: TransferReversalRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("transfer_reversal", reversal_id)
        return row

    async def update_reversal(
        self,
        session: AsyncSession,
        caller: Caller,
        transfer_id: str,
        reversal_id: str,
        params: ReversalUpdateParams,
    ) -> TransferReversalRow:
        row = await self.reversal(session, caller, transfer_id, reversal_id, lock=True)
        row.metadata_ = merge_metadata(dict(row.metadata_ or {}), _metadata(params.metadata))
        await session.flush()
        return row

    async def list_reversals(
        self, session: AsyncSession, caller: Caller, transfer_id: str, params: ReversalListParams
    ) -> tuple[Sequence[TransferReversalRow], bool]:
        transfer = await self._row(session, caller, transfer_id)
        return await owned_page(
            session,
            TransferReversalRow,
            params,
            owner=(
                TransferReversalRow.merchant_id == transfer.merchant_id,
                TransferReversalRow.livemode == transfer.livemode,
                TransferReversalRow.transfer_id == transfer.id,
            ),
            filters=created_conditions(TransferReversalRow.created_at, params.created),
            object_name="transfer_reversal",
        )


transfer_service = TransferService()


async def reverse_locked(
    session: AsyncSession,
    transfer: TransferRow,
    amount: int,
    metadata: dict[str, str] | None,
    description: str | None,
    source_refund: str | None = None,
) -> TransferReversalRow:
    """A reversal of ``amount`` of ``transfer`` (its row locked by the caller, the amount
    checked): its row, ``transfer.reversed``, and the money back, the unit's last write."""
    reversal = TransferReversalRow(
        id=new_id("trr"),
        merchant_id=transfer.merchant_id,
        livemode=transfer.livemode,
        transfer_id=transfer.id,
        amount=amount,
        currency=transfer.currency,
        balance_transaction_id=new_id("txn"),
        destination_payment_refund_id=new_id("pyr"),
        metadata_=merge_metadata({}, metadata),
        created_at=utcnow(),
        source_refund=source_refund,
    )
    transfer.amount_reversed += amount
    transfer.updated_at = reversal.created_at
    invariant(transfer.amount_reversed <= transfer.amount, "never over-reversed")
    session.add(reversal)
    await session.flush()
    view = (await transfer_service.views(session, [transfer]))[0]
    await record(session, transfer, ConnectTransferEvent.reversed, transfer_object(view))
    await move_between_merchants(
        session,
        livemode=transfer.livemode,
        currency=transfer.currency,
        amount=amount,
        source=(
            transfer.destination_id,
            new_id("txn"),
            "payment_refund",
            reversal.destination_payment_refund_id,
        ),
        destination=(
            transfer.merchant_id,
            reversal.balance_transaction_id,
            "transfer_refund",
            reversal.id,
        ),
        transfer_id=f"{reversal.id}:reversal",
        code=REVERSAL_CODE,
        description=description,
    )
    return reversal
