"""Connect's destination charges: the transfer and application fee a destination charge's
capture makes (heard from payments, ``payments.destinations``), their share taken back by
the charge's refunds (heard from refunds), and the application fees' own routes' use cases
(``/v1/application_fees``). Never commits: the request (or the capture) owns the transaction.

**Never refunded twice over**: a fee refund locks the fee's row, and ``amount_refunded``
never passes ``amount`` (the table checks it too); a refund's transfer reversal locks the
transfer's row (``service.reverse_locked``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.connect.domain import refund_share, reversal_amount
from beyondpay.connect.errors import TransferReversedTooMuchError
from beyondpay.connect.events import ApplicationFeeEvent, ConnectTransferEvent, record
from beyondpay.connect.fee_refunds import fee_views, refund_fee_locked
from beyondpay.connect.models import ApplicationFeeRefundRow, ApplicationFeeRow, TransferRow
from beyondpay.connect.schemas import (
    ApplicationFeeListParams,
    ApplicationFeeView,
    FeeRefundCreateParams,
    FeeRefundListParams,
    FeeRefundUpdateParams,
    TransferView,
    application_fee_object,
    fee_refund_object,
    transfer_object,
)
from beyondpay.connect.service import reverse_locked
from beyondpay.db.pagination import created_conditions, owned_page, scoped, scoped_page
from beyondpay.kit.errors import PermissionDeniedError, ResourceMissingError
from beyondpay.kit.invariants import invariant
from beyondpay.kit.params import merge_metadata
from beyondpay.merchants.domain import Caller
from beyondpay.payments.service import DestinationCharge
from beyondpay.refunds.service import DestinationRefund


async def record_destination_charge(session: AsyncSession, charge: DestinationCharge) -> None:
    """A destination charge captured: its transfer (``tr_…``, ``transfer.created``) and its
    application fee (``fee_…``, ``application_fee.created``), with the ids payments chose and
    named in the balance transactions. Heard twice, it makes nothing twice (the transfer's
    ``charge_id`` is unique)."""
    existing = await session.execute(
        select(TransferRow.id).where(TransferRow.charge_id == charge.charge_id)
    )
    if existing.scalar_one_or_none() is not None:
        return
    transfer = TransferRow(
        id=charge.transfer_id,
        merchant_id=charge.merchant_id,
        livemode=charge.livemode,
        destination_id=charge.destination_id,
        amount=charge.transfer_amount,
        amount_reversed=0,
        currency=charge.currency,
        description=None,
        transfer_group=charge.transfer_group,
        source_transaction=charge.charge_id,
        balance_transaction_id=charge.transfer_balance_transaction_id,
        destination_payment_id=charge.destination_payment_id,
        metadata_={},
        created_at=charge.created_at,
        updated_at=charge.created_at,
        charge_id=charge.charge_id,
    )
    session.add(transfer)
    fee: ApplicationFeeRow | None = None
    if charge.application_fee_id is not None:
        invariant(
            charge.application_fee_balance_transaction_id is not None,
            "an application fee has its balance transaction",
        )
        fee = ApplicationFeeRow(
            id=charge.application_fee_id,
            merchant_id=charge.merchant_id,
            livemode=charge.livemode,
            account_id=charge.destination_id,
            amount=charge.application_fee_amount,
            amount_refunded=0,
            currency=charge.currency,
            charge_id=charge.charge_id,
            balance_transaction_id=str(charge.application_fee_balance_transaction_id),
            created_at=charge.created_at,
            updated_at=charge.created_at,
        )
        session.add(fee)
    await session.flush()
    await record(
        session, transfer, ConnectTransferEvent.created, transfer_object(TransferView(transfer))
    )
    if fee is not None:
        await record(
            session,
            fee,
            ApplicationFeeEvent.created,
            application_fee_object(ApplicationFeeView(fee)),
        )


async def refund_destination(session: AsyncSession, refund: DestinationRefund) -> None:
    """A refund of a destination charge (the charge's row locked): ``reverse_transfer`` takes
    back its share of the transfer (a ``trr_…`` naming the refund), ``refund_application_fee``
    its share of the fee (an ``fr_…``), each in proportion (:func:`domain.refund_share`)."""
    if refund.reverse_transfer and refund.transfer_id is not None:
        transfer = await session.get(TransferRow, refund.transfer_id, with_for_update=True)
        invariant(transfer is not None, "a destination charge's transfer exists")
        assert transfer is not None
        share = refund_share(
            transfer.amount,
            transfer.amount_reversed,
            refund.charge_refunded,
            refund.amount,
            refund.charge_amount,
        )
        if share > 0:
            await reverse_locked(session, transfer, share, None, None, refund.refund_id)
    if refund.refund_application_fee and refund.application_fee_id is not None:
        fee = await session.get(ApplicationFeeRow, refund.application_fee_id, with_for_update=True)
        invariant(fee is not None, "a destination charge's application fee exists")
        assert fee is not None
        share = refund_share(
            fee.amount,
            fee.amount_refunded,
            refund.charge_refunded,
            refund.amount,
            refund.charge_amount,
        )
        if share > 0:
            await refund_fee_locked(session, fee, share, None)


def _platform_only(caller: Caller) -> None:
    if caller.platform_id is not None:
        # Stripe: an application fee is the platform's object.
        raise PermissionDeniedError(
            "Application fees are the platform's: use its own key, without a Stripe-Account header."
        )


def _metadata(value: dict[str, str] | str | None) -> dict[str, str] | None:
    return value if isinstance(value, dict) else None


class ApplicationFeeService:
    async def _row(
        self, session: AsyncSession, caller: Caller, fee_id: str, *, lock: bool = False
    ) -> ApplicationFeeRow:
        _platform_only(caller)
        statement = scoped(
            ApplicationFeeRow, caller.merchant, caller.livemode, ApplicationFeeRow.id == fee_id
        )
        if lock:
            statement = statement.with_for_update()
        row: ApplicationFeeRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("application_fee", fee_id)
        return row

    async def views(
        self, session: AsyncSession, rows: Sequence[ApplicationFeeRow]
    ) -> list[ApplicationFeeView]:
        return await fee_views(session, rows)

    async def get(self, session: AsyncSession, caller: Caller, fee_id: str) -> ApplicationFeeView:
        return (await self.views(session, [await self._row(session, caller, fee_id)]))[0]

    async def list(
        self, session: AsyncSession, caller: Caller, params: ApplicationFeeListParams
    ) -> tuple[list[ApplicationFeeView], bool]:
        _platform_only(caller)
        conditions: list[Any] = list(
            created_conditions(ApplicationFeeRow.created_at, params.created)
        )
        if params.charge is not None:
            conditions.append(ApplicationFeeRow.charge_id == params.charge)
        rows: Sequence[ApplicationFeeRow]
        rows, has_more = await scoped_page(
            session,
            ApplicationFeeRow,
            caller.merchant,
            caller.livemode,
            params,
            *conditions,
            object_name="application_fee",
        )
        return await self.views(session, rows), has_more

    async def refund(
        self, session: AsyncSession, caller: Caller, fee_id: str, params: FeeRefundCreateParams
    ) -> ApplicationFeeRefundRow:
        """``amount`` (default: all that is left) of the fee back to the connected account;
        more than is left is refused naming ``amount``. The fee's row lock orders them."""
        fee = await self._row(session, caller, fee_id, lock=True)
        amount = reversal_amount(fee.amount, fee.amount_refunded, params.amount)
        if amount is None:
            left = fee.amount - fee.amount_refunded
            raise TransferReversedTooMuchError(
                f"Application fee {fee.id} has {left} left to refund: a refund of"
                f" {params.amount if params.amount is not None else left} is not possible.",
                param="amount",
            )
        return await refund_fee_locked(session, fee, amount, _metadata(params.metadata))

    async def fee_refund(
        self,
        session: AsyncSession,
        caller: Caller,
        fee_id: str,
        refund_id: str,
        *,
        lock: bool = False,
    ) -> ApplicationFeeRefundRow:
        _platform_only(caller)
        statement = scoped(
            ApplicationFeeRefundRow,
            caller.merchant,
            caller.livemode,
            ApplicationFeeRefundRow.fee_id == fee_id,
            ApplicationFeeRefundRow.id == refund_id,
        )
        if lock:
            statement = statement.with_for_update()
        row: ApplicationFeeRefundRow | None = (
            await session.execute(statement)
        ).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("fee_refund", refund_id)
        return row

    async def update_refund(
        self,
        session: AsyncSession,
        caller: Caller,
        fee_id: str,
        refund_id: str,
        params: FeeRefundUpdateParams,
    ) -> ApplicationFeeRefundRow:
        row = await self.fee_refund(session, caller, fee_id, refund_id, lock=True)
        before = dict(row.metadata_ or {})
        row.metadata_ = merge_metadata(before, _metadata(params.metadata))
        if row.metadata_ != before:
            await session.flush()
            fee = await self._row(session, caller, fee_id)
            await record(
                session,
                fee,
                ApplicationFeeEvent.refund_updated,
                fee_refund_object(row),
                {"metadata": before},
            )
        return row

    async def list_refunds(
        self, session: AsyncSession, caller: Caller, fee_id: str, params: FeeRefundListParams
    ) -> tuple[Sequence[ApplicationFeeRefundRow], bool]:
        fee = await self._row(session, caller, fee_id)
        return await owned_page(
            session,
            ApplicationFeeRefundRow,
            params,
            owner=(
                ApplicationFeeRefundRow.merchant_id == fee.merchant_id,
                ApplicationFeeRefundRow.livemode == fee.livemode,
                ApplicationFeeRefundRow.fee_id == fee.id,
            ),
            filters=created_conditions(ApplicationFeeRefundRow.created_at, params.created),
            object_name="fee_refund",
        )


application_fee_service = ApplicationFeeService()
