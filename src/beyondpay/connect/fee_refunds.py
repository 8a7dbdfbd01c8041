"""An application fee's refunds, the one place that writes them: from the fee's routes
(``fees``), a refund of its charge (``refund_application_fee``) and a reversal of its transfer
(``service``, ``refund_application_fee``). The caller holds the fee's row lock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.connect.events import ApplicationFeeEvent, record
from beyondpay.connect.models import ApplicationFeeRefundRow, ApplicationFeeRow
from beyondpay.connect.schemas import ApplicationFeeView, application_fee_object
from beyondpay.kit.clock import utcnow
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.params import merge_metadata
from beyondpay.payments.service import move_between_merchants

FEE_REFUND_CODE: Final = "application_fee_refund"


async def fee_views(
    session: AsyncSession, rows: Sequence[ApplicationFeeRow]
) -> list[ApplicationFeeView]:
    """The fees with their refunds, newest first, in one query."""
    found = await session.execute(
        select(ApplicationFeeRefundRow)
        .where(ApplicationFeeRefundRow.fee_id.in_([row.id for row in rows]))
        .order_by(ApplicationFeeRefundRow.created_at.desc(), ApplicationFeeRefundRow.id.desc())
    )
    refunds: dict[str, list[ApplicationFeeRefundRow]] = {row.id: [] for row in rows}
    for refund in found.scalars():
        refunds[refund.fee_id].append(refund)
    return [ApplicationFeeView(row, refunds[row.id]) for row in rows]


async def locked_fee_of(session: AsyncSession, charge_id: str) -> ApplicationFeeRow | None:
    """The application fee of ``charge_id``, its row locked, if the charge has one."""
    found = await session.execute(
        select(ApplicationFeeRow).where(ApplicationFeeRow.charge_id == charge_id).with_for_update()
    )
    fee: ApplicationFeeRow | None = found.scalar_one_or_none()
    return fee


async def refund_fee_locked(
    session: AsyncSession, fee: ApplicationFeeRow, amount: int, metadata: dict[str, str] | None
) -> ApplicationFeeRefundRow:
    """``amount`` of the fee (its row locked, the amount checked) from the platform's
    available balance back to the connected account's: the refund's row,
    ``application_fee.refunded``, both balance transactions (``application_fee_refund``), and
    the ledger transfer (``<fr>:refund``) last."""
    refund = ApplicationFeeRefundRow(
        id=new_id("fr"),
        merchant_id=fee.merchant_id,
        livemode=fee.livemode,
        fee_id=fee.id,
        amount=amount,
        currency=fee.currency,
        balance_transaction_id=new_id("txn"),
        metadata_=merge_metadata({}, metadata),
        created_at=utcnow(),
    )
    fee.amount_refunded += amount
    fee.updated_at = refund.created_at
    invariant(amount > 0 and fee.amount_refunded <= fee.amount, "a fee is never over-refunded")
    session.add(refund)
    await session.flush()
    view = (await fee_views(session, [fee]))[0]
    await record(session, fee, ApplicationFeeEvent.refunded, application_fee_object(view))
    await move_between_merchants(
        session,
        livemode=fee.livemode,
        currency=fee.currency,
        amount=amount,
        source=(
            fee.merchant_id,
            refund.balance_transaction_id,
            "application_fee_refund",
            refund.id,
        ),
        destination=(fee.account_id, new_id("txn"), "application_fee_refund", refund.id),
        transfer_id=f"{refund.id}:refund",
        code=FEE_REFUND_CODE,
        description=None,
    )
    return refund
