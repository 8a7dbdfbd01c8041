"""Sending what the outbox holds, in phases around the network (docs/development.md, "The money
path"): claim the message in one short transaction (under a lease, rendered, its receipt
number given), hand it to the sender with no transaction open, record the answer in a second.

A run that finds the message sent, or given up, does nothing: a job run twice sends once. A run
that finds it under another run's lease asks to be retried later (that run may fail). Only a
process killed between the server's acceptance and the record of it sends the message again
once the lease has passed, under the same Message-ID.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.session import Database
from beyondpay.kit.clock import utcnow
from beyondpay.kit.invariants import invariant
from beyondpay.kit.logging import get_logger
from beyondpay.notifications.domain import (
    ERROR_CHARS_MAX,
    SEND_ATTEMPTS_MAX,
    SEND_LEASE_S,
    SMTP_NOT_CONFIGURED,
    Kind,
    Status,
    message_id_for,
)
from beyondpay.notifications.messages import composed_email, composer_for, receipt_email
from beyondpay.notifications.models import NotificationRow, SandboxEmailRow
from beyondpay.notifications.senders import EmailSender, SentEmail
from beyondpay.notifications.settings import CONFIG
from beyondpay.payments.service import assign_receipt_number, receipt_view

_log = get_logger(__name__)


class NotificationBusyError(RuntimeError):
    """Another run holds the message's lease: the job is retried later."""


class NotificationNotSentError(RuntimeError):
    """The server refused or could not be reached: the job is retried later."""


@dataclass(frozen=True, slots=True)
class Claimed:
    notification_id: str
    message: EmailMessage
    sender: EmailSender


async def _locked(session: AsyncSession, notification_id: str) -> NotificationRow | None:
    row: NotificationRow | None = (
        await session.execute(
            select(NotificationRow)
            .where(NotificationRow.id == notification_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    return row


async def _message(session: AsyncSession, row: NotificationRow) -> EmailMessage:
    config = CONFIG.current()
    if row.kind != Kind.receipt:
        content = await composer_for(Kind(row.kind))(session, row.subject_id)
        return composed_email(
            content,
            sender=config.email_from,
            recipient=row.recipient,
            message_id=message_id_for(row.id, config.email_from),
        )
    charge = await assign_receipt_number(session, row.subject_id)
    view = await receipt_view(session, config.ring, charge)
    return receipt_email(
        view,
        sender=config.email_from,
        recipient=row.recipient,
        message_id=message_id_for(row.id, config.email_from),
    )


async def claim(session: AsyncSession, notification_id: str) -> Claimed | None:
    """The message to send now, under this run's lease; None when there is nothing to send."""
    row = await _locked(session, notification_id)
    if row is None or row.status in (Status.sent, Status.failed):
        return None
    now = utcnow()
    if row.status == Status.sending and row.lease_until is not None and row.lease_until > now:
        raise NotificationBusyError(notification_id)
    sender = CONFIG.current().email_sender(row.livemode)
    if sender is None:
        row.status, row.lease_until = Status.failed, None
        row.last_error, row.updated_at = SMTP_NOT_CONFIGURED, now
        _log.warning("notification_not_sent", notification=row.id, reason=SMTP_NOT_CONFIGURED)
        return None
    row.status = Status.sending
    row.lease_until = now + timedelta(seconds=SEND_LEASE_S)
    row.attempts += 1
    row.updated_at = now
    message = await _message(session, row)
    await session.flush()
    return Claimed(row.id, message, sender)


async def record_sent(session: AsyncSession, notification_id: str, sent: SentEmail) -> None:
    row = await _locked(session, notification_id)
    invariant(row is not None, "a claimed notification exists")
    assert row is not None
    now = utcnow()
    row.status, row.lease_until = Status.sent, None
    row.message_id, row.sent_at, row.updated_at = sent.message_id, now, now
    row.last_error = None
    copy = sent.sandbox_copy
    if copy is not None and not row.livemode:
        await session.execute(
            insert(SandboxEmailRow)
            .values(
                notification_id=row.id,
                message_id=copy.message_id,
                envelope_from=copy.envelope_from,
                recipients=copy.recipients,
                subject=copy.subject,
                text_body=copy.text_body,
                html_body=copy.html_body,
                received_at=now,
            )
            .on_conflict_do_nothing()
        )
    await session.flush()


async def record_failure(session: AsyncSession, notification_id: str, error: str) -> bool:
    """The attempt failed; returns whether the message is given up (too many attempts)."""
    row = await _locked(session, notification_id)
    invariant(row is not None, "a claimed notification exists")
    assert row is not None
    given_up = row.attempts >= SEND_ATTEMPTS_MAX
    row.status = Status.failed if given_up else Status.queued
    row.lease_until = None
    row.last_error = error[:ERROR_CHARS_MAX]
    row.updated_at = utcnow()
    await session.flush()
    return given_up


async def send_notification(database: Database, notification_id: str) -> None:
    """Sends one message of the outbox, at most once unless a process dies mid-send."""
    async with database.unit_of_work() as session:
        claimed = await claim(session, notification_id)
    if claimed is None:
        return
    try:
        sent = await claimed.sender.send(claimed.message)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
        # The class only: an SMTP server's answer may repeat the recipient's address.
        reason = f"{type(error).__name__}"
        async with database.unit_of_work() as session:
            given_up = await record_failure(session, notification_id, reason)
        _log.warning("notification_send_failed", notification=notification_id, reason=reason)
        if not given_up:
            raise NotificationNotSentError(notification_id) from error
        return
    async with database.unit_of_work() as session:
        await record_sent(session, notification_id, sent)
