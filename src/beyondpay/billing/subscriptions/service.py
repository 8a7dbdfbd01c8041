"""Subscriptions' use cases: create, read, list, cancel; their invoices' outcomes
(:func:`hear_invoice`), renewals at each period's end and the expiry of an unpaid start
(:func:`advance_subscriptions_on_clock` on a test clock, the ``renew`` and ``expire`` jobs in
real time). Never commits: the request or job owns the transaction.

Every invoice of a subscription is an invoice of billing/invoices, created, finalized and
collected through its services; its lines are ``price`` lines of the items' recurring prices
(a period's amount, a stub's share, a proration) with the items' tax rates, and the
subscription's ``default_tax_rates`` are the invoice's defaults, so GST splits them by place of
supply as on any invoice. A status moves only by ``domain.next_status``.

Locks are taken in the order payments' outcomes take them: a PaymentIntent, its invoice, then
the invoice's subscription (:func:`hear_invoice` runs under the first two); a cancellation voids
the first invoice before it locks the subscription.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.catalog.schemas import price_object
from beyondpay.billing.catalog.service import BillablePrice, price_service
from beyondpay.billing.invoices.domain import CollectionMethod
from beyondpay.billing.invoices.domain import Status as InvoiceStatus
from beyondpay.billing.invoices.schemas import (
    InvoiceCreateParams,
    InvoiceFinalizeParams,
    InvoiceItemCreateParams,
    PeriodParams,
)
from beyondpay.billing.invoices.service import (
    InvoiceEvent,
    InvoiceRow,
    SubscriptionBilling,
    SubscriptionLine,
    collection_service,
    invoice_item_service,
    invoice_service,
)
from beyondpay.billing.invoices.store import acting_for
from beyondpay.billing.subscriptions import dunning, notices, tasks
from beyondpay.billing.subscriptions.domain import (
    INCOMPLETE_EXPIRY_S,
    TERMINAL,
    Circumstances,
    Event,
    IllegalTransitionError,
    Interval,
    ItemTerms,
    MissingPaymentMethod,
    Period,
    Status,
    as_utc,
    incomplete_expires_at,
    next_period,
    next_status,
    plan_start,
    prorate_change,
)
from beyondpay.billing.subscriptions.dunning_settings import settings_of
from beyondpay.billing.subscriptions.errors import SubscriptionUnexpectedStateError
from beyondpay.billing.subscriptions.events import SubscriptionEvent, record
from beyondpay.billing.subscriptions.models import SubscriptionItemRow, SubscriptionRow
from beyondpay.billing.subscriptions.schemas import (
    ItemUpdateParams,
    SubscriptionCancelParams,
    SubscriptionCreateParams,
    SubscriptionItemListParams,
    SubscriptionListParams,
    SubscriptionUpdateParams,
    item_object,
    subscription_object,
)
from beyondpay.billing.tax.schemas import tax_rate_object
from beyondpay.billing.tax.service import tax_rate_service
from beyondpay.customers.service import customer_service
from beyondpay.db import jobs
from beyondpay.db.pagination import created_conditions, scoped_page
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.logging import get_logger
from beyondpay.kit.params import merge_metadata
from beyondpay.merchants.domain import Caller
from beyondpay.payment_methods.service import payment_method_service
from beyondpay.payments.service import payment_intent_service
from beyondpay.test_clocks.timeline import Interval as ClockInterval

OBJECT: Final = "subscription"
ITEM_OBJECT: Final = "subscription_item"
# Stripe's billing_reason of a subscription's invoices.
REASON_CREATE: Final = "subscription_create"
REASON_CYCLE: Final = "subscription_cycle"
REASON_UPDATE: Final = "subscription_update"
# Stripe's cancellation_details.reason when the merchant (or the customer) asks.
CANCELLATION_REQUESTED: Final = "cancellation_requested"
CANCELLATION_PAYMENT_FAILED: Final = "payment_failed"
# Stripe's recommended schedule, 8 tries in 2 weeks, then cancel (dunning.DunningSettings'
# defaults): a merchant's own settings (dunning_settings.settings_of) replace it.
DUNNING_SETTINGS: Final = dunning.DunningSettings()
# Renewals are charged to a saved card; the platform's cards are issued in India, so RBI's
# pre-debit rules shape the retries. UPI Autopay mandates (dunning.Rail.upi_autopay) plug in
# here when mandates land: the rail comes from the default payment method.
RENEWAL_RAIL: Final = dunning.Rail.card_india
# A renewal's draft finalizes about an hour after the period starts (Stripe's auto-advance),
# then is collected: billing/invoices does both.
_LIVE: Final = (Status.trialing, Status.active, Status.past_due, Status.unpaid)
_HEARD: Final = {
    InvoiceEvent.paid: Event.invoice_paid,
    InvoiceEvent.payment_failed: Event.payment_failed,
    InvoiceEvent.payment_action_required: Event.payment_requires_action,
}
_STRIPE_DEFAULTS: Final = Circumstances()
_EXPIRY: Final = timedelta(seconds=INCOMPLETE_EXPIRY_S)
_log = get_logger(__name__)


# ---- reading ---------------------------------------------------------------------------------


async def _find(
    session: AsyncSession,
    caller: Caller,
    subscription_id: str,
    *,
    for_update: bool = False,
    param: str | None = "id",
) -> SubscriptionRow:
    statement = select(SubscriptionRow).where(
        SubscriptionRow.merchant_id == caller.merchant,
        SubscriptionRow.livemode == caller.livemode,
        SubscriptionRow.id == subscription_id,
    )
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    row = (await session.execute(statement)).scalar_one_or_none()
    if row is None:
        raise ResourceMissingError.for_object(OBJECT, subscription_id, param=param)
    return row


async def _lock(session: AsyncSession, subscription_id: str) -> SubscriptionRow | None:
    statement = (
        select(SubscriptionRow)
        .where(SubscriptionRow.id == subscription_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row: SubscriptionRow | None = (await session.execute(statement)).scalar_one_or_none()
    return row


async def lock_subscription(session: AsyncSession, subscription_id: str) -> SubscriptionRow | None:
    """The subscription, locked (notices take it before their own rows)."""
    return await _lock(session, subscription_id)


async def _items(session: AsyncSession, subscription_id: str) -> Sequence[SubscriptionItemRow]:
    rows = await session.execute(
        select(SubscriptionItemRow)
        .where(SubscriptionItemRow.subscription_id == subscription_id)
        .order_by(SubscriptionItemRow.created_at, SubscriptionItemRow.id)
    )
    return rows.scalars().all()


async def _price(session: AsyncSession, subscription: SubscriptionRow, price_id: str) -> Any:
    caller = acting_for(subscription.merchant_id, subscription.livemode)
    return price_object(await price_service.get(session, caller, price_id, param=None))


async def rendered(session: AsyncSession, subscription: SubscriptionRow) -> dict[str, Any]:
    """The subscription object with its items (each with its price)."""
    await session.flush()
    items = [
        item_object(item, subscription, await _price(session, subscription, item.price_id))
        for item in await _items(session, subscription.id)
    ]
    return subscription_object(subscription, items)


async def _announce(
    session: AsyncSession,
    subscription: SubscriptionRow,
    type: SubscriptionEvent,
    previous_attributes: dict[str, Any] | None = None,
) -> None:
    await record(
        session,
        subscription,
        type,
        await rendered(session, subscription),
        previous_attributes=previous_attributes,
    )


# ---- starting --------------------------------------------------------------------------------


async def _customer(session: AsyncSession, caller: Caller, customer_id: str) -> Any:
    return await customer_service.live(session, caller, customer_id)


async def _prices(
    session: AsyncSession,
    caller: Caller,
    params: SubscriptionCreateParams,
    inline_prices: frozenset[str] = frozenset(),
) -> list[BillablePrice]:
    """The items' prices: active, recurring, licensed, in one currency and one interval (one
    billing cycle per subscription, as Stripe requires), each once."""
    prices: list[BillablePrice] = []
    for index, item in enumerate(params.items):
        param = f"items[{index}][price]"
        price = await price_service.billable(
            session, caller, item.price, param=param, inline=item.price in inline_prices
        )
        if price.recurring is None:
            raise InvalidRequestError(
                f"The price {price.price_id} is one-time: a subscription takes recurring"
                " prices only.",
                param=param,
            )
        if any(seen.price_id == price.price_id for seen in prices):
            raise InvalidRequestError(
                f"The price {price.price_id} is on this subscription twice: give it once, with"
                " a quantity.",
                param=param,
            )
        if prices:
            first = prices[0]
            assert first.recurring is not None
            if price.currency != first.currency:
                raise InvalidRequestError(
                    "All of a subscription's prices must be in one currency.", param=param
                )
            if (price.recurring.interval, price.recurring.interval_count) != (
                first.recurring.interval,
                first.recurring.interval_count,
            ):
                raise InvalidRequestError(
                    "All of a subscription's prices must have the same billing interval.",
                    param=param,
                )
        prices.append(price)
    return prices


async def _check_payment_method(
    session: AsyncSession, caller: Caller, customer_id: str, method_id: str
) -> str:
    method = await payment_method_service.attached_to(
        session,
        caller,
        method_id,
        customer_id,
        param="default_payment_method",
        owner="subscription",
    )
    return method.id


async def _tax_rates(
    session: AsyncSession, caller: Caller, ids: Sequence[str] | None, *, param: str
) -> list[dict[str, Any]]:
    """The caller's active tax rates ``ids`` as the subscription keeps them (Stripe's objects,
    as its invoices keep them); a 404 or a 400 naming ``param``."""
    if not ids:
        return []
    rows = await tax_rate_service.get_many(session, caller, ids, param=param)
    return [tax_rate_object(row) for row in rows]


def _trial_days(params: SubscriptionCreateParams, prices: Sequence[BillablePrice]) -> int | None:
    if params.trial_period_days is not None:
        return params.trial_period_days
    if params.trial_from_plan and params.trial_end is None:
        recurring = prices[0].recurring
        return recurring.trial_period_days if recurring is not None else None
    return None


async def _one_time_items(
    session: AsyncSession,
    caller: Caller,
    params: SubscriptionCreateParams,
    currency: str,
    inline_prices: frozenset[str],
) -> list[tuple[InvoiceItemCreateParams, bool]]:
    """``add_invoice_items`` as invoice items of the first invoice (with whether each price
    was made inline): one-time prices in the subscription's currency, each refusal naming its
    entry; refused beside a trial, whose first invoice is free."""
    if not params.add_invoice_items:
        return []
    if params.trial_period_days or params.trial_end not in (None, "now") or params.trial_from_plan:
        raise InvalidRequestError(
            "add_invoice_items cannot be used with a trial here yet.", param="add_invoice_items"
        )
    items = []
    for index, item in enumerate(params.add_invoice_items):
        param = f"add_invoice_items[{index}][price]"
        inline = item.price in inline_prices
        price = await price_service.billable(
            session, caller, item.price, param=param, inline=inline
        )
        if price.recurring is not None:
            raise InvalidRequestError(
                f"The price {price.price_id} is recurring: add_invoice_items takes one-time"
                " prices.",
                param=param,
            )
        if price.currency != currency:
            raise InvalidRequestError(
                "All of a subscription's prices must be in one currency.", param=param
            )
        params_of = InvoiceItemCreateParams(price=item.price, quantity=item.quantity, expand=[])
        items.append((params_of, inline))
    return items


def _moment(unix_s: int | None) -> datetime | None:
    return None if unix_s is None else datetime.fromtimestamp(unix_s, tz=utcnow().tzinfo)


def line_description(item: SubscriptionItemRow, *, trial: bool = False) -> str:
    """Stripe's wording of a subscription's line: ``1 <times> Pro`` (the multiplication sign),
    ``Trial period for Pro``."""
    if trial:
        return f"Trial period for {item.product_name}"
    return f"{item.quantity} \N{MULTIPLICATION SIGN} {item.product_name}"


class SubscriptionService:
    async def create(
        self,
        session: AsyncSession,
        caller: Caller,
        params: SubscriptionCreateParams,
        *,
        inline_prices: frozenset[str] = frozenset(),
    ) -> SubscriptionRow:
        """``inline_prices``: prices its caller made archived for this subscription alone
        (Checkout's ``price_data``), taken though archived."""
        customer = await _customer(session, caller, params.customer)
        prices = await _prices(session, caller, params, inline_prices)
        one_time = await _one_time_items(session, caller, params, prices[0].currency, inline_prices)
        clock = None if caller.livemode else await customer_service.clock_time(session, customer.id)
        now = clock.frozen_time if clock is not None else utcnow()
        method = None
        if params.default_payment_method is not None:
            method = await _check_payment_method(
                session, caller, customer.id, params.default_payment_method
            )
        if (
            params.collection_method == CollectionMethod.charge_automatically
            and params.days_until_due is not None
        ):
            raise InvalidRequestError(
                "days_until_due can only be set when collection_method is send_invoice.",
                param="days_until_due",
            )
        recurring = prices[0].recurring
        assert recurring is not None
        trial_end = None if params.trial_end in (None, "now") else _moment(int(params.trial_end))
        start = plan_start(
            now,
            Interval(recurring.interval),
            recurring.interval_count,
            trial_end=trial_end,
            trial_period_days=_trial_days(params, prices),
            billing_cycle_anchor=_moment(params.billing_cycle_anchor),
            proration_behavior=params.proration_behavior,
        )
        current = start.current_period
        default_rates = await _tax_rates(
            session, caller, params.default_tax_rates, param="default_tax_rates"
        )
        item_rates = [
            await _tax_rates(session, caller, item.tax_rates, param=f"items[{index}][tax_rates]")
            for index, item in enumerate(params.items)
        ]
        subscription = SubscriptionRow(
            id=new_id("sub"),
            merchant_id=caller.merchant,
            livemode=caller.livemode,
            customer_id=customer.id,
            status=start.status,
            collection_method=params.collection_method,
            days_until_due=(
                params.days_until_due
                if params.collection_method == CollectionMethod.send_invoice
                else None
            ),
            default_payment_method_id=method,
            currency=prices[0].currency,
            interval=start.interval,
            interval_count=start.interval_count,
            billing_cycle_anchor=start.billing_cycle_anchor,
            period_index=0 if current == start.period(0) else -1,
            current_period_start=current.start,
            current_period_end=current.end,
            trial_start=start.trial.start if start.trial else None,
            trial_end=start.trial.end if start.trial else None,
            cancel_at_period_end=bool(params.cancel_at_period_end),
            metadata_=merge_metadata(
                {}, params.metadata if isinstance(params.metadata, dict) else None
            ),
            test_clock=clock.clock_id if clock is not None else None,
            default_tax_rates=default_rates,
            created_at=now,
            updated_at=utcnow(),
        )
        if params.trial_settings is not None:
            behavior = params.trial_settings.end_behavior.missing_payment_method
            subscription.missing_payment_method = behavior
        if params.payment_settings is not None:
            saved = params.payment_settings.save_default_payment_method
            subscription.save_default_payment_method = saved
        subscription.description = params.description
        charge = start.stub_invoice_amount if start.stub is not None else None
        if params.cancel_at is not None:
            from beyondpay.billing.subscriptions import changes

            current, charge = changes.cancel_at_start(subscription, params, now, charge)
        session.add(subscription)
        await session.flush()
        for item, price, rates in zip(params.items, prices, item_rates, strict=True):
            session.add(
                SubscriptionItemRow(
                    id=new_id("si"),
                    merchant_id=caller.merchant,
                    livemode=caller.livemode,
                    subscription_id=subscription.id,
                    price_id=price.price_id,
                    product_id=price.product_id,
                    product_name=price.product_name,
                    unit_amount=price.unit_amount,
                    quantity=1 if item.quantity is None else item.quantity,
                    metadata_=merge_metadata(
                        {}, item.metadata if isinstance(item.metadata, dict) else None
                    ),
                    created_at=now,
                    updated_at=utcnow(),
                    tax_rates=rates,
                    hsn_sac=price.hsn_sac,
                    tax_behavior=str(price.tax_behavior),
                )
            )
        await session.flush()
        await _announce(session, subscription, SubscriptionEvent.created)
        invoice = await _bill(
            session,
            subscription,
            subscription.period_index,
            current,
            REASON_CREATE,
            trial=start.trial is not None,
            amount_of=charge,
            finalize_now=True,
            # default_incomplete: the first invoice waits for a payment confirmed by its
            # caller (Checkout's page, Stripe.js), never collected by the job (Stripe's).
            collect=params.payment_behavior != "default_incomplete",
            one_time=one_time,
        )
        await _after_start(session, subscription, invoice)
        await _schedule(session, subscription)
        return subscription

    async def get(
        self, session: AsyncSession, caller: Caller, subscription_id: str
    ) -> SubscriptionRow:
        return await _find(session, caller, subscription_id)

    async def list(
        self, session: AsyncSession, caller: Caller, params: SubscriptionListParams
    ) -> tuple[Sequence[SubscriptionRow], bool]:
        conditions: list[Any] = list(created_conditions(SubscriptionRow.created_at, params.created))
        if params.customer is not None:
            conditions.append(SubscriptionRow.customer_id == params.customer)
        if params.collection_method is not None:
            conditions.append(SubscriptionRow.collection_method == params.collection_method)
        if params.status is None:
            conditions.append(SubscriptionRow.status != Status.canceled)
        elif params.status == "ended":
            conditions.append(SubscriptionRow.status.in_(sorted(TERMINAL)))
        elif params.status != "all":
            conditions.append(SubscriptionRow.status == params.status)
        if params.price is not None:
            conditions.append(
                SubscriptionRow.id.in_(
                    select(SubscriptionItemRow.subscription_id).where(
                        SubscriptionItemRow.price_id == params.price
                    )
                )
            )
        if params.current_period_start is not None:
            conditions += created_conditions(
                SubscriptionRow.current_period_start, params.current_period_start
            )
        if params.current_period_end is not None:
            conditions += created_conditions(
                SubscriptionRow.current_period_end, params.current_period_end
            )
        return await scoped_page(
            session,
            SubscriptionRow,
            caller.merchant,
            caller.livemode,
            params,
            *conditions,
            object_name=OBJECT,
        )

    async def of_customer(
        self, session: AsyncSession, caller: Caller, customer_id: str
    ) -> Sequence[tuple[SubscriptionRow, Sequence[SubscriptionItemRow]]]:
        """The customer's subscriptions that have not ended (incomplete_expired and canceled
        ones are history), newest first, each with its items: what the customer portal
        lists. A customer has a handful, so there is no page."""
        rows = (
            await session.execute(
                select(SubscriptionRow)
                .where(
                    SubscriptionRow.merchant_id == caller.merchant,
                    SubscriptionRow.livemode == caller.livemode,
                    SubscriptionRow.customer_id == customer_id,
                    SubscriptionRow.status.not_in(sorted(TERMINAL)),
                )
                .order_by(SubscriptionRow.created_at.desc(), SubscriptionRow.id.desc())
            )
        ).scalars()
        return [(row, await _items(session, row.id)) for row in rows.all()]

    async def cancel(
        self,
        session: AsyncSession,
        caller: Caller,
        subscription_id: str,
        params: SubscriptionCancelParams,
    ) -> SubscriptionRow:
        """Cancels now. An incomplete subscription's first invoice is voided (it never
        started: it ends incomplete_expired); a live one's open invoices stay payable on their
        hosted pages but are no longer collected automatically."""
        found = await _find(session, caller, subscription_id)
        _move(found, Event.cancel)  # refused before anything changes
        if found.status == Status.incomplete and found.latest_invoice_id is not None:
            # The invoice (and its PaymentIntent) before the subscription: payments' order.
            latest = await invoice_service.get(session, caller, found.latest_invoice_id)
            if latest.status == InvoiceStatus.open:
                await invoice_service.void(session, caller, latest.id)
        subscription = await _find(session, caller, subscription_id, for_update=True)
        now = await _now(session, subscription)
        from beyondpay.billing.subscriptions import changes

        await changes.settle_cancellation(session, subscription, params, now)
        await _end(session, subscription, _move(subscription, Event.cancel), now)
        return subscription

    async def update(
        self,
        session: AsyncSession,
        caller: Caller,
        subscription_id: str,
        params: SubscriptionUpdateParams,
    ) -> SubscriptionRow:
        """Changes items (prorated by ``proration_behavior``: pending items for the next
        invoice, or an invoice at once with ``always_invoice``), ``cancel_at_period_end``,
        the default payment method and metadata; ``customer.subscription.updated``."""
        from beyondpay.billing.subscriptions import changes

        subscription = await _find(session, caller, subscription_id, for_update=True)
        sent = params.model_fields_set - {"expand"}
        previous: dict[str, Any] = {}
        # Before the items: a change of both credits the old items at the old rates and
        # charges the new ones at the new.
        defaults_before = subscription.default_tax_rates
        if "default_tax_rates" in sent:
            ids = params.default_tax_rates if isinstance(params.default_tax_rates, list) else []
            rates = await _tax_rates(session, caller, ids, param="default_tax_rates")
            if rates != subscription.default_tax_rates:
                previous["default_tax_rates"] = subscription.default_tax_rates
                subscription.default_tax_rates = rates
        restarted, anchor = False, subscription.billing_cycle_anchor
        if params.items is not None:
            _move(subscription, Event.update_items)
            restarted = await self._change_items(
                session, caller, subscription, params, defaults_before
            )
            previous["items"] = "changed"
            if restarted:
                previous["billing_cycle_anchor"] = int(anchor.timestamp())
        if params.cancel_at_period_end is not None:
            flag = params.cancel_at_period_end
            _move(subscription, Event.schedule_cancel if flag else Event.unschedule_cancel)
            if flag != subscription.cancel_at_period_end:
                previous["cancel_at_period_end"] = subscription.cancel_at_period_end
                subscription.cancel_at_period_end = flag
        if "default_payment_method" in sent:
            method = params.default_payment_method
            before = subscription.default_payment_method_id
            subscription.default_payment_method_id = (
                await _check_payment_method(session, caller, subscription.customer_id, method)
                if method
                else None
            )
            if before != subscription.default_payment_method_id:
                previous["default_payment_method"] = before
        if "metadata" in sent:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            before_metadata = dict(subscription.metadata_)
            subscription.metadata_ = merge_metadata(subscription.metadata_, metadata)
            if before_metadata != subscription.metadata_:
                previous["metadata"] = before_metadata
        await changes.apply_update(session, subscription, params, previous, restarted=restarted)
        if previous:
            subscription.updated_at = utcnow()
            await _announce(session, subscription, SubscriptionEvent.updated, previous)
        return subscription

    async def _change_items(
        self,
        session: AsyncSession,
        caller: Caller,
        subscription: SubscriptionRow,
        params: SubscriptionUpdateParams,
        defaults_before: Sequence[dict[str, Any]],
    ) -> bool:
        """Changes the items; True when a change of interval restarted the billing cycle."""
        from beyondpay.billing.subscriptions import changes

        assert params.items is not None
        rows = list(await _items(session, subscription.id))
        old = [item_terms(row, defaults_before) for row in rows]
        now = changes.moment_of(params.proration_date, await _now(session, subscription))
        # Each item's price's interval, where this update sets the price.
        chosen: dict[str, tuple[str, int]] = {}
        interval = None
        for index, change in enumerate(params.items):
            param = f"items[{index}]"
            row = next((r for r in rows if r.id == change.id), None) if change.id else None
            if change.id and row is None:
                raise ResourceMissingError.for_object(ITEM_OBJECT, change.id, param=f"{param}[id]")
            if row is not None and change.deleted:
                rows.remove(row)
                await session.delete(row)
                await session.flush()  # gone before an insert of its price in this update
                continue
            price = None
            if change.price is not None:
                price = await price_service.billable(
                    session, caller, change.price, param=f"{param}[price]"
                )
                interval = _check_same_cycle(subscription, price, f"{param}[price]")
                changes.check_price_once(rows, row, price.price_id, f"{param}[price]")
            if row is None:
                if price is None:
                    raise InvalidRequestError("A new item needs a price.", param=f"{param}[price]")
                row = _new_item(subscription, price, change.quantity, now)
                session.add(row)
                rows.append(row)
            if interval is not None:
                chosen[row.id] = interval
                interval = None
            if price is not None:
                _set_price(row, price)
            _apply_change(row, change)
            row.tax_rates = await _item_tax_rates(session, caller, row, change, param)
        if not rows:
            raise InvalidRequestError("A subscription keeps at least one item.", param="items")
        new_interval = changes.one_cycle(subscription, rows, chosen)
        await session.flush()
        period = Period(subscription.current_period_start, subscription.current_period_end)
        if changes.restarts_cycle(subscription, new_interval) or (
            params.billing_cycle_anchor == "now"
        ):
            changes.take_interval(subscription, new_interval)
            await changes.restart_cycle(session, subscription, old, now, params.proration_behavior)
            return True
        changes.take_interval(subscription, new_interval)
        proration = prorate_change(
            old,
            [item_terms(row, subscription.default_tax_rates) for row in rows],
            period,
            now,
            params.proration_behavior,
            trialing=subscription.status == Status.trialing,
        )
        await changes.add_pending_lines(session, subscription, proration.lines)
        if proration.invoice_now and proration.lines:
            await _bill_pending(session, subscription, period)
        return False

    async def items(
        self, session: AsyncSession, caller: Caller, params: SubscriptionItemListParams
    ) -> tuple[Sequence[dict[str, Any]], bool]:
        subscription = await _find(session, caller, params.subscription, param="subscription")
        rows = await _items(session, subscription.id)
        data = [
            item_object(row, subscription, await _price(session, subscription, row.price_id))
            for row in rows
        ]
        return data, False

    async def item(self, session: AsyncSession, caller: Caller, item_id: str) -> dict[str, Any]:
        row = (
            await session.execute(
                select(SubscriptionItemRow).where(
                    SubscriptionItemRow.merchant_id == caller.merchant,
                    SubscriptionItemRow.livemode == caller.livemode,
                    SubscriptionItemRow.id == item_id,
                )
            )
        ).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object(ITEM_OBJECT, item_id, param="id")
        subscription = await _find(session, caller, row.subscription_id)
        return item_object(row, subscription, await _price(session, subscription, row.price_id))


subscription_service = SubscriptionService()


def item_terms(row: SubscriptionItemRow, default_tax_rates: Sequence[dict[str, Any]]) -> ItemTerms:
    """The item as prorations see it, carrying the line it bills (its proration's price and
    tax rates: its own, else ``default_tax_rates``)."""
    return ItemTerms(
        row.product_name,
        row.unit_amount,
        row.quantity,
        reference=_billed_as(row, default_tax_rates, proration=True),
    )


def _billed_as(
    row: SubscriptionItemRow,
    default_tax_rates: Sequence[dict[str, Any]] = (),
    *,
    proration: bool = False,
) -> SubscriptionLine:
    """The item's price line: its price, what it copied of it, its own tax rates, else
    ``default_tax_rates``; a period's line, or a proration's."""
    return SubscriptionLine(
        price_id=row.price_id,
        product_id=row.product_id,
        hsn_sac=row.hsn_sac,
        tax_behavior=row.tax_behavior,
        tax_rates=tuple(row.tax_rates or default_tax_rates),
        subscription_id=row.subscription_id,
        subscription_item_id=row.id,
        proration=proration,
    )


def _set_price(row: SubscriptionItemRow, price: BillablePrice) -> None:
    """The price's terms copied onto the item: what its next invoices bill."""
    row.price_id, row.product_id = price.price_id, price.product_id
    row.product_name, row.unit_amount = price.product_name, price.unit_amount
    row.hsn_sac, row.tax_behavior = price.hsn_sac, str(price.tax_behavior)


async def _item_tax_rates(
    session: AsyncSession,
    caller: Caller,
    row: SubscriptionItemRow,
    change: ItemUpdateParams,
    param: str,
) -> list[dict[str, Any]]:
    """The item's tax rates after ``items[n][tax_rates]`` (``""`` clears them; not sent, they
    stay)."""
    if "tax_rates" not in change.model_fields_set:
        return row.tax_rates
    ids = change.tax_rates if isinstance(change.tax_rates, list) else []
    return await _tax_rates(session, caller, ids, param=f"{param}[tax_rates]")


def _check_same_cycle(
    subscription: SubscriptionRow, price: BillablePrice, param: str
) -> tuple[str, int]:
    """A new price's billing interval, checked recurring and in the subscription's currency
    (another interval restarts the cycle: billing/subscriptions/changes.py)."""
    recurring = price.recurring
    if recurring is None:
        raise InvalidRequestError(
            f"The price {price.price_id} is one-time: a subscription takes recurring prices only.",
            param=param,
        )
    if price.currency != subscription.currency:
        raise InvalidRequestError(
            "The new price must have the subscription's currency.", param=param
        )
    return (recurring.interval, recurring.interval_count)


def _apply_change(row: SubscriptionItemRow, change: Any) -> None:
    if change.quantity is not None:
        row.quantity = change.quantity
    if isinstance(change.metadata, dict):
        row.metadata_ = merge_metadata(row.metadata_, change.metadata)
    row.updated_at = utcnow()


def _new_item(
    subscription: SubscriptionRow, price: BillablePrice, quantity: int | None, now: datetime
) -> SubscriptionItemRow:
    row = SubscriptionItemRow(
        id=new_id("si"),
        merchant_id=subscription.merchant_id,
        livemode=subscription.livemode,
        subscription_id=subscription.id,
        quantity=1 if quantity is None else quantity,
        metadata_={},
        tax_rates=[],
        created_at=now,
        updated_at=utcnow(),
    )
    _set_price(row, price)
    return row


async def _bill_pending(
    session: AsyncSession, subscription: SubscriptionRow, period: Period
) -> None:
    """``always_invoice``: the customer's pending items (the prorations just made) invoiced and
    finalized now; it becomes the subscription's latest invoice."""
    caller = acting_for(subscription.merchant_id, subscription.livemode)
    invoice = await invoice_service.create(
        session,
        caller,
        InvoiceCreateParams(
            customer=subscription.customer_id,
            collection_method=CollectionMethod(subscription.collection_method),
            currency=subscription.currency,
            days_until_due=subscription.days_until_due,
            default_payment_method=subscription.default_payment_method_id,
            pending_invoice_items_behavior="include",
            expand=[],
        ),
        subscription=SubscriptionBilling(
            subscription_id=subscription.id,
            period_index=None,
            billing_reason=REASON_UPDATE,
            period_start=period.start,
            period_end=period.end,
            default_tax_rates=tuple(subscription.default_tax_rates),
        ),
    )
    subscription.latest_invoice_id = invoice.id
    await invoice_service.finalize(
        session, caller, invoice.id, InvoiceFinalizeParams(auto_advance=True, expand=[])
    )


# ---- moving ----------------------------------------------------------------------------------


def _move(
    subscription: SubscriptionRow, event: Event, circumstances: Circumstances = _STRIPE_DEFAULTS
) -> Status:
    try:
        return next_status(Status(subscription.status), event, circumstances)
    except IllegalTransitionError as error:
        raise SubscriptionUnexpectedStateError(str(error)) from None


async def _now(session: AsyncSession, subscription: SubscriptionRow) -> datetime:
    if subscription.test_clock is None:
        return utcnow()
    clock = await customer_service.clock_time(session, subscription.customer_id)
    return clock.frozen_time if clock is not None else utcnow()


async def _end(
    session: AsyncSession, subscription: SubscriptionRow, status: Status, moment: datetime
) -> None:
    """The subscription is over (canceled, or expired before it started):
    ``customer.subscription.deleted``, as Stripe records both."""
    subscription.status = status
    subscription.canceled_at = subscription.canceled_at or moment
    subscription.ended_at = moment
    if subscription.cancellation_reason is None:
        subscription.cancellation_reason = CANCELLATION_REQUESTED
    subscription.updated_at = utcnow()
    await _announce(session, subscription, SubscriptionEvent.deleted)


async def _set_status(session: AsyncSession, subscription: SubscriptionRow, status: Status) -> None:
    if status == subscription.status:
        return
    previous = {"status": subscription.status}
    subscription.status = status
    subscription.updated_at = utcnow()
    await _announce(session, subscription, SubscriptionEvent.updated, previous)


# ---- billing a period ------------------------------------------------------------------------


async def _bill(
    session: AsyncSession,
    subscription: SubscriptionRow,
    period_index: int,
    period: Period,
    reason: str,
    *,
    trial: bool = False,
    amount_of: Any = None,
    finalize_now: bool = False,
    include_pending: bool = False,
    collect: bool = True,
    one_time: Sequence[tuple[InvoiceItemCreateParams, bool]] = (),
) -> InvoiceRow:
    """The invoice of period ``period_index``: a line per item (free in a trial; ``amount_of``
    maps a full period's amount to what is billed, for a stub), finalized at once (a start,
    as Stripe's first invoice) or auto-advancing (a renewal's draft)."""
    caller = acting_for(subscription.merchant_id, subscription.livemode)
    invoice = await invoice_service.create(
        session,
        caller,
        InvoiceCreateParams(
            customer=subscription.customer_id,
            auto_advance=not finalize_now,
            collection_method=CollectionMethod(subscription.collection_method),
            currency=subscription.currency,
            days_until_due=subscription.days_until_due,
            default_payment_method=subscription.default_payment_method_id,
            # A renewal takes in the customer's pending items (an update's prorations).
            pending_invoice_items_behavior=(
                "exclude" if finalize_now and not include_pending else "include"
            ),
            expand=[],
        ),
        subscription=SubscriptionBilling(
            subscription_id=subscription.id,
            period_index=period_index,
            billing_reason=reason,
            period_start=period.start,
            period_end=period.end,
            default_tax_rates=tuple(subscription.default_tax_rates),
        ),
    )
    for item in await _items(session, subscription.id):
        full = item.unit_amount * item.quantity
        amount = 0 if trial else (amount_of(full) if amount_of is not None else full)
        unit, quantity = (item.unit_amount, item.quantity) if amount == full else (amount, 1)
        await invoice_item_service.create(
            session,
            caller,
            InvoiceItemCreateParams(
                invoice=invoice.id,
                unit_amount=0 if trial else unit,
                quantity=item.quantity if trial else quantity,
                description=line_description(item, trial=trial),
                period=PeriodParams(
                    start=int(period.start.timestamp()), end=int(period.end.timestamp())
                ),
                expand=[],
            ),
            # The item's own rates only: the invoice's defaults are the subscription's.
            subscription_line=_billed_as(item),
        )
    for extra, inline in one_time:
        # add_invoice_items: billed once, on this (the first) invoice, as Stripe does.
        await invoice_item_service.create(
            session,
            caller,
            extra.model_copy(update={"invoice": invoice.id}),
            inline_price=inline,
        )
    subscription.latest_invoice_id = invoice.id
    if finalize_now:
        invoice = await invoice_service.finalize(
            session, caller, invoice.id, InvoiceFinalizeParams(auto_advance=collect, expand=[])
        )
    return invoice


async def _after_start(
    session: AsyncSession, subscription: SubscriptionRow, invoice: InvoiceRow
) -> None:
    """A start with nothing to pay (a trial, a free stub) is under way at once; one with a
    payment waits for it (incomplete) until it expires."""
    if subscription.status == Status.incomplete and invoice.status == InvoiceStatus.paid:
        await _set_status(session, subscription, _move(subscription, Event.invoice_paid))


async def hear_invoice(session: AsyncSession, invoice: InvoiceRow, type: InvoiceEvent) -> None:
    """What an invoice's outcome does to its subscription, in the transaction that records it
    (``invoices.on_invoice_event``, registered by ``app.wire_modules``): paid, it is active
    (or stays trialing) and dunning stops; a failed or waiting payment makes it past_due (or
    leaves it incomplete) and dunning plans the next retry, or applies the merchant's final
    action after the last. Only the latest invoice moves it."""
    event = _HEARD.get(type)
    if event is None or invoice.subscription_id is None:
        return
    subscription = await _lock(session, invoice.subscription_id)
    if subscription is None or subscription.latest_invoice_id != invoice.id:
        return  # its first invoice, heard before the subscription names it; or an older one
    try:
        status = next_status(Status(subscription.status), event)
    except IllegalTransitionError as error:
        _log.info("subscription_invoice_ignored", subscription=subscription.id, why=str(error))
        return
    if event is Event.invoice_paid:
        started = subscription.status == Status.incomplete
        subscription.first_failure_at, subscription.next_retry_at = None, None
        subscription.retries_made = 0
        if started:
            await _save_default_payment_method(session, subscription, invoice)
        await _set_status(session, subscription, status)
        if started:
            # Under way once its first invoice is paid: its renewal (and the renewal's notice)
            # is planned now; while incomplete only its expiry was.
            await _schedule(session, subscription)
        return
    await _set_status(session, subscription, status)
    if event is Event.payment_requires_action and await notices.authentication_pending(
        session, invoice
    ):
        return  # a try waiting for the customer fails at its time, not now
    if status == Status.past_due and invoice.collection_method == "charge_automatically":
        await _plan_retry(session, subscription, invoice)


async def _save_default_payment_method(
    session: AsyncSession, subscription: SubscriptionRow, invoice: InvoiceRow
) -> None:
    """``payment_settings[save_default_payment_method]=on_subscription``: the payment method
    that paid the first invoice becomes the subscription's default, so its renewals charge it
    off-session (Stripe's; saved to the customer by the payment's ``setup_future_usage``)."""
    if (
        subscription.save_default_payment_method != "on_subscription"
        or subscription.default_payment_method_id is not None
        or invoice.payment_intent_id is None
    ):
        return
    caller = acting_for(subscription.merchant_id, subscription.livemode)
    intent = await payment_intent_service.get(session, caller, invoice.payment_intent_id)
    if intent.payment_method_id is not None:
        subscription.default_payment_method_id = intent.payment_method_id
        subscription.updated_at = utcnow()


async def _plan_retry(
    session: AsyncSession,
    subscription: SubscriptionRow,
    invoice: InvoiceRow,
    at: datetime | None = None,
) -> None:
    """After a failed charge of the latest invoice (at ``at``, or now): the next retry of the
    merchant's schedule (dunning.plan_attempts), or, after the last, the final action."""
    now = as_utc(at) if at is not None else await _now(session, subscription)
    if subscription.first_failure_at is None:
        subscription.first_failure_at = now
    settings = await settings_of(session, subscription.merchant_id, subscription.livemode)
    attempts = dunning.plan_attempts(
        subscription.first_failure_at,
        RENEWAL_RAIL,
        invoice.amount_due,
        settings,
        attempts_made=subscription.retries_made,
        last_attempt_at=now if subscription.retries_made else None,
    )
    if attempts:
        subscription.next_retry_at = attempts[0].charge_at
        subscription.updated_at = utcnow()
        await collection_service.plan_next_attempt(session, invoice, attempts[0].charge_at)
        await _schedule_retry(session, subscription)
        await notices.plan_retry(session, subscription, invoice, attempts[0], now)
        return
    subscription.next_retry_at = None
    await collection_service.plan_next_attempt(session, invoice, None)
    # A renewal's failure: the period paid for ended when this one began. An update's
    # (a mid-period proration): the current period is paid for and is never cut short.
    paid_through = (
        subscription.current_period_end
        if invoice.billing_reason == REASON_UPDATE
        else subscription.current_period_start
    )
    outcome = dunning.after_final_attempt(now, paid_through, settings)
    if outcome.invoice == dunning.FinalInvoice.mark_uncollectible and invoice.status == (
        InvoiceStatus.open
    ):
        caller = acting_for(subscription.merchant_id, subscription.livemode)
        await invoice_service.mark_uncollectible(session, caller, invoice.id)
    if outcome.deferred(now):
        # Still past_due until the paid period ends: its renewal applies the final action
        # (_final_action_at_period_end).
        return
    await _apply_final_action(session, subscription, outcome.status, outcome.effective_at)


async def _apply_final_action(
    session: AsyncSession, subscription: SubscriptionRow, status: Status, at: datetime
) -> None:
    if status == Status.canceled:
        subscription.cancellation_reason = CANCELLATION_PAYMENT_FAILED
        await _end(session, subscription, status, at)
    else:
        await _set_status(session, subscription, status)


async def _final_action_at_period_end(
    session: AsyncSession, subscription: SubscriptionRow, ended_at: datetime
) -> bool:
    """A mid-period invoice's last try failed while its period was paid for: at that period's
    end the merchant's final action takes effect (dunning.after_final_attempt deferred it).
    The state says so: past_due, a first failure, no retry left. True when it ended the
    subscription; an ``unpaid`` one renews on (Stripe's unpaid makes invoices, charges none)."""
    if (
        subscription.status != Status.past_due
        or subscription.first_failure_at is None
        or subscription.next_retry_at is not None
    ):
        return False
    settings = await settings_of(session, subscription.merchant_id, subscription.livemode)
    outcome = dunning.after_final_attempt(ended_at, ended_at, settings)
    await _apply_final_action(session, subscription, outcome.status, ended_at)
    return outcome.status == Status.canceled


async def _schedule_retry(session: AsyncSession, subscription: SubscriptionRow) -> None:
    if subscription.test_clock is not None or subscription.next_retry_at is None:
        return
    await jobs.defer(
        session,
        tasks.retry,
        schedule_in_s=max((subscription.next_retry_at - utcnow()).total_seconds(), 0.0),
        subscription=subscription.id,
        retry=subscription.retries_made + 1,
    )


async def retry_locked(
    session: AsyncSession, subscription: SubscriptionRow, retry: int, now: datetime
) -> bool:
    """Retry ``retry`` of the latest invoice is due: counted on the subscription, then the
    invoice's collection job is deferred (billing/invoices charges off-session, outside this
    transaction; its outcome comes back through :func:`hear_invoice`). Once, whoever runs it."""
    if (
        subscription.status != Status.past_due
        or subscription.next_retry_at is None
        or subscription.next_retry_at > as_utc(now)
        or subscription.retries_made + 1 != retry
        or subscription.latest_invoice_id is None
    ):
        return False
    caller = acting_for(subscription.merchant_id, subscription.livemode)
    invoice = await invoice_service.get(session, caller, subscription.latest_invoice_id)
    # RBI's pre-debit notice: not sent, or sent less than 25 hours ago, the retry waits.
    verdict = await notices.gate_retry(session, subscription, invoice, retry, now)
    if isinstance(verdict, datetime):
        moved = subscription.next_retry_at != verdict
        subscription.next_retry_at = verdict
        subscription.updated_at = utcnow()
        await collection_service.plan_next_attempt(session, invoice, verdict)
        if moved:
            await _schedule_retry(session, subscription)
        return moved
    subscription.retries_made = retry
    subscription.next_retry_at = None
    subscription.updated_at = utcnow()
    if verdict:
        # Needed the customer, who did not pay on the hosted page: the try failed.
        await _plan_retry(session, subscription, invoice, now)
        return True
    # The invoice's attempts: 1 was the renewal's own charge, so retry k is attempt k + 1.
    await collection_service.schedule_attempt(session, invoice, retry + 1)
    return True


async def fail_unauthenticated_try(
    session: AsyncSession, subscription: SubscriptionRow, invoice: InvoiceRow, at: datetime
) -> None:
    """The renewal's try needed the customer's authentication and its time (``at``) passed
    unpaid: it counts as failed, and dunning plans the first retry (or the final action)."""
    if subscription.latest_invoice_id != invoice.id or subscription.status != Status.past_due:
        return
    await _plan_retry(session, subscription, invoice, at)


async def retry_now(session: AsyncSession, subscription_id: str, retry: int) -> bool:
    subscription = await _lock(session, subscription_id)
    if subscription is None or subscription.test_clock is not None:
        return False
    return await retry_locked(session, subscription, retry, utcnow())


# ---- the times: renewals, the expiry of an unpaid start ----------------------------------------


async def _schedule(session: AsyncSession, subscription: SubscriptionRow) -> None:
    """In real time, the subscription's next time as a job (a clock's advance does it for one
    on a test clock): its expiry while incomplete, else its period's end. The notices of the
    period (the next renewal's pre-debit notice, the trial's end) are planned either way."""
    if subscription.status in TERMINAL:
        return
    # During a test clock's advance the clock still reads its time before it: a period's
    # notices are planned no earlier than the period (a renewal plans them when it begins).
    now = max(await _now(session, subscription), subscription.current_period_start)
    await notices.plan_for_period(session, subscription, now)
    if subscription.test_clock is not None:
        return
    if subscription.status == Status.incomplete:
        at = incomplete_expires_at(subscription.created_at)
        await jobs.defer(
            session,
            tasks.expire,
            schedule_in_s=max((at - utcnow()).total_seconds(), 0.0),
            subscription=subscription.id,
        )
        return
    await jobs.defer(
        session,
        tasks.renew,
        schedule_in_s=max((subscription.current_period_end - utcnow()).total_seconds(), 0.0),
        subscription=subscription.id,
        period_index=subscription.period_index,
    )


async def expire_locked(
    session: AsyncSession, subscription: SubscriptionRow, now: datetime
) -> bool:
    """An incomplete subscription whose first invoice is still unpaid 23 hours after its
    creation expires: the invoice is voided, the subscription ends ``incomplete_expired``."""
    if subscription.status != Status.incomplete:
        return False
    if incomplete_expires_at(subscription.created_at) > as_utc(now):
        return False
    caller = acting_for(subscription.merchant_id, subscription.livemode)
    if subscription.latest_invoice_id is not None:
        latest = await invoice_service.get(session, caller, subscription.latest_invoice_id)
        if latest.status == InvoiceStatus.open:
            await invoice_service.void(session, caller, latest.id)
    await _end(
        session,
        subscription,
        _move(subscription, Event.expired),
        incomplete_expires_at(subscription.created_at),
    )
    return True


async def renew_locked(session: AsyncSession, subscription: SubscriptionRow) -> bool:
    """The locked subscription's current period (or trial) is over: it ends if due, else
    period ``period_index + 1`` begins and is invoiced (once: the period index is the
    invoice's key) and the next renewal is scheduled. True when this run did it."""
    if subscription.status not in _LIVE:
        return False
    from beyondpay.billing.subscriptions import changes

    ended_at = subscription.current_period_end
    if await _final_action_at_period_end(session, subscription, ended_at):
        return True
    event = Event.trial_ended if subscription.status == Status.trialing else Event.period_ended
    circumstances = Circumstances(
        has_payment_method=await _has_payment_method(session, subscription),
        missing_payment_method=MissingPaymentMethod(subscription.missing_payment_method),
        cancel_due=subscription.cancel_at_period_end
        or (subscription.cancel_at is not None and subscription.cancel_at <= ended_at),
    )
    status = _move(subscription, event, circumstances)
    if status == Status.canceled:
        await _end(session, subscription, status, ended_at)
        return True
    if status == Status.paused:
        await changes.pause_at_trial_end(session, subscription)
        return True
    previous: dict[str, Any] = {"status": subscription.status}
    index = subscription.period_index + 1
    period = next_period(
        subscription.billing_cycle_anchor,
        Interval(subscription.interval),
        subscription.interval_count,
        index,
    )
    period, amount_of = changes.final_period(subscription, period)
    subscription.period_index = index
    subscription.current_period_start, subscription.current_period_end = period.start, period.end
    subscription.status = status
    subscription.updated_at = utcnow()
    invoice = await _bill(
        session,
        subscription,
        subscription.period_offset + index,
        period,
        REASON_CYCLE,
        amount_of=amount_of,
    )
    await changes.treat_paused_invoice(session, subscription, invoice, period.start)
    if previous["status"] == subscription.status:
        previous = {}
    previous["items"] = "current_period"  # the items' periods moved
    await _announce(session, subscription, SubscriptionEvent.updated, previous)
    await _schedule(session, subscription)
    return True


async def _has_payment_method(session: AsyncSession, subscription: SubscriptionRow) -> bool:
    if subscription.default_payment_method_id is not None:
        return True
    caller = acting_for(subscription.merchant_id, subscription.livemode)
    customer = await customer_service.get(session, caller, subscription.customer_id)
    return customer.default_payment_method_id is not None


async def renew_now(session: AsyncSession, subscription_id: str, period_index: int) -> bool:
    """The ``renew`` job: period ``period_index`` is over (run twice or late, it finds the
    subscription moved on, or its period not yet over, and does nothing)."""
    subscription = await _lock(session, subscription_id)
    if (
        subscription is None
        or subscription.test_clock is not None
        or subscription.period_index != period_index
        or subscription.current_period_end > utcnow()
    ):
        return False
    return await renew_locked(session, subscription)


async def expire_now(session: AsyncSession, subscription_id: str) -> bool:
    subscription = await _lock(session, subscription_id)
    if subscription is None or subscription.test_clock is not None:
        return False
    return await expire_locked(session, subscription, utcnow())


async def advance_subscriptions_on_clock(session: AsyncSession, interval: ClockInterval) -> None:
    """The clock's subscriptions in ``(interval.start, interval.end]``: unpaid starts expired,
    then every period that ended renewed, each at its own end and in the order they fall
    (a long advance renews a subscription several times). Registered at ``Stage.billing``
    before invoices', so a renewal's draft due in the interval is finalized in it too."""
    from beyondpay.billing.subscriptions import changes

    while True:
        # Notices first: each try is charged only after its notice (a later time's notice
        # waits for the next pass, each at its own time).
        noticed = await notices.advance_notices_on_clock(session, interval)
        due = (
            await session.execute(
                select(SubscriptionRow.id, SubscriptionRow.status)
                .where(
                    SubscriptionRow.test_clock == interval.clock_id,
                    SubscriptionRow.ended_at.is_(None),
                    or_(
                        SubscriptionRow.status.in_(_LIVE)
                        & (SubscriptionRow.current_period_end <= interval.end),
                        (SubscriptionRow.status == Status.past_due)
                        & (SubscriptionRow.next_retry_at <= interval.end),
                        (SubscriptionRow.status == Status.incomplete)
                        & (SubscriptionRow.created_at <= interval.end - _EXPIRY),
                        SubscriptionRow.status.in_(_LIVE)
                        & (SubscriptionRow.pause_collection_resumes_at <= interval.end),
                    ),
                )
                .order_by(SubscriptionRow.current_period_end, SubscriptionRow.id)
            )
        ).all()
        moved = noticed
        for subscription_id, _status in due:
            subscription = await _lock(session, subscription_id)
            if subscription is None:
                continue
            if subscription.status == Status.incomplete:
                moved |= await expire_locked(session, subscription, interval.end)
                continue
            retry_at = subscription.next_retry_at
            if retry_at is not None and retry_at <= subscription.current_period_end:
                moved |= await retry_locked(
                    session, subscription, subscription.retries_made + 1, retry_at
                )
            if subscription.current_period_end <= interval.end:
                moved |= await renew_locked(session, subscription)
            moved |= await changes.end_pause_on_clock(session, subscription, interval.end)
        if not moved:
            return
