"""The events PSP transfers record: their names, and the one place that records them.

Each payer hears of what concerns them in their own scope (the payer's id as ``merchant_id``,
test mode): a payment's payer and, when a payer was paid, its payee; a collect request's payer
asked and, when a payer asked, its requester.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.events.service import event_service
from beyondpay.psp.identity.service import PSP_LIVEMODE
from beyondpay.psp.transfers.models import TransferRow
from beyondpay.psp.transfers.schemas import transaction_object


class TransferEvent(StrEnum):
    transaction_created = "psp.transaction.created"
    transaction_succeeded = "psp.transaction.succeeded"
    transaction_failed = "psp.transaction.failed"
    transaction_received = "psp.transaction.received"
    collect_request_created = "psp.collect_request.created"
    collect_request_paid = "psp.collect_request.paid"
    collect_request_declined = "psp.collect_request.declined"
    collect_request_expired = "psp.collect_request.expired"
    collect_request_failed = "psp.collect_request.failed"


def collect_request_ended(status: str) -> TransferEvent:
    """The event of a collect request that reached ``status`` once its payment was answered."""
    if status == "paid":
        return TransferEvent.collect_request_paid
    if status == "expired":
        return TransferEvent.collect_request_expired
    return TransferEvent.collect_request_failed


async def record(
    session: AsyncSession, scope: str, type: TransferEvent, object: dict[str, Any]
) -> None:
    """One event in ``scope`` (a payer's id: each payer has its own sequence of events), in the
    caller's transaction."""
    await event_service.record(
        session, merchant_id=scope, livemode=PSP_LIVEMODE, type=type, object=object
    )


async def record_transfer(session: AsyncSession, row: TransferRow) -> None:
    """An answered payment's events: the payer's, and the payee's when a payer was paid."""
    mine = transaction_object(row, row.payer_id)
    if row.status != "succeeded":
        await record(session, row.payer_id, TransferEvent.transaction_failed, mine)
        return
    await record(session, row.payer_id, TransferEvent.transaction_succeeded, mine)
    if row.payee_payer_id is not None:
        theirs = transaction_object(row, row.payee_payer_id)
        await record(session, row.payee_payer_id, TransferEvent.transaction_received, theirs)
