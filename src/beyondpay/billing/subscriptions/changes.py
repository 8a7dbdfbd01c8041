"""Subscriptions' changes beyond items and flags: pausing collection and resuming it, resuming a
paused subscription, canceling with prorations (``prorate``, ``invoice_now``,
``cancellation_details``) or at a set time (``cancel_at``), and restarting the billing cycle (a
change of interval, ``billing_cycle_anchor=now``); and their search. Never commits.

The service (service.py) calls in here from its update, cancel and renewal paths; everything
that bills goes through the service's ``_bill`` and ``_bill_pending`` and billing/invoices, so a
renewal, an update and a restart make invoices the same way. A restarted cycle counts its
periods from 0 again: an invoice's period key is ``period_offset + period_index``, so every
period of every cycle is still invoiced once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.invoices.domain import Status as InvoiceStatus
from beyondpay.billing.invoices.schemas import (
    InvoiceFinalizeParams,
    InvoiceItemCreateParams,
    InvoiceItemListParams,
    InvoiceUpdateParams,
    PeriodParams,
)
from beyondpay.billing.invoices.service import (
    InvoiceRow,
    SubscriptionLine,
    invoice_item_service,
    invoice_service,
)
from beyondpay.billing.invoices.store import acting_for
from beyondpay.billing.subscriptions import service, tasks
from beyondpay.billing.subscriptions.domain import (
    Event,
    Interval,
    ItemTerms,
    PauseCollection,
    PauseCollectionBehavior,
    Period,
    ProrationBehavior,
    ProrationLine,
    Status,
    as_utc,
    collection_paused,
    credit_unused,
    next_period,
    pause_collection,
    period_index_at,
    prorate_change,
    prorated_amount,
)
from beyondpay.billing.subscriptions.errors import SubscriptionUnexpectedStateError
from beyondpay.billing.subscriptions.events import SubscriptionEvent
from beyondpay.billing.subscriptions.models import SubscriptionItemRow, SubscriptionRow
from beyondpay.billing.subscriptions.schemas import (
    CancellationDetailsParams,
    SubscriptionCancelParams,
    SubscriptionCreateParams,
    SubscriptionResumeParams,
    SubscriptionSearchParams,
    SubscriptionUpdateParams,
    unix,
)
from beyondpay.db import jobs
from beyondpay.db.pagination import scoped
from beyondpay.db.search import Searchable, query_condition, search, searchable_fields
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError
from beyondpay.kit.search import FieldKind, parse_query
from beyondpay.merchants.domain import Caller

# Stripe's "Query fields for subscriptions".
SUBSCRIPTION_SEARCHABLE: Final = {
    "created": Searchable(SubscriptionRow.created_at, FieldKind.timestamp),
    "status": Searchable(SubscriptionRow.status, FieldKind.exact),
}
_LIVE: Final = (Status.trialing, Status.active, Status.past_due, Status.unpaid)


# ---- search ----------------------------------------------------------------------------------


async def search_subscriptions(
    session: AsyncSession, caller: Caller, params: SubscriptionSearchParams
) -> tuple[Sequence[SubscriptionRow], bool, str | None]:
    query = parse_query(params.query, searchable_fields(SUBSCRIPTION_SEARCHABLE))
    matched = query_condition(query, SUBSCRIPTION_SEARCHABLE, SubscriptionRow.metadata_)
    statement = scoped(SubscriptionRow, caller.merchant, caller.livemode, matched)
    return await search(
        session,
        statement,
        SubscriptionRow.id,
        limit=params.limit,
        page=params.page,
        prefix="sub",
    )


# ---- prorations as pending invoice items -----------------------------------------------------


async def add_pending_lines(
    session: AsyncSession, subscription: SubscriptionRow, lines: Sequence[ProrationLine]
) -> None:
    """Proration lines as the customer's pending invoice items: the next invoice of the
    subscription (a renewal, or one made now) takes them in."""
    caller = acting_for(subscription.merchant_id, subscription.livemode)
    for line in lines:
        await invoice_item_service.create(
            session,
            caller,
            InvoiceItemCreateParams(
                customer=subscription.customer_id,
                currency=subscription.currency,
                amount=line.amount_minor,
                description=line.description,
                period=PeriodParams(
                    start=int(line.period.start.timestamp()),
                    end=int(line.period.end.timestamp()),
                ),
                expand=[],
            ),
            # The item's price line, taxed at the rates its period's line had (its own, else
            # the subscription's defaults): a pending proration keeps them on any invoice.
            subscription_line=_line_of(line),
        )


def _line_of(line: ProrationLine) -> SubscriptionLine:
    billed_as = line.reference
    assert isinstance(billed_as, SubscriptionLine)
    return billed_as


def _terms(subscription: SubscriptionRow, rows: Sequence[SubscriptionItemRow]) -> list[ItemTerms]:
    """The items as prorations see them, each carrying its price line and tax rates."""
    return [service.item_terms(row, subscription.default_tax_rates) for row in rows]


def _current(subscription: SubscriptionRow) -> Period:
    return Period(subscription.current_period_start, subscription.current_period_end)


def moment_of(unix_s: int | None, default: datetime) -> datetime:
    return default if unix_s is None else datetime.fromtimestamp(unix_s, tz=default.tzinfo)


# ---- a restarted billing cycle: a change of interval, billing_cycle_anchor=now ----------------


def restarts_cycle(subscription: SubscriptionRow, new_interval: tuple[str, int] | None) -> bool:
    """Whether an update restarts the billing cycle: another interval (Stripe then invoices at
    once), unless the subscription is trialing (the new interval starts when the trial ends)."""
    changed = new_interval is not None and new_interval != (
        subscription.interval,
        subscription.interval_count,
    )
    return changed and subscription.status != Status.trialing


async def restart_cycle(
    session: AsyncSession,
    subscription: SubscriptionRow,
    old: Sequence[ItemTerms],
    at: datetime,
    behavior: ProrationBehavior,
) -> None:
    """Restart the billing cycle at ``at``, as Stripe does on a change of interval or with
    ``billing_cycle_anchor=now``: the unused time of the old items is credited
    (``credit_unused``; nothing with ``proration_behavior=none``), the anchor moves to ``at``,
    and the new period is invoiced in full at once with the credit on the same invoice."""
    if subscription.status == Status.trialing:
        raise InvalidRequestError(
            "A trialing subscription's billing cycle starts when its trial ends: it cannot be"
            " restarted during the trial.",
            param="billing_cycle_anchor",
        )
    if behavior is not ProrationBehavior.none:
        credit = credit_unused(old, _current(subscription), at)
        await add_pending_lines(session, subscription, credit.lines)
    await session.flush()
    subscription.period_offset += subscription.period_index + 1
    subscription.period_index = 0
    subscription.billing_cycle_anchor = as_utc(at)
    period = next_period(at, Interval(subscription.interval), subscription.interval_count, 0)
    subscription.current_period_start, subscription.current_period_end = period.start, period.end
    subscription.updated_at = utcnow()
    await service._bill(
        session,
        subscription,
        subscription.period_offset,
        period,
        service.REASON_UPDATE,
        finalize_now=True,
        include_pending=True,
    )
    await service._schedule(session, subscription)


def check_price_once(
    rows: Sequence[SubscriptionItemRow],
    row: SubscriptionItemRow | None,
    price_id: str,
    param: str,
) -> None:
    """A price is on a subscription once (Stripe's rule, and the items' unique key): checked
    under the subscription's lock, so two updates racing to add it get one 400."""
    if any(other is not row and other.price_id == price_id for other in rows):
        raise InvalidRequestError(
            f"The price {price_id} is already on this subscription: change that item's quantity"
            " instead.",
            param=param,
        )


