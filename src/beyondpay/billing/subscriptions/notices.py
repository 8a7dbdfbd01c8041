"""What a subscription tells its customer before it charges them, and the gate that keeps each
charge behind its notice (docs/billing.md, "Dunning", "How the service runs it").

- **Pre-debit notices** (RBI's e-mandate rules on cards issued in India): before *every* try of
  a card charge, the renewal's own (``renewal:<subscription>:<period>``, planned when the period
  before it begins, due 25 hours before it ends) and each retry's (``retry:<invoice>:<n>``,
  planned with the retry): an ``invoice.upcoming`` event (Stripe's shape: the upcoming invoice,
  rendered before it exists for a renewal; the open invoice for a retry) and an email through
  the notifications outbox (``Kind.pre_debit_notice``, composed by :func:`compose_notice`).
- **The gate**: a try is charged no sooner than ``dunning.charge_not_before(rail, notified_at)``
  where ``notified_at`` is when the notice really went: a notice sent late (a test clock's jump,
  a period shorter than 25 hours, a job that ran late) moves its charge, never shortens the
  notice. The renewal's first collection asks :func:`gate_first_collection` (registered with
  billing/invoices' ``on_first_collection``); a retry asks :func:`gate_retry`.
- **Additional authentication** above ₹15,000 (``Attempt.needs_authentication``): the try is
  never made off-session; when the notice goes with an open invoice (a retry's notice, or the
  renewal's invoice once finalized) the invoice waits for the customer
  (``invoice.payment_action_required``) and the email carries its ``hosted_invoice_url``; still
  unpaid at the try's ``charge_at``, the try counts as failed and the plan moves on.
- **The trial's end**: ``customer.subscription.trial_will_end`` three days before it (at once
  when the trial is shorter), once.

Each notice is a row whose ``key`` is unique: planned once (``ON CONFLICT DO NOTHING``), sent
once (its row locked and its status checked), its try made once (``charged_at``). Jobs in real
time (``subscriptions:notify``, ``subscriptions:charge``), deferred in the transaction that
plans them; on a test clock :func:`advance_notices_on_clock`, each at its own time. Never
commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.invoices.domain import CollectionMethod, balance_applied, totals
from beyondpay.billing.invoices.domain import Status as InvoiceStatus
from beyondpay.billing.invoices.schemas import InvoiceItemListParams, tax_amount_object
from beyondpay.billing.invoices.service import (
    InvoiceEvent,
    InvoiceRow,
    collection_service,
    hosted_invoice_url,
    invoice_item_service,
    invoice_service,
    upcoming_taxes,
)
from beyondpay.billing.invoices.store import acting_for
from beyondpay.billing.subscriptions import dunning, tasks
from beyondpay.billing.subscriptions.domain import Interval, Status, as_utc, next_period
from beyondpay.billing.subscriptions.dunning_settings import settings_of
from beyondpay.billing.subscriptions.events import SubscriptionEvent
from beyondpay.billing.subscriptions.models import NoticeRow, SubscriptionItemRow, SubscriptionRow
from beyondpay.customers.service import customer_service
from beyondpay.db import jobs
from beyondpay.events.service import event_service
from beyondpay.kit.clock import utcnow
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.money import Money
from beyondpay.merchants.service import merchant_service
from beyondpay.notifications.service import Addressed, ComposedEmail, Kind, notification_service
from beyondpay.test_clocks.timeline import Interval as ClockInterval

if TYPE_CHECKING:
    from collections.abc import Sequence

# Stripe's event before a renewal; recorded before every try of a card charge here.
UPCOMING_EVENT: Final = InvoiceEvent.upcoming.value
# Stripe sends customer.subscription.trial_will_end three days before a trial ends.
TRIAL_WILL_END_LEAD: Final = timedelta(days=3)
# Renewals are charged to a saved card issued in India (service.RENEWAL_RAIL says why).
RAIL: Final = dunning.Rail.card_india
# How many notices one advance of a test clock sends or charges in one pass (it loops).
CLOCK_BATCH_MAX: Final = 500
_REASON_CYCLE: Final = "subscription_cycle"
_NOTIFIED_STATUSES: Final = (Status.trialing, Status.active, Status.past_due)
_UNPAID: Final = (InvoiceStatus.open, InvoiceStatus.uncollectible)
_IST: Final = timedelta(hours=5, minutes=30)


class NoticeKind(StrEnum):
    pre_debit = "pre_debit"
    trial_will_end = "trial_will_end"


class NoticeStatus(StrEnum):
    scheduled = "scheduled"
    sent = "sent"
    skipped = "skipped"  # no longer owed: the subscription ended, the invoice was paid, ...


def renewal_key(subscription_id: str, period_index: int) -> str:
    return f"renewal:{subscription_id}:{period_index}"


def retry_key(invoice_id: str, attempt: int) -> str:
    return f"retry:{invoice_id}:{attempt}"


# ---- planning ----------------------------------------------------------------------------------


async def _plan(
    session: AsyncSession,
    subscription: SubscriptionRow,
    *,
    key: str,
    kind: NoticeKind,
    notify_at: datetime,
    planned_at: datetime,
    attempt: int | None = None,
    period_index: int | None = None,
    invoice_id: str | None = None,
    charge_at: datetime | None = None,
) -> NoticeRow | None:
    """The notice ``key``, once: a second plan of it changes nothing. In real time its job is
    deferred in this transaction (a rollback plans nothing)."""
    notice_id = (
        await session.execute(
            insert(NoticeRow)
            .values(
                id=new_id("sbn"),
                merchant_id=subscription.merchant_id,
                livemode=subscription.livemode,
                subscription_id=subscription.id,
                key=key,
                kind=kind.value,
                attempt=attempt,
                period_index=period_index,
                invoice_id=invoice_id,
                status=NoticeStatus.scheduled.value,
                planned_at=planned_at,
                notify_at=notify_at,
                needs_authentication=False,
                charge_at=charge_at,
                test_clock=subscription.test_clock,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=[NoticeRow.key])
            .returning(NoticeRow.id)
        )
    ).scalar_one_or_none()
    if notice_id is None:
        return None
    if subscription.test_clock is None:
        await jobs.defer(
            session,
            tasks.notify,
            schedule_in_s=max((notify_at - utcnow()).total_seconds(), 0.0),
            notice=notice_id,
        )
    return await _locked(session, notice_id)


async def plan_for_period(
    session: AsyncSession, subscription: SubscriptionRow, now: datetime
) -> None:
    """When a subscription starts or a period begins: the next renewal's pre-debit notice
    (25 hours before this period ends), and during a trial its ``trial_will_end`` (three days
    before the trial ends, at once when it is shorter)."""
    if subscription.status not in _NOTIFIED_STATUSES:
        return
    if subscription.status == Status.trialing and subscription.trial_end is not None:
        await _plan_trial_will_end(session, subscription, now)
    if subscription.collection_method != CollectionMethod.charge_automatically:
        return
    lead = dunning.notice_lead(RAIL)
    if not lead:
        return
    await _plan(
        session,
        subscription,
        key=renewal_key(subscription.id, subscription.period_index + 1),
        kind=NoticeKind.pre_debit,
        attempt=0,
        period_index=subscription.period_index + 1,
        notify_at=subscription.current_period_end - lead,
        planned_at=now,
        charge_at=dunning.next_execution_time(RAIL, subscription.current_period_end),
    )


async def _plan_trial_will_end(
    session: AsyncSession, subscription: SubscriptionRow, now: datetime
) -> None:
    trial_end = subscription.trial_end
    assert trial_end is not None
    notice = await _plan(
        session,
        subscription,
        key=f"trial_will_end:{subscription.id}:{int(trial_end.timestamp())}",
        kind=NoticeKind.trial_will_end,
        notify_at=max(trial_end - TRIAL_WILL_END_LEAD, as_utc(now)),
        planned_at=now,
    )
    if notice is not None and notice.notify_at <= as_utc(now):
        # A trial shorter than three days: told at once, in the transaction that starts it.
        await _send_trial_will_end(session, notice, subscription, now)


async def plan_retry(
    session: AsyncSession,
    subscription: SubscriptionRow,
    invoice: InvoiceRow,
    attempt: dunning.Attempt,
    now: datetime,
) -> None:
    """The pre-debit notice of retry ``attempt.number`` of the invoice, at its ``notify_at``."""
    if attempt.notify_at is None:
        return
    await _plan(
        session,
        subscription,
        key=retry_key(invoice.id, attempt.number),
        kind=NoticeKind.pre_debit,
        attempt=attempt.number,
        invoice_id=invoice.id,
        notify_at=attempt.notify_at,
        planned_at=now,
        charge_at=attempt.charge_at,
    )


# ---- sending -----------------------------------------------------------------------------------


async def _locked(session: AsyncSession, notice_id: str) -> NoticeRow | None:
    statement = (
        select(NoticeRow)
        .where(NoticeRow.id == notice_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row: NoticeRow | None = (await session.execute(statement)).scalar_one_or_none()
    return row


async def _locked_by_key(session: AsyncSession, key: str) -> NoticeRow | None:
    statement = (
        select(NoticeRow)
        .where(NoticeRow.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row: NoticeRow | None = (await session.execute(statement)).scalar_one_or_none()
    return row


async def _subscription(session: AsyncSession, subscription_id: str) -> SubscriptionRow | None:
    from beyondpay.billing.subscriptions.service import lock_subscription

    return await lock_subscription(session, subscription_id)


async def send_locked(
    session: AsyncSession, subscription: SubscriptionRow, notice: NoticeRow, moment: datetime
) -> bool:
    """Sends the locked notice of the locked subscription at ``moment`` if it is still owed
    (once: a sent or skipped one is left alone). True when this run sent or skipped it."""
    if notice.status != NoticeStatus.scheduled:
        return False
    if notice.kind == NoticeKind.trial_will_end:
        return await _send_trial_will_end(session, notice, subscription, moment)
    if notice.invoice_id is None:
        return await _send_renewal_notice(session, notice, subscription, moment)
    return await _send_retry_notice(session, notice, subscription, moment)


async def _lock_pair(
    session: AsyncSession, notice_id: str
) -> tuple[SubscriptionRow, NoticeRow] | None:
    """The notice and its subscription locked in the order every use case takes them (an
    invoice, its subscription, then the subscription's notices)."""
    subscription_id = (
        await session.execute(select(NoticeRow.subscription_id).where(NoticeRow.id == notice_id))
    ).scalar_one_or_none()
    if subscription_id is None:
        return None
    subscription = await _subscription(session, subscription_id)
    notice = await _locked(session, notice_id)
    if subscription is None or notice is None:
        return None
    return subscription, notice


def _skip(notice: NoticeRow) -> bool:
    notice.status = NoticeStatus.skipped.value
    return True


def _mark_sent(notice: NoticeRow, moment: datetime, amount_minor: int, authenticate: bool) -> None:
    """Sent at ``moment``: the try waits RBI's notice after it, whatever was planned."""
    notice.status = NoticeStatus.sent.value
    notice.notified_at = as_utc(moment)
    notice.amount_due = amount_minor
    notice.needs_authentication = authenticate
    earliest = dunning.charge_not_before(RAIL, moment)
    notice.charge_at = earliest if notice.charge_at is None else max(notice.charge_at, earliest)


async def _send_renewal_notice(
    session: AsyncSession, notice: NoticeRow, subscription: SubscriptionRow, moment: datetime
) -> bool:
    """The renewal's notice, before its invoice exists: the upcoming invoice as it will be
    (what the subscription bills for the next period, and the customer's pending items)."""
    if (
        subscription.status not in _NOTIFIED_STATUSES
        or subscription.period_index + 1 != notice.period_index
        or subscription.collection_method != CollectionMethod.charge_automatically
        or subscription.cancel_at_period_end
        or (
            subscription.cancel_at is not None
            and subscription.cancel_at <= subscription.current_period_end
        )
    ):
        return _skip(notice)
    preview = await upcoming_invoice(session, subscription, notice.charge_at)
    settings = await settings_of(session, subscription.merchant_id, subscription.livemode)
    amount = int(preview["amount_due"])
    if amount == 0:
        return _skip(notice)  # nothing will be charged: nothing to announce
    authenticate = dunning.needs_authentication(RAIL, amount, settings.mandate_category)
    _mark_sent(notice, moment, amount, authenticate)
    preview["next_payment_attempt"] = _unix(notice.charge_at)
    await _record(session, subscription, UPCOMING_EVENT, preview)
    await _email(session, subscription, notice)
    return True


async def _send_retry_notice(
    session: AsyncSession, notice: NoticeRow, subscription: SubscriptionRow, moment: datetime
) -> bool:
    """A retry's notice: the open invoice. Above the authentication limit the invoice waits for
    its customer on its hosted page (``invoice.payment_action_required``)."""
    assert notice.invoice_id is not None
    invoice = await _invoice(session, notice.invoice_id)
    if (
        invoice.status not in _UNPAID
        or subscription.latest_invoice_id != invoice.id
        or subscription.status != Status.past_due
    ):
        return _skip(notice)
    settings = await settings_of(session, subscription.merchant_id, subscription.livemode)
    authenticate = dunning.needs_authentication(RAIL, invoice.amount_due, settings.mandate_category)
    _mark_sent(notice, moment, invoice.amount_due, authenticate)
    await _record(
        session, subscription, UPCOMING_EVENT, await _upcoming_of(session, invoice, notice)
    )
    if authenticate:
        await collection_service.require_action(session, invoice)
    await _email(session, subscription, notice)
    return True


async def _send_trial_will_end(
    session: AsyncSession, notice: NoticeRow, subscription: SubscriptionRow, moment: datetime
) -> bool:
    from beyondpay.billing.subscriptions.service import rendered

    if subscription.status != Status.trialing or subscription.trial_end is None:
        return _skip(notice)
    notice.status = NoticeStatus.sent.value
    notice.notified_at = as_utc(moment)
    await _record(
        session,
        subscription,
        SubscriptionEvent.trial_will_end,
        await rendered(session, subscription),
    )
    return True


async def _upcoming_of(
    session: AsyncSession, invoice: InvoiceRow, notice: NoticeRow
) -> dict[str, Any]:
    """The open invoice as the notice announces it: ``next_payment_attempt`` is its try's time,
    as Stripe's upcoming invoice gives it."""
    upcoming = dict(await invoice_service.rendered(session, invoice))
    upcoming["next_payment_attempt"] = _unix(notice.charge_at)
    return upcoming


async def _record(
    session: AsyncSession, subscription: SubscriptionRow, type: str, object: dict[str, Any]
) -> None:
    await event_service.record(
        session,
        merchant_id=subscription.merchant_id,
        livemode=subscription.livemode,
        type=type,
        object=object,
    )


async def _invoice(session: AsyncSession, invoice_id: str) -> InvoiceRow:
    found = await session.get(InvoiceRow, invoice_id, populate_existing=True)
    invariant(found is not None, "a notice's invoice exists")
    assert found is not None
    return found


async def _email(session: AsyncSession, subscription: SubscriptionRow, notice: NoticeRow) -> None:
    """The notice's email to the customer, if they have an address (the event is sent
    regardless: a merchant may notify by its own means, from the webhook)."""
    caller = acting_for(subscription.merchant_id, subscription.livemode)
    customer = await customer_service.get(session, caller, subscription.customer_id)
    if customer.email is None:
        return
    await notification_service.queue_email(
        session,
        merchant_id=subscription.merchant_id,
        livemode=subscription.livemode,
        kind=Kind.pre_debit_notice,
        subject_id=notice.id,
        recipient=customer.email,
    )


# ---- the upcoming invoice ----------------------------------------------------------------------


def _unix(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


async def _items(session: AsyncSession, subscription_id: str) -> Sequence[SubscriptionItemRow]:
    rows = await session.execute(
        select(SubscriptionItemRow)
        .where(SubscriptionItemRow.subscription_id == subscription_id)
        .order_by(SubscriptionItemRow.created_at, SubscriptionItemRow.id)
    )
    return rows.scalars().all()


async def upcoming_invoice(
    session: AsyncSession, subscription: SubscriptionRow, charge_at: datetime | None
) -> dict[str, Any]:
    """The invoice the next renewal will make, before it exists, in Stripe's shape of an
    upcoming invoice (no ``id``): a line per item for the next period, then the customer's
    pending items (an update's prorations) the renewal takes in."""
    index = subscription.period_index + 1
    period = next_period(
        subscription.billing_cycle_anchor,
        Interval(subscription.interval),
        subscription.interval_count,
        index,
    )
    lines: list[dict[str, Any]] = []
    taxed: list[tuple[int, Sequence[dict[str, Any]], bool]] = []
    for item in await _items(session, subscription.id):
        lines.append(
            _line(
                item.unit_amount * item.quantity,
                subscription.currency,
                f"{item.quantity} \N{MULTIPLICATION SIGN} {item.product_name}",
                period.start,
                period.end,
                item.quantity,
                {"subscription_item": item.id, "price": item.price_id},
            )
        )
        rates = item.tax_rates or subscription.default_tax_rates
        taxed.append((item.unit_amount * item.quantity, rates, item.tax_behavior == "inclusive"))
    caller = acting_for(subscription.merchant_id, subscription.livemode)
    pending, _ = await invoice_item_service.list(
        session,
        caller,
        InvoiceItemListParams(customer=subscription.customer_id, pending=True, limit=100),
    )
    for pending_item in pending:
        if pending_item.currency != subscription.currency:
            continue
        lines.append(
            _line(
                pending_item.amount,
                pending_item.currency,
                pending_item.description,
                period.start,
                period.end,
                pending_item.quantity,
                {"invoice_item": pending_item.id},
            )
        )
        rates = pending_item.tax_rates or subscription.default_tax_rates
        taxed.append((pending_item.amount, rates, pending_item.tax_behavior == "inclusive"))
    # Taxed and balanced as the renewal's invoice will be, so that the amount announced is the
    # amount charged (a notice for another amount is sent again, and its charge waits again).
    taxes = [
        tax
        for line in await upcoming_taxes(session, caller, subscription.customer_id, taxed)
        for tax in line
    ]
    sums = totals([int(line["amount"]) for line in lines], taxes)
    customer = await customer_service.get(session, caller, subscription.customer_id)
    starting = customer.balance if customer.currency == subscription.currency else 0
    applied = balance_applied(starting, sums.amount_due)
    amount_due = sums.amount_due - applied
    return {
        "id": None,
        "object": "invoice",
        "livemode": subscription.livemode,
        "customer": subscription.customer_id,
        "currency": subscription.currency,
        "status": "draft",
        "billing_reason": "upcoming",
        "collection_method": subscription.collection_method,
        "parent": {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {
                "subscription": subscription.id,
                "metadata": dict(subscription.metadata_),
            },
        },
        "period_start": _unix(period.start),
        "period_end": _unix(period.end),
        "lines": {
            "object": "list",
            "data": lines,
            "has_more": False,
            "total_count": len(lines),
            "url": f"/v1/subscriptions/{subscription.id}/upcoming/lines",
        },
        "subtotal": sums.subtotal,
        "total": sums.total,
        "total_excluding_tax": sums.total_excluding_tax,
        "total_taxes": [tax_amount_object(tax) for tax in sums.taxes],
        "starting_balance": starting,
        "ending_balance": starting + applied,
        "amount_due": amount_due,
        "amount_paid": 0,
        "amount_remaining": amount_due,
        "attempt_count": 0,
        "attempted": False,
        "next_payment_attempt": _unix(charge_at),
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "number": None,
        "created": _unix(period.start),
    }


def _line(
    amount: int,
    currency: str,
    description: str | None,
    start: datetime,
    end: datetime,
    quantity: int,
    parent: dict[str, Any],
) -> dict[str, Any]:
    return {
        "object": "line_item",
        "amount": amount,
        "currency": currency,
        "description": description,
        "period": {"start": _unix(start), "end": _unix(end)},
        "quantity": quantity,
        "parent": parent,
    }


# ---- the gate ----------------------------------------------------------------------------------


async def gate_first_collection(
    session: AsyncSession, invoice: InvoiceRow, moment: datetime
) -> bool:
    """Asked by billing/invoices when a renewal's invoice is finalized, before its first
    collection: False lets it charge now (its notice went 25 hours ago or more); True when this
    gate takes the try over (it waits for its notice's time, or needs the customer)."""
    if invoice.subscription_id is None or invoice.billing_reason != _REASON_CYCLE:
        return False
    assert invoice.subscription_period is not None
    # A renewal's invoice is made when its period starts: on a test clock its own time may
    # read earlier (made during an advance, at the clock's time before it), never its period.
    moment = max(as_utc(moment), invoice.period_start)
    key = renewal_key(invoice.subscription_id, invoice.subscription_period)
    subscription = await _subscription(session, invoice.subscription_id)
    if subscription is None:
        return False
    notice = await _locked_by_key(session, key)
    if notice is None:
        # Planned before this notice existed, or never: the customer is told now.
        notice = await _plan(
            session,
            subscription,
            key=key,
            kind=NoticeKind.pre_debit,
            attempt=0,
            period_index=invoice.subscription_period,
            notify_at=moment,
            planned_at=moment,
        )
        assert notice is not None
    notice.invoice_id = invoice.id
    if notice.status != NoticeStatus.sent or notice.amount_due != invoice.amount_due:
        # Not sent (its job has not run), skipped (the renewal was to end the subscription,
        # then was not), or for another amount (the items changed after it went): sent now,
        # for the invoice as it is; the charge waits RBI's notice from now.
        settings = await settings_of(session, invoice.merchant_id, invoice.livemode)
        authenticate = dunning.needs_authentication(
            RAIL, invoice.amount_due, settings.mandate_category
        )
        _mark_sent(notice, moment, invoice.amount_due, authenticate)
        await _record(
            session, subscription, UPCOMING_EVENT, await _upcoming_of(session, invoice, notice)
        )
        if not authenticate:
            await _email(session, subscription, notice)
    charge_at = notice.charge_at
    assert charge_at is not None
    if notice.needs_authentication:
        # Never off-session: the invoice waits for its customer, who gets its link now, and
        # has RBI's notice time to pay it before the try counts as failed.
        notice.charge_at = max(charge_at, dunning.charge_not_before(RAIL, moment))
        await collection_service.require_action(session, invoice)
        await _email(session, subscription, notice)
        await _schedule_charge(session, notice)
        return True
    if charge_at <= as_utc(moment):
        notice.charged_at = as_utc(moment)
        return False
    await _schedule_charge(session, notice)
    return True


async def _schedule_charge(session: AsyncSession, notice: NoticeRow) -> None:
    if notice.test_clock is not None or notice.charge_at is None:
        return
    await jobs.defer(
        session,
        tasks.charge,
        schedule_in_s=max((notice.charge_at - utcnow()).total_seconds(), 0.0),
        notice=notice.id,
    )


async def charge_locked(
    session: AsyncSession, subscription: SubscriptionRow, notice: NoticeRow, moment: datetime
) -> bool:
    """The renewal's try, held by :func:`gate_first_collection`, is due: the invoice's first
    collection (off-session), or, for a try that needed the customer and is still unpaid, its
    failure (dunning plans the first retry). Once: ``charged_at`` is set."""
    if (
        notice.charged_at is not None
        or notice.invoice_id is None
        or notice.attempt != 0
        or notice.charge_at is None
        or notice.charge_at > as_utc(moment)
    ):
        return False
    notice.charged_at = as_utc(moment)
    invoice = await _invoice(session, notice.invoice_id)
    if invoice.status not in _UNPAID:
        return True
    if not notice.needs_authentication:
        await collection_service.schedule_attempt(session, invoice, 1)
        return True
    from beyondpay.billing.subscriptions.service import fail_unauthenticated_try

    await fail_unauthenticated_try(session, subscription, invoice, as_utc(moment))
    return True


async def gate_retry(
    session: AsyncSession,
    subscription: SubscriptionRow,
    invoice: InvoiceRow,
    attempt: int,
    moment: datetime,
) -> datetime | bool:
    """Asked before retry ``attempt`` of the invoice is charged at ``moment``: a later time
    when it must wait (its notice was not sent, or sent less than RBI's notice ago: it is sent
    now if it was not); else whether it needs the customer (True: never charged off-session,
    the try counts as failed) or is charged (False). Counts the try as made."""
    key = retry_key(invoice.id, attempt)
    notice = await _locked_by_key(session, key)
    if notice is None:
        notice = await _plan(
            session,
            subscription,
            key=key,
            kind=NoticeKind.pre_debit,
            attempt=attempt,
            invoice_id=invoice.id,
            notify_at=moment,
            planned_at=moment,
        )
        assert notice is not None
    if notice.status != NoticeStatus.sent:
        notice.status = NoticeStatus.scheduled.value
        await _send_retry_notice(session, notice, subscription, moment)
        if notice.status != NoticeStatus.sent:
            return False  # not owed any more (the caller found the invoice unpaid: charge it)
    charge_at = notice.charge_at
    assert charge_at is not None
    if charge_at > as_utc(moment):
        return charge_at
    notice.charged_at = as_utc(moment)
    return notice.needs_authentication


async def authentication_pending(session: AsyncSession, invoice: InvoiceRow) -> bool:
    """Whether the invoice waits for its customer's authentication on a try not yet over:
    its ``payment_action_required`` is no failed try (the plan moves on at the try's time)."""
    found = await session.execute(
        select(NoticeRow.id).where(
            NoticeRow.invoice_id == invoice.id,
            NoticeRow.needs_authentication.is_(True),
            NoticeRow.status == NoticeStatus.sent,
            NoticeRow.charged_at.is_(None),
        )
    )
    return found.first() is not None


# ---- the jobs and the clock --------------------------------------------------------------------


async def notify_now(session: AsyncSession, notice_id: str) -> bool:
    """The ``notify`` job (run twice, or late, it finds the notice sent and does nothing)."""
    locked = await _lock_pair(session, notice_id)
    if locked is None:
        return False
    subscription, notice = locked
    if notice.test_clock is not None or notice.notify_at > utcnow():
        return False
    return await send_locked(session, subscription, notice, utcnow())


async def charge_now(session: AsyncSession, notice_id: str) -> bool:
    """The ``charge`` job: the renewal's held try, at its time, once."""
    locked = await _lock_pair(session, notice_id)
    if locked is None or locked[1].test_clock is not None:
        return False
    return await charge_locked(session, *locked, utcnow())


async def advance_notices_on_clock(session: AsyncSession, interval: ClockInterval) -> bool:
    """The clock's notices due in the interval, each at its own time: sent at ``notify_at``
    (or when planned, if that was later: a notice planned late goes late), then the renewals'
    held tries at their ``charge_at``. True when something moved."""
    moved = False
    due = await session.execute(
        select(NoticeRow.id)
        .where(
            NoticeRow.test_clock == interval.clock_id,
            NoticeRow.status == NoticeStatus.scheduled,
            NoticeRow.notify_at <= interval.end,
        )
        .order_by(NoticeRow.notify_at, NoticeRow.id)
        .limit(CLOCK_BATCH_MAX)
    )
    for notice_id in list(due.scalars()):
        locked = await _lock_pair(session, notice_id)
        if locked is not None:
            subscription, notice = locked
            moment = max(notice.notify_at, notice.planned_at)
            moved |= await send_locked(session, subscription, notice, moment)
    held = await session.execute(
        select(NoticeRow.id)
        .where(
            NoticeRow.test_clock == interval.clock_id,
            NoticeRow.status == NoticeStatus.sent,
            NoticeRow.attempt == 0,
            NoticeRow.invoice_id.is_not(None),
            NoticeRow.charged_at.is_(None),
            NoticeRow.charge_at <= interval.end,
        )
        .order_by(NoticeRow.charge_at, NoticeRow.id)
        .limit(CLOCK_BATCH_MAX)
    )
    for notice_id in list(held.scalars()):
        locked = await _lock_pair(session, notice_id)
        if locked is not None and locked[1].charge_at is not None:
            moved |= await charge_locked(session, *locked, locked[1].charge_at)
    return moved


# ---- the email ---------------------------------------------------------------------------------


def _ist(moment: datetime) -> str:
    local = as_utc(moment) + _IST
    return f"{local.day} {local:%b %Y, %H:%M} IST"


async def compose_notice(session: AsyncSession, addressed: Addressed) -> ComposedEmail:
    """The pre-debit notice's email, as the notice stands when the email goes: the amount, the
    merchant, when it is charged; for a try that needs the customer, the hosted page's link."""
    notice = await session.get(NoticeRow, addressed.subject_id)
    invariant(notice is not None, "a notice's email has its notice")
    assert notice is not None and notice.amount_due is not None and notice.charge_at is not None
    subscription = await session.get(SubscriptionRow, notice.subscription_id)
    assert subscription is not None
    merchant = await merchant_service.business_name(session, notice.merchant_id)
    amount = Money(notice.amount_due, subscription.currency).format()
    when = _ist(notice.charge_at)
    link = None
    if notice.needs_authentication and notice.invoice_id is not None:
        invoice = await _invoice(session, notice.invoice_id)
        if invoice.status in _UNPAID:
            link = hosted_invoice_url(invoice)
    if notice.needs_authentication:
        subject = f"Action needed: approve your payment of {amount} to {merchant}"
        if link is not None:
            action = (
                f"This payment is above RBI's limit for automatic recurring charges, so it needs"
                f" your approval. Pay it here before {when}:\n\n{link}\n"
            )
        else:
            action = (
                "This payment is above RBI's limit for automatic recurring charges, so it needs"
                " your approval: we will email you a link to pay it when the invoice is issued.\n"
            )
        text = (
            f"Your subscription to {merchant} renews for {amount}.\n\n{action}\n"
            "Nothing will be charged to your card without you."
        )
    else:
        subject = f"Upcoming payment of {amount} to {merchant}"
        text = (
            f"{merchant} will charge {amount} to your saved card on or after {when}, for your"
            f" subscription ({subscription.id}).\n\nTo stop it, cancel the subscription or"
            " the card's e-mandate before then."
        )
    return ComposedEmail(from_name=merchant, subject=subject, text=text)
