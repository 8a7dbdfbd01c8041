"""Notifications' use cases, as other modules and the composition root reach them. Never
commits: the request or the job owns the transaction.

``queue_receipt`` is registered by ``app.wire_modules`` with payments' ``on_receipt_due``: it
writes the receipt email to the outbox and defers the job that sends it, both in the payment's
own transaction, so the email goes after commit and never from inside it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db import jobs
from beyondpay.kit.clock import utcnow
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.merchants.domain import Caller
from beyondpay.notifications.domain import Channel, Kind, Status
from beyondpay.notifications.messages import MessageContent, on_compose
from beyondpay.notifications.models import NotificationRow, SandboxEmailRow
from beyondpay.notifications.schemas import SandboxEmailListParams
from beyondpay.notifications.settings import configure
from beyondpay.notifications.tasks import send
from beyondpay.payments.service import ChargeRow

__all__ = [
    "Kind",
    "MessageContent",
    "NotificationService",
    "configure",
    "notification_service",
    "on_compose",
    "queue_receipt",
]


class NotificationService:
    async def queue_email(
        self,
        session: AsyncSession,
        *,
        merchant_id: str,
        livemode: bool,
        kind: Kind,
        subject_id: str,
        recipient: str,
    ) -> NotificationRow:
        """An email in the outbox and the job that sends it, in the caller's transaction."""
        now = utcnow()
        row = NotificationRow(
            id=new_id("ntf"),
            merchant_id=merchant_id,
            livemode=livemode,
            channel=Channel.email.value,
            kind=kind.value,
            subject_id=subject_id,
            recipient=recipient,
            status=Status.queued.value,
            attempts=0,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        await jobs.defer(session, send, notification_id=row.id)
        return row

    async def sandbox_emails(
        self, session: AsyncSession, caller: Caller, params: SandboxEmailListParams
    ) -> Sequence[tuple[SandboxEmailRow, NotificationRow]]:
        """What the test-mode sink received for the caller's notifications, newest first."""
        invariant(not caller.livemode, "the sink holds test-mode email only")
        statement = (
            select(SandboxEmailRow, NotificationRow)
            .join(NotificationRow, NotificationRow.id == SandboxEmailRow.notification_id)
            .where(
                NotificationRow.merchant_id == caller.merchant,
                NotificationRow.livemode.is_(False),
            )
            .order_by(SandboxEmailRow.notification_id.desc())
            .limit(params.limit)
        )
        if params.to is not None:
            statement = statement.where(NotificationRow.recipient == params.to)
        if params.related is not None:
            statement = statement.where(NotificationRow.subject_id == params.related)
        found = await session.execute(statement)
        return [(email, notification) for email, notification in found]


notification_service = NotificationService()


async def queue_receipt(session: AsyncSession, charge: ChargeRow) -> None:
    """Payments' receipt is due: its email goes to the outbox (handler of ``on_receipt_due``)."""
    invariant(charge.receipt_email is not None, "a receipt is due only with an address")
    await notification_service.queue_email(
        session,
        merchant_id=charge.merchant_id,
        livemode=charge.livemode,
        kind=Kind.receipt,
        subject_id=charge.id,
        recipient=str(charge.receipt_email),
    )