def one_cycle(
    subscription: SubscriptionRow,
    rows: Sequence[SubscriptionItemRow],
    chosen: dict[str, tuple[str, int]],
) -> tuple[str, int] | None:
    """After a change every item bills on one interval (Stripe's rule): the new interval when
    the update moves all of them to another, else None."""
    current = (subscription.interval, subscription.interval_count)
    intervals = {chosen.get(row.id, current) for row in rows}
    if len(intervals) > 1:
        raise InvalidRequestError(
            "All of a subscription's prices must have the same billing interval: change every"
            " item's price to one of the new interval.",
            param="items",
        )
    (interval,) = intervals
    return None if interval == current else interval


def take_interval(subscription: SubscriptionRow, interval: tuple[str, int] | None) -> None:
    if interval is not None:
        subscription.interval, subscription.interval_count = interval


# ---- update: pause_collection, cancel_at, cancellation_details, billing_cycle_anchor ---------


async def apply_update(
    session: AsyncSession,
    subscription: SubscriptionRow,
    params: SubscriptionUpdateParams,
    previous: dict[str, Any],
    *,
    restarted: bool,
) -> None:
    """The update's parameters this module owns; ``previous`` gathers the previous values the
    ``customer.subscription.updated`` event carries."""
    sent = params.model_fields_set
    now = await service._now(session, subscription)
    if params.billing_cycle_anchor == "now" and not restarted:
        service._move(subscription, Event.update_items)
        previous["billing_cycle_anchor"] = unix(subscription.billing_cycle_anchor)
        rows = await service._items(session, subscription.id)
        at = moment_of(params.proration_date, now)
        await restart_cycle(
            session, subscription, _terms(subscription, rows), at, params.proration_behavior
        )
    if "pause_collection" in sent:
        await _set_pause(session, subscription, params, now, previous)
    if "cancel_at" in sent:
        cancel_at = params.cancel_at
        ends = None if cancel_at in (None, "") else moment_of(int(cancel_at or 0), now)
        await set_cancel_at(session, subscription, ends, now, params.proration_behavior, previous)
    if params.cancellation_details is not None:
        _set_details(subscription, params.cancellation_details, previous)


