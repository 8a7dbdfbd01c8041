"""What happens to invoices at their times: an auto-advancing draft finalized about an hour after
its creation (then collected or emailed), and an open send_invoice invoice marked overdue once
its due date passes (``invoice.overdue``, once; its status stays ``open``, as Stripe's).

In real time these are the jobs ``tasks.advance`` and ``tasks.overdue``, deferred in the
transaction that set the time. An invoice whose customer is on a test clock follows the clock
instead: :func:`advance_invoices_on_clock` (registered at ``Stage.billing`` by
``app.wire_test_clocks``) does, in the advance's transaction, what falls due in the interval,
each at its own moment, in order: finalizations, then due dates. What needs a rail (the
collection) is a job deferred in that transaction.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.invoices import lifecycle
from beyondpay.billing.invoices.domain import CollectionMethod, Status, is_overdue
from beyondpay.billing.invoices.events import InvoiceEvent
from beyondpay.billing.invoices.models import InvoiceRow
from beyondpay.billing.invoices.rendering import announce
from beyondpay.billing.invoices.store import lock
from beyondpay.db.session import Database
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError
from beyondpay.test_clocks.timeline import Interval


async def finalize_due_draft(session: AsyncSession, invoice_id: str, *, clock: bool) -> bool:
    """Finalizes the draft if its time has come (on the wall clock, or, with ``clock``, at the
    moment it was due on its test clock); True when this run did it."""
    invoice = await lock(session, invoice_id)
    if (
        invoice is None
        or invoice.status != Status.draft
        or not invoice.auto_advance
        or invoice.automatically_finalizes_at is None
        or (invoice.test_clock is not None) != clock
    ):
        return False
    moment = invoice.automatically_finalizes_at
    if not clock and moment > utcnow():
        return False  # the time moved later since the job was deferred: a later job comes
    try:
        async with session.begin_nested():
            await lifecycle.finalize_locked(session, invoice, moment)
    except InvalidRequestError as error:
        # What the merchant must mend (a coupon expired or used up since the draft was made):
        # nothing of the attempt is kept, the draft waits for them with the reason, as
        # Stripe's does; a job or a clock's advance never fails on it, nor tries it again.
        await lifecycle.fail_finalization(session, invoice_id, error)
        return True
    await lifecycle.after_finalization(session, invoice, moment)
    return True


async def mark_overdue_now(session: AsyncSession, invoice_id: str, *, clock: bool) -> bool:
    """Records ``invoice.overdue`` once for an open invoice past its due date."""
    invoice = await lock(session, invoice_id)
    if (
        invoice is None
        or invoice.overdue_at is not None
        or (invoice.test_clock is not None) != clock
    ):
        return False
    due = invoice.due_date
    if due is None or not is_overdue(Status(invoice.status), due, due if clock else utcnow()):
        return False
    invoice.overdue_at = due if clock else utcnow()
    await announce(session, invoice, InvoiceEvent.overdue)
    return True


async def advance_draft(database: Database, invoice_id: str) -> None:
    """The ``advance`` job: the finalization (and the first collection's job, or the email)
    commits in one transaction."""
    async with database.unit_of_work() as session:
        await finalize_due_draft(session, invoice_id, clock=False)


async def mark_overdue(database: Database, invoice_id: str) -> None:
    async with database.unit_of_work() as session:
        await mark_overdue_now(session, invoice_id, clock=False)


async def advance_invoices_on_clock(session: AsyncSession, interval: Interval) -> None:
    """The clock's invoices in ``(interval.start, interval.end]``: drafts finalized at their
    ``automatically_finalizes_at``, then open send_invoice invoices whose due date passed
    marked overdue, each in the order of its moment. Idempotent: each is locked and checked."""
    drafts = await session.execute(
        select(InvoiceRow.id)
        .where(
            InvoiceRow.test_clock == interval.clock_id,
            InvoiceRow.status == Status.draft,
            InvoiceRow.auto_advance.is_(True),
            InvoiceRow.automatically_finalizes_at <= interval.end,
        )
        .order_by(InvoiceRow.automatically_finalizes_at, InvoiceRow.id)
    )
    for invoice_id in list(drafts.scalars()):
        await finalize_due_draft(session, invoice_id, clock=True)
    due = await session.execute(
        select(InvoiceRow.id)
        .where(
            InvoiceRow.test_clock == interval.clock_id,
            InvoiceRow.status == Status.open,
            InvoiceRow.collection_method == CollectionMethod.send_invoice,
            InvoiceRow.overdue_at.is_(None),
            InvoiceRow.due_date <= interval.end,
        )
        .order_by(InvoiceRow.due_date, InvoiceRow.id)
    )
    for invoice_id in list(due.scalars()):
        await mark_overdue_now(session, invoice_id, clock=True)
