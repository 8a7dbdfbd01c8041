"""Replaying deliveries: one delivery again (``retry``), or every dead or failed delivery of an
endpoint created in a time window (``recover``, like Svix's). Never commits.

A replayed delivery goes back to ``pending``, due now, with a fresh retry budget
(``attempt_count`` starts again from 0, so the whole schedule applies); its earlier attempts stay
recorded. It is then sent by the normal path (:func:`beyondpay.webhooks.deliveries.deliver_due_on`):
the same claim, the same order per object (a requeued event is again the head of its object's
line: the object's later undelivered events wait behind it), and the same ``webhook-id`` (the
event id), so receivers de-duplicate a delivery they already had.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import procrastinate
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db import jobs
from beyondpay.db.pagination import scoped
from beyondpay.db.session import driver_connection
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.merchants.domain import Caller
from beyondpay.webhooks.deliveries import DeliveryStatus
from beyondpay.webhooks.models import WebhookDeliveryRow, WebhookEndpointRow
from beyondpay.webhooks.schemas import RECOVER_WINDOW_MAX, EndpointStatus
from beyondpay.webhooks.service import DELIVERY_OBJECT_NAME, webhook_endpoint_service
from beyondpay.webhooks.tasks import DELIVER_QUEUEING_LOCK, deliver_due

RECOVERABLE: Final = (DeliveryStatus.dead, DeliveryStatus.failed)

# Its snapshot follows the statements before it: a job committed by now is seen.
_DELIVER_QUEUED: Final = (
    "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE queueing_lock = %s AND status = 'todo')"
)


class WebhookEndpointDisabledError(InvalidRequestError):
    code = "webhook_endpoint_disabled"
    default_message = "The webhook endpoint is disabled: enable it first (disabled=false)."


class WebhookEndpointDeletedError(InvalidRequestError):
    code = "webhook_endpoint_deleted"
    default_message = "The delivery's webhook endpoint was deleted: it cannot be sent again."


@dataclass(frozen=True)
class Recovery:
    endpoint: WebhookEndpointRow
    since: int
    until: int | None
    requeued: int


def check_window(since: int, until: int | None) -> None:
    """Refuses a window reaching further back than ``RECOVER_WINDOW_MAX``, or an empty one
    (a validation failure: the route checks it before the mutation starts)."""
    oldest = utcnow() - RECOVER_WINDOW_MAX
    if datetime.fromtimestamp(since, tz=UTC) < oldest:
        raise InvalidRequestError(
            f"since must be at most {RECOVER_WINDOW_MAX.days} days ago"
            f" (at or after {int(oldest.timestamp())}).",
            param="since",
        )
    if until is not None and until <= since:
        raise InvalidRequestError("until must be after since.", param="until")


async def _lock_endpoint(session: AsyncSession, endpoint_id: str) -> WebhookEndpointRow:
    # The endpoint before its deliveries, as deliveries._record_all locks them: any other order
    # deadlocks with an outcome being recorded (or the endpoint being disabled) meanwhile.
    row: WebhookEndpointRow = (
        await session.execute(
            select(WebhookEndpointRow).where(WebhookEndpointRow.id == endpoint_id).with_for_update()
        )
    ).scalar_one()
    return row


def _requeue_values(now: datetime) -> dict[str, object]:
    # locked_until is left alone: a delivery being attempted right now keeps its claim, and its
    # outcome is recorded on the requeued row (a success settles it; a failure retries it).
    return {
        "status": DeliveryStatus.pending,
        "next_attempt_at": now,
        "attempt_count": 0,
        "updated_at": now,
    }


async def defer_delivery(session: AsyncSession) -> None:
    """Enqueues ``deliver_due`` in the session's transaction unless one is waiting already.

    Only sooner: ``deliver_due`` also runs every second on its own, which covers a waiting job
    that starts before this transaction commits.
    """
    driver = await driver_connection(session)
    queued = await (await driver.execute(_DELIVER_QUEUED, (DELIVER_QUEUEING_LOCK,))).fetchone()
    if queued is not None and queued[0]:
        return
    # A job enqueued by the worker since the check fails the queueing lock's unique index: the
    # savepoint keeps that failure from aborting the transaction.
    with contextlib.suppress(procrastinate.exceptions.AlreadyEnqueued):
        async with session.begin_nested():
            await jobs.defer(session, deliver_due, queueing_lock=DELIVER_QUEUEING_LOCK)


class WebhookReplayService:
    async def retry(
        self, session: AsyncSession, caller: Caller, delivery_id: str
    ) -> WebhookDeliveryRow:
        """The delivery, back to pending and due now (whatever its status)."""
        found: WebhookDeliveryRow | None = (
            await session.execute(
                scoped(
                    WebhookDeliveryRow,
                    caller.merchant,
                    caller.livemode,
                    WebhookDeliveryRow.id == delivery_id,
                )
            )
        ).scalar_one_or_none()
        if found is None:
            raise ResourceMissingError.for_object(DELIVERY_OBJECT_NAME, delivery_id)
        endpoint = await _lock_endpoint(session, found.endpoint_id)
        if endpoint.deleted_at is not None:
            raise WebhookEndpointDeletedError(param="webhook_delivery")
        if endpoint.status != EndpointStatus.enabled.value:
            raise WebhookEndpointDisabledError(param="webhook_delivery")
        now = utcnow()
        await session.execute(
            update(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.id == found.id)
            .values(**_requeue_values(now))
        )
        await session.refresh(found)
        await defer_delivery(session)
        return found

    async def recover(
        self,
        session: AsyncSession,
        caller: Caller,
        endpoint_id: str,
        since: int,
        until: int | None,
    ) -> Recovery:
        """Every dead or failed delivery of the endpoint created in [since, until), back to
        pending and due now. Succeeded and pending ones are left alone."""
        endpoint = await webhook_endpoint_service.get(session, caller, endpoint_id, for_update=True)
        if endpoint.deleted_at is not None:
            raise ResourceMissingError.for_object("webhook_endpoint", endpoint_id)
        if endpoint.status != EndpointStatus.enabled.value:
            raise WebhookEndpointDisabledError(param="webhook_endpoint")
        conditions = [
            WebhookDeliveryRow.endpoint_id == endpoint.id,
            WebhookDeliveryRow.status.in_(RECOVERABLE),
            WebhookDeliveryRow.created_at >= datetime.fromtimestamp(since, tz=UTC),
        ]
        if until is not None:
            conditions.append(WebhookDeliveryRow.created_at < datetime.fromtimestamp(until, tz=UTC))
        requeued = len(
            (
                await session.execute(
                    update(WebhookDeliveryRow)
                    .where(*conditions)
                    .values(**_requeue_values(utcnow()))
                    .returning(WebhookDeliveryRow.id)
                )
            )
            .scalars()
            .all()
        )
        if requeued:
            await defer_delivery(session)
        return Recovery(endpoint=endpoint, since=since, until=until, requeued=requeued)


webhook_replay_service = WebhookReplayService()