async def _set_pause(
    session: AsyncSession,
    subscription: SubscriptionRow,
    params: SubscriptionUpdateParams,
    now: datetime,
    previous: dict[str, Any],
) -> None:
    before = _pause_object(subscription)
    wanted = params.pause_collection
    if wanted in (None, ""):
        service._move(subscription, Event.resume_collection)
        subscription.pause_collection_behavior = None
        subscription.pause_collection_resumes_at = None
    else:
        assert not isinstance(wanted, str)
        service._move(subscription, Event.pause_collection)
        resumes_at = None if wanted.resumes_at is None else moment_of(wanted.resumes_at, now)
        pause = pause_collection(wanted.behavior, resumes_at, now)
        subscription.pause_collection_behavior = pause.behavior
        subscription.pause_collection_resumes_at = pause.resumes_at
        await _schedule_resumption(session, subscription)
    if _pause_object(subscription) != before:
        previous["pause_collection"] = before


def _pause_object(subscription: SubscriptionRow) -> dict[str, Any] | None:
    if subscription.pause_collection_behavior is None:
        return None
    return {
        "behavior": subscription.pause_collection_behavior,
        "resumes_at": unix(subscription.pause_collection_resumes_at),
    }


def _pause_of(subscription: SubscriptionRow) -> PauseCollection | None:
    if subscription.pause_collection_behavior is None:
        return None
    return PauseCollection(
        PauseCollectionBehavior(subscription.pause_collection_behavior),
        subscription.pause_collection_resumes_at,
    )


def _set_details(
    subscription: SubscriptionRow, details: CancellationDetailsParams, previous: dict[str, Any]
) -> None:
    before = {
        "comment": subscription.cancellation_comment,
        "feedback": subscription.cancellation_feedback,
        "reason": subscription.cancellation_reason,
    }
    sent = details.model_fields_set
    if "comment" in sent:
        subscription.cancellation_comment = details.comment or None
    if "feedback" in sent:
        subscription.cancellation_feedback = details.feedback or None
    if (subscription.cancellation_comment, subscription.cancellation_feedback) != (
        before["comment"],
        before["feedback"],
    ):
        previous["cancellation_details"] = before


# ---- cancel_at --------------------------------------------------------------------------------


def _natural_end(subscription: SubscriptionRow) -> datetime:
    """Where the current period ends when no ``cancel_at`` cuts it short."""
    if subscription.status == Status.trialing and subscription.trial_end is not None:
        return subscription.trial_end  # kept as it was: cancel_at does not move it
    if subscription.period_index < 0:
        return subscription.billing_cycle_anchor  # a stub ends at the anchor
    return next_period(
        subscription.billing_cycle_anchor,
        Interval(subscription.interval),
        subscription.interval_count,
        subscription.period_index,
    ).end


async def set_cancel_at(
    session: AsyncSession,
    subscription: SubscriptionRow,
    at: datetime | None,
    now: datetime,
    behavior: ProrationBehavior,
    previous: dict[str, Any],
) -> None:
    """``cancel_at``: the subscription ends at ``at``. Within the current period, the period is
    cut short there and its unused rest credited (pending items, by ``proration_behavior``), as
    Stripe prorates a cancellation at a set time; in a later period, the renewal that reaches it
    bills only the share up to it (:func:`final_period`). ``None`` clears it, and a period cut
    short gets its rest back, charged as the remaining time."""
    if at is not None and as_utc(at) <= as_utc(now):
        raise InvalidRequestError("cancel_at must be in the future.", param="cancel_at")
    service._move(subscription, Event.schedule_cancel if at else Event.unschedule_cancel)
    if at is not None and subscription.cancel_at_period_end:
        raise InvalidRequestError(
            "cancel_at and cancel_at_period_end cannot both be set: unset cancel_at_period_end"
            " first.",
            param="cancel_at",
        )
    before = subscription.cancel_at
    if before == at:
        return
    previous["cancel_at"] = unix(before)
    rows = await service._items(session, subscription.id)
    trialing = subscription.status == Status.trialing
    natural = _natural_end(subscription)
    if subscription.current_period_end < natural:
        # Cut short by the cancel_at being replaced: the rest of the period comes back.
        cut = subscription.current_period_end
        subscription.current_period_end = natural
        if not trialing:
            full = Period(subscription.current_period_start, natural)
            proration = prorate_change(
                [], _terms(subscription, rows), full, cut, behavior, param="cancel_at"
            )
            await add_pending_lines(session, subscription, proration.lines)
    subscription.cancel_at = None if at is None else as_utc(at)
    if at is not None and as_utc(at) < subscription.current_period_end:
        if not trialing and behavior is not ProrationBehavior.none:
            credit = credit_unused(
                _terms(subscription, rows), _current(subscription), at, param="cancel_at"
            )
            await add_pending_lines(session, subscription, credit.lines)
        # A trial cut short keeps its trial_end (Stripe's object too): it ends at cancel_at.
        subscription.current_period_end = as_utc(at)
        await service._schedule(session, subscription)
    subscription.updated_at = utcnow()


def cancel_at_start(
    subscription: SubscriptionRow,
    params: SubscriptionCreateParams,
    now: datetime,
    charge: Any,
) -> tuple[Period, Any]:
    """``cancel_at`` on create (in the future; not with ``cancel_at_period_end``): inside the
    first period it cuts the period short there and the first invoice bills the share up to it
    (a trial, free, just ends there). Returns the first period and what it bills of a full
    period's amount (``charge``, a stub's, or ``None`` for all of it)."""
    assert params.cancel_at is not None
    cancel_at = moment_of(params.cancel_at, now)
    if cancel_at <= now:
        raise InvalidRequestError("cancel_at must be in the future.", param="cancel_at")
    if params.cancel_at_period_end:
        raise InvalidRequestError(
            "cancel_at and cancel_at_period_end cannot both be set.", param="cancel_at"
        )
    subscription.cancel_at = cancel_at
    current = _current(subscription)
    if cancel_at >= current.end:
        return current, charge
    subscription.current_period_end = cancel_at
    if subscription.trial_end is not None:
        return Period(current.start, cancel_at), charge

    def share(amount_minor: int) -> int:
        whole = amount_minor if charge is None else charge(amount_minor)
        return whole - prorated_amount(whole, current, cancel_at)

    return Period(current.start, cancel_at), share


def final_period(subscription: SubscriptionRow, period: Period) -> tuple[Period, Any]:
    """A renewal's period, cut short at ``cancel_at`` when it falls inside, and what it bills
    of a full period's amount (the share up to ``cancel_at``), or ``None`` for all of it."""
    cancel_at = subscription.cancel_at
    if cancel_at is None or not period.start < cancel_at < period.end:
        return period, None
    rest = Period(cancel_at, period.end)

    def share(amount_minor: int) -> int:
        return amount_minor - prorated_amount(amount_minor, period, rest.start)

    return Period(period.start, cancel_at), share


# ---- cancel now: prorate, invoice_now, cancellation_details ----------------------------------


async def settle_cancellation(
    session: AsyncSession,
    subscription: SubscriptionRow,
    params: SubscriptionCancelParams,
    now: datetime,
) -> None:
    """Before a live subscription ends now: its details kept, the unused time credited with
    ``prorate=true`` (pending items), and with ``invoice_now=true`` the customer's pending items
    invoiced at once. A credit larger than what is owed leaves that invoice a draft with a
    negative total: Stripe would finalize it and put the credit on the customer's balance,
    which is the seam for billing's customer balance (docs/billing.md)."""
    if params.cancellation_details is not None:
        _set_details(subscription, params.cancellation_details, {})
    if subscription.status not in _LIVE:
        return
    if params.prorate and subscription.status != Status.trialing:
        rows = await service._items(session, subscription.id)
        credit = credit_unused(
            _terms(subscription, rows), _current(subscription), now, param="prorate"
        )
        await add_pending_lines(session, subscription, credit.lines)
    if params.invoice_now and await _has_pending(session, subscription):
        await service._bill_pending(session, subscription, _current(subscription))


async def _has_pending(session: AsyncSession, subscription: SubscriptionRow) -> bool:
    await session.flush()
    caller = acting_for(subscription.merchant_id, subscription.livemode)
    rows, _more = await invoice_item_service.list(
        session,
        caller,
        InvoiceItemListParams(customer=subscription.customer_id, pending=True, limit=1),
    )
    return bool(rows)


# ---- pause_collection at renewals, and its end ----------------------------------------------


async def treat_paused_invoice(
    session: AsyncSession, subscription: SubscriptionRow, invoice: InvoiceRow, at: datetime
) -> None:
    """A renewal's invoice made while collection is paused, by the pause's ``behavior``
    (Stripe's): kept a draft that does not advance (the merchant finalizes it when they wish),
    or finalized without a collection attempt and then marked uncollectible or voided."""
    pause = _pause_of(subscription)
    if not collection_paused(pause, at):
        return
    assert pause is not None
    caller = acting_for(subscription.merchant_id, subscription.livemode)
    # Not advancing: a draft stays one; a finalized one gets no collection attempt.
    await invoice_service.update(
        session, caller, invoice.id, InvoiceUpdateParams.model_validate({"auto_advance": False})
    )
    if pause.behavior is PauseCollectionBehavior.keep_as_draft:
        return
    finalized = await invoice_service.finalize(
        session, caller, invoice.id, InvoiceFinalizeParams(auto_advance=False, expand=[])
    )
    if finalized.status != InvoiceStatus.open:
        return  # nothing to collect (a zero invoice is paid at finalization)
    if pause.behavior is PauseCollectionBehavior.void:
        await invoice_service.void(session, caller, invoice.id)
    else:
        await invoice_service.mark_uncollectible(session, caller, invoice.id)


async def end_pause_locked(
    session: AsyncSession, subscription: SubscriptionRow, now: datetime
) -> bool:
    """``pause_collection[resumes_at]`` has come: collection resumes (the field is cleared;
    invoices made from then on are collected). Once, whoever runs it."""
    resumes_at = subscription.pause_collection_resumes_at
    if resumes_at is None or resumes_at > as_utc(now) or subscription.status not in _LIVE:
        return False
    previous = {"pause_collection": _pause_object(subscription)}
    subscription.pause_collection_behavior = None
    subscription.pause_collection_resumes_at = None
    subscription.updated_at = utcnow()
    await service._announce(session, subscription, SubscriptionEvent.updated, previous)
    return True


async def end_pause_on_clock(
    session: AsyncSession, subscription: SubscriptionRow, until: datetime
) -> bool:
    """On a test clock advancing to ``until``: collection resumes at
    ``pause_collection[resumes_at]`` once the renewals before it are made (treated by the
    pause's behavior until then; one at ``resumes_at`` itself is collected)."""
    resumes_at = subscription.pause_collection_resumes_at
    if resumes_at is None or resumes_at > until:
        return False
    if subscription.current_period_end <= resumes_at:
        return False  # a renewal before it comes first, on the clock's next pass
    return await end_pause_locked(session, subscription, resumes_at)


async def end_pause_now(session: AsyncSession, subscription_id: str) -> bool:
    """The ``resume_collection`` job (real time; a test clock's advance does it otherwise)."""
    subscription = await service._lock(session, subscription_id)
    if subscription is None or subscription.test_clock is not None:
        return False
    return await end_pause_locked(session, subscription, utcnow())


async def _schedule_resumption(session: AsyncSession, subscription: SubscriptionRow) -> None:
    resumes_at = subscription.pause_collection_resumes_at
    if subscription.test_clock is not None or resumes_at is None:
        return
    await jobs.defer(
        session,
        tasks.resume_collection,
        schedule_in_s=max((resumes_at - utcnow()).total_seconds(), 0.0),
        subscription=subscription.id,
    )


# ---- a paused subscription: entered at a trial's end, left by resume ------------------------


async def pause_at_trial_end(session: AsyncSession, subscription: SubscriptionRow) -> None:
    """A trial ended without a payment method and ``trial_settings`` says ``pause``: the
    subscription is ``paused`` and makes no invoice until it is resumed."""
    previous = {"status": subscription.status}
    subscription.status = Status.paused
    subscription.updated_at = utcnow()
    await service._announce(session, subscription, SubscriptionEvent.updated, previous)
    await service._announce(session, subscription, SubscriptionEvent.paused)


async def resume(
    session: AsyncSession,
    caller: Caller,
    subscription_id: str,
    params: SubscriptionResumeParams,
) -> SubscriptionRow:
    """``POST /v1/subscriptions/{id}/resume``: a paused subscription is ``active`` again. With
    ``billing_cycle_anchor=now`` (Stripe's default) a new cycle starts now and its first period
    is invoiced in full; with ``unchanged`` the anchor stays and the rest of the current period
    is invoiced as its share (free with ``proration_behavior=none``)."""
    subscription = await service._find(session, caller, subscription_id, for_update=True)
    status = service._move(subscription, Event.resume)
    now = await service._now(session, subscription)
    interval = Interval(subscription.interval)
    if params.billing_cycle_anchor == "now":
        if params.proration_date is not None:
            raise InvalidRequestError(
                "proration_date applies only with billing_cycle_anchor=unchanged.",
                param="proration_date",
            )
        subscription.period_offset += subscription.period_index + 1
        subscription.period_index = 0
        subscription.billing_cycle_anchor = now
        period = next_period(now, interval, subscription.interval_count, 0)
        amount_of = None
    else:
        at = moment_of(params.proration_date, now)
        anchor = subscription.billing_cycle_anchor
        index = period_index_at(anchor, interval, subscription.interval_count, at)
        if index <= subscription.period_index:
            raise SubscriptionUnexpectedStateError(
                "The subscription's current period has not ended: it resumes in a later one.",
                param="billing_cycle_anchor",
            )
        subscription.period_index = index
        period = next_period(anchor, interval, subscription.interval_count, index)
        free = params.proration_behavior is ProrationBehavior.none

        def amount_of(amount_minor: int) -> int:
            return 0 if free else prorated_amount(amount_minor, period, at)

    previous = {"status": subscription.status}
    subscription.status = status
    subscription.current_period_start, subscription.current_period_end = period.start, period.end
    subscription.updated_at = utcnow()
    await service._bill(
        session,
        subscription,
        subscription.period_offset + subscription.period_index,
        period,
        service.REASON_UPDATE,
        amount_of=amount_of,
        finalize_now=True,
    )
    await service._announce(session, subscription, SubscriptionEvent.updated, previous)
    await service._announce(session, subscription, SubscriptionEvent.resumed)
    await service._schedule(session, subscription)
    return subscription
