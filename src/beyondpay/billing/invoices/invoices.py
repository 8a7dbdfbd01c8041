"""Invoices: create, read, update, delete, list, search, their lines, and the actions that move
them (finalize, send, void, mark uncollectible; paying is ``collection``). Never commits: the
request or job owns the transaction. Each change records its event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from beyondpay.billing.invoices import discounting, lifecycle
from beyondpay.billing.invoices.balance import customer_balance_service
from beyondpay.billing.invoices.domain import (
    DAYS_UNTIL_DUE_DEFAULT,
    LINES_PER_INVOICE_MAX,
    UPDATABLE_WHEN,
    Action,
    CollectionMethod,
    Status,
    due_date_after,
    finalizes_at,
)
from beyondpay.billing.invoices.errors import (
    InvoiceLinesLimitError,
    InvoiceNotEditableError,
)
from beyondpay.billing.invoices.events import InvoiceEvent, InvoiceItemEvent, record
from beyondpay.billing.invoices.models import (
    InvoiceItemRow,
    InvoiceNumberCounterRow,
    InvoiceRow,
    InvoiceSettingsRow,
)
from beyondpay.billing.invoices.rendering import announce, rendered
from beyondpay.billing.invoices.schemas import (
    InvoiceCreateParams,
    InvoiceFinalizeParams,
    InvoiceLinesParams,
    InvoiceListParams,
    InvoiceSearchParams,
    InvoiceSettingsUpdateParams,
    InvoiceUpdateParams,
    invoice_item_object,
    invoice_settings_object,
    unix,
)
from beyondpay.billing.invoices.store import OBJECT, find, now_for, recompute, transition
from beyondpay.billing.invoices.taxing import account_tax_id, rate_objects
from beyondpay.billing.tax.domain import InvoiceNumberError, financial_year_at, invoice_number
from beyondpay.customers.service import customer_service
from beyondpay.db.pagination import created_conditions, scoped, scoped_page
from beyondpay.db.search import Searchable, query_condition, search, searchable_fields
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.params import merge_metadata
from beyondpay.kit.search import FieldKind, parse_query
from beyondpay.merchants.domain import Caller
from beyondpay.payment_methods.service import payment_method_service
from beyondpay.payments.schemas import PaymentIntentCancelParams
from beyondpay.payments.service import payment_intent_service
from beyondpay.test_clocks.domain import ClockTime

# An invoice's currency when nothing names one: the platform's (India's rupee).
CURRENCY_DEFAULT: Final = "inr"
BILLING_REASON_MANUAL: Final = "manual"
# Stripe's "Query fields for invoices".
INVOICE_SEARCHABLE: Final = {
    "created": Searchable(InvoiceRow.created_at, FieldKind.timestamp),
    "currency": Searchable(InvoiceRow.currency, FieldKind.exact, lower_value=True),
    "customer": Searchable(InvoiceRow.customer_id, FieldKind.exact),
    "number": Searchable(InvoiceRow.number, FieldKind.exact),
    "status": Searchable(InvoiceRow.status, FieldKind.exact),
    "total": Searchable(InvoiceRow.total, FieldKind.number),
}
# Fields whose previous values an ``invoice.updated`` event carries.
_TRACKED: Final = (
    "auto_advance",
    "collection_method",
    "days_until_due",
    "due_date",
    "default_payment_method",
    "description",
    "footer",
    "metadata",
)


async def _customer(session: AsyncSession, caller: Caller, customer_id: str) -> Any:
    return await customer_service.live(session, caller, customer_id)


async def _check_payment_method(
    session: AsyncSession, caller: Caller, customer_id: str, method_id: str
) -> str:
    method = await payment_method_service.attached_to(
        session, caller, method_id, customer_id, param="default_payment_method", owner="invoice"
    )
    return method.id


def _due_terms(
    collection: CollectionMethod,
    days: int | None,
    due_date: int | None,
    created_at: datetime,
    now: datetime,
) -> tuple[int | None, datetime | None]:
    """``days_until_due`` and ``due_date`` as Stripe takes them: for send_invoice only, one or
    the other (30 days when neither), a due date not in the past."""
    if collection == CollectionMethod.charge_automatically:
        for name, value in (("days_until_due", days), ("due_date", due_date)):
            if value is not None:
                raise InvalidRequestError(
                    f"{name} can only be set when collection_method is send_invoice.", param=name
                )
        return None, None
    if days is not None and due_date is not None:
        raise InvalidRequestError(
            "You may only specify one of these parameters: days_until_due, due_date.",
            param="due_date",
        )
    if due_date is not None:
        moment = datetime.fromtimestamp(due_date, tz=now.tzinfo)
        if moment < now:
            raise InvalidRequestError("The due_date must be in the future.", param="due_date")
        return None, moment
    days = DAYS_UNTIL_DUE_DEFAULT if days is None else days
    return days, due_date_after(created_at, days)


def _previous(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {field: before[field] for field in _TRACKED if before[field] != after[field]}


def _tracked(invoice: InvoiceRow) -> dict[str, Any]:
    return {
        "auto_advance": invoice.auto_advance,
        "collection_method": invoice.collection_method,
        "days_until_due": invoice.days_until_due,
        "due_date": unix(invoice.due_date),
        "default_payment_method": invoice.default_payment_method_id,
        "description": invoice.description,
        "footer": invoice.footer,
        "metadata": dict(invoice.metadata_),
    }


@dataclass(frozen=True, slots=True)
class SubscriptionBilling:
    """What a subscription's invoice bills (``billing.subscriptions`` creates it): the
    subscription, the index of its period (one invoice a period: unique), Stripe's
    ``billing_reason`` (``subscription_create``, ``subscription_cycle``, ``subscription_update``)
    and the period the invoice is for."""

    subscription_id: str
    period_index: int | None  # None: not a period's invoice (an update's prorations)
    billing_reason: str
    period_start: datetime
    period_end: datetime
    # The subscription's tax rates (Stripe's objects as it keeps them): the invoice's
    # defaults. Already checked when set, so a rate archived since still applies.
    default_tax_rates: tuple[dict[str, Any], ...] = ()


class InvoiceService:
    async def create(
        self,
        session: AsyncSession,
        caller: Caller,
        params: InvoiceCreateParams,
        *,
        subscription: SubscriptionBilling | None = None,
    ) -> InvoiceRow:
        customer = await _customer(session, caller, params.customer)
        clock: ClockTime | None = None
        if not caller.livemode:
            clock = await customer_service.clock_time(session, customer.id)
        now = clock.frozen_time if clock is not None else utcnow()
        days, due = _due_terms(
            params.collection_method, params.days_until_due, params.due_date, now, now
        )
        method = None
        if params.default_payment_method is not None:
            method = await _check_payment_method(
                session, caller, customer.id, params.default_payment_method
            )
        pending: Sequence[InvoiceItemRow] = []
        if params.pending_invoice_items_behavior == "include":
            pending = await _pending_items(session, customer.id, params.currency)
        currency = params.currency or (pending[0].currency if pending else CURRENCY_DEFAULT)
        default_rates = await rate_objects(
            session, caller, params.default_tax_rates or [], param="default_tax_rates"
        )
        if subscription is not None and subscription.default_tax_rates:
            default_rates = list(subscription.default_tax_rates)
        account_tax = await account_tax_id(session, caller, params.account_tax_ids or [])
        discounts = await discounting.named(
            session,
            caller,
            [(wanted.coupon, wanted.promotion_code) for wanted in params.discounts or []],
            customer_id=customer.id,
            currency=currency,
        )
        auto_advance = bool(params.auto_advance)
        invoice = InvoiceRow(
            id=new_id("in"),
            merchant_id=caller.merchant,
            livemode=caller.livemode,
            customer_id=customer.id,
            status=Status.draft,
            collection_method=params.collection_method,
            currency=currency,
            auto_advance=auto_advance,
            automatically_finalizes_at=finalizes_at(now) if auto_advance else None,
            billing_reason=BILLING_REASON_MANUAL,
            description=params.description or None,
            footer=params.footer or None,
            metadata_=merge_metadata(
                {}, params.metadata if isinstance(params.metadata, dict) else None
            ),
            default_payment_method_id=method,
            days_until_due=days,
            due_date=due,
            subtotal=0,
            total=0,
            amount_due=0,
            amount_paid=0,
            paid_out_of_band=False,
            attempt_count=0,
            attempted=False,
            account_name=None,
            customer_name=customer.name,
            customer_email=customer.email,
            customer_phone=customer.phone,
            customer_address=customer.address,
            customer_shipping=customer.shipping,
            test_clock=clock.clock_id if clock is not None else None,
            default_tax_rates=default_rates,
            account_tax_id=account_tax,
            discounts=discounts,
            period_start=now if subscription is None else subscription.period_start,
            period_end=now if subscription is None else subscription.period_end,
            created_at=now,
            updated_at=utcnow(),
        )
        if subscription is not None:
            invoice.subscription_id = subscription.subscription_id
            invoice.subscription_period = subscription.period_index
            invoice.billing_reason = subscription.billing_reason
        session.add(invoice)
        await session.flush()
        await _take_in(session, invoice, pending)
        await recompute(session, invoice)
        await lifecycle.schedule_finalization(session, invoice)
        await announce(session, invoice, InvoiceEvent.created)
        return invoice

    async def get(self, session: AsyncSession, caller: Caller, invoice_id: str) -> InvoiceRow:
        return await find(session, caller, invoice_id)

    async def rendered(
        self, session: AsyncSession, invoice: InvoiceRow, expand: Sequence[str] = ()
    ) -> dict[str, Any]:
        return await rendered(session, invoice, expand)

    async def update(
        self,
        session: AsyncSession,
        caller: Caller,
        invoice_id: str,
        params: InvoiceUpdateParams,
    ) -> InvoiceRow:
        invoice = await find(session, caller, invoice_id, for_update=True)
        sent = params.model_fields_set - {"expand"}
        if invoice.status == Status.draft:
            transition(invoice, Action.edit)
        else:
            transition(invoice, Action.edit_finalized)
            refused = sorted(sent - UPDATABLE_WHEN[Status(invoice.status)])
            if refused:
                raise InvoiceNotEditableError(
                    f"You cannot change {refused[0]} of an invoice whose status is"
                    f" {invoice.status}: a finalized invoice's content is fixed.",
                    param=refused[0],
                )
        before = _tracked(invoice)
        await self._apply(session, caller, invoice, params, sent)
        invoice.updated_at = utcnow()
        previous = _previous(before, _tracked(invoice))
        if previous:
            await announce(session, invoice, InvoiceEvent.updated, previous_attributes=previous)
        return invoice

    async def _apply(
        self,
        session: AsyncSession,
        caller: Caller,
        invoice: InvoiceRow,
        params: InvoiceUpdateParams,
        sent: set[str],
    ) -> None:
        if "description" in sent:
            invoice.description = params.description or None
        if "footer" in sent:
            invoice.footer = params.footer or None
        if "metadata" in sent:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            invoice.metadata_ = merge_metadata(invoice.metadata_, metadata)
        if "default_payment_method" in sent:
            method = params.default_payment_method
            invoice.default_payment_method_id = (
                await _check_payment_method(session, caller, invoice.customer_id, method)
                if method
                else None
            )
        if sent & {"collection_method", "days_until_due", "due_date"}:
            await self._terms(session, invoice, params, sent)
        if sent & {"default_tax_rates", "account_tax_ids", "discounts"}:
            await self._taxes(session, caller, invoice, params, sent)
        if "auto_advance" in sent and params.auto_advance is not None:
            await self._auto_advance(session, invoice, params.auto_advance)

    async def _taxes(
        self,
        session: AsyncSession,
        caller: Caller,
        invoice: InvoiceRow,
        params: InvoiceUpdateParams,
        sent: set[str],
    ) -> None:
        """A draft's tax settings and discounts ("" empties a list): its lines follow at once."""
        if "default_tax_rates" in sent:
            ids = params.default_tax_rates if isinstance(params.default_tax_rates, list) else []
            invoice.default_tax_rates = await rate_objects(
                session, caller, ids, param="default_tax_rates"
            )
        if "account_tax_ids" in sent:
            ids = params.account_tax_ids if isinstance(params.account_tax_ids, list) else []
            invoice.account_tax_id = await account_tax_id(session, caller, ids)
        if "discounts" in sent:
            wanted = params.discounts if isinstance(params.discounts, list) else []
            invoice.discounts = await discounting.named(
                session,
                caller,
                [(each.coupon, each.promotion_code) for each in wanted],
                customer_id=invoice.customer_id,
                currency=invoice.currency,
            )
        await recompute(session, invoice)

    async def _terms(
        self,
        session: AsyncSession,
        invoice: InvoiceRow,
        params: InvoiceUpdateParams,
        sent: set[str],
    ) -> None:
        collection = CollectionMethod(params.collection_method or invoice.collection_method)
        now = await now_for(session, invoice)
        changes_method = collection != invoice.collection_method
        days = params.days_until_due
        due = params.due_date
        if not changes_method and days is None and due is None:
            return
        if collection == CollectionMethod.send_invoice and days is None and due is None:
            days = invoice.days_until_due
        invoice.days_until_due, invoice.due_date = _due_terms(
            collection, days, due, invoice.created_at, now
        )
        invoice.collection_method = collection
        if invoice.status == Status.open:
            # A due date moved on an open invoice: it is overdue again only when it passes.
            invoice.overdue_at = None
            await lifecycle.schedule_overdue(session, invoice)

    async def _auto_advance(self, session: AsyncSession, invoice: InvoiceRow, on: bool) -> None:
        invoice.auto_advance = on
        if invoice.status != Status.draft:
            return
        if not on:
            invoice.automatically_finalizes_at = None
            return
        if invoice.automatically_finalizes_at is None:
            now = await now_for(session, invoice)
            invoice.automatically_finalizes_at = max(finalizes_at(invoice.created_at), now)
            await lifecycle.schedule_finalization(session, invoice)

    async def delete(self, session: AsyncSession, caller: Caller, invoice_id: str) -> str:
        """Deletes a draft; its items become pending again (they go on the customer's next
        invoice, or can be deleted)."""
        invoice = await find(session, caller, invoice_id, for_update=True)
        transition(invoice, Action.delete)
        await announce(session, invoice, InvoiceEvent.deleted)
        for item in await _items_on(session, invoice.id):
            item.invoice_id, item.line_id, item.line_position = None, None, None
            item.updated_at = utcnow()
            await session.flush()
            await record(session, item, InvoiceItemEvent.updated, invoice_item_object(item))
        await session.delete(invoice)
        await session.flush()
        return invoice.id

    async def finalize(
        self,
        session: AsyncSession,
        caller: Caller,
        invoice_id: str,
        params: InvoiceFinalizeParams,
    ) -> InvoiceRow:
        invoice = await find(session, caller, invoice_id, for_update=True)
        moment = await now_for(session, invoice)
        await lifecycle.finalize_locked(session, invoice, moment, auto_advance=params.auto_advance)
        await lifecycle.after_finalization(session, invoice)
        return invoice

    async def send(self, session: AsyncSession, caller: Caller, invoice_id: str) -> InvoiceRow:
        """Emails the invoice to its customer; a draft is finalized first, as Stripe does."""
        invoice = await find(session, caller, invoice_id, for_update=True)
        if invoice.collection_method != CollectionMethod.send_invoice:
            raise InvalidRequestError(
                "You can only send an invoice whose collection_method is send_invoice: this one"
                " is charged to the customer's payment method."
            )
        moment = await now_for(session, invoice)
        if invoice.status == Status.draft:
            await lifecycle.finalize_locked(session, invoice, moment)
        await lifecycle.send_locked(session, invoice, moment)
        return invoice

    async def void(self, session: AsyncSession, caller: Caller, invoice_id: str) -> InvoiceRow:
        """Voids an open or uncollectible invoice: its PaymentIntent is canceled (an attempt
        waiting for the customer is released), and nothing can be paid on it again."""
        found = await find(session, caller, invoice_id)
        if found.payment_intent_id is not None:
            # The PaymentIntent before the invoice: the order payments' outcomes lock them in.
            await payment_intent_service.get(
                session, caller, found.payment_intent_id, for_update=True
            )
        invoice = await find(session, caller, invoice_id, for_update=True)
        status = transition(invoice, Action.void)
        if invoice.payment_intent_id is not None:
            await payment_intent_service.cancel(
                session,
                caller,
                invoice.payment_intent_id,
                PaymentIntentCancelParams(cancellation_reason="abandoned", expand=[]),
                owner=invoice.id,
            )
        # The credit it took goes back to its customer (Stripe's unapplied_from_invoice).
        await customer_balance_service.unapply_from_invoice(session, invoice)
        # The moment first: reading a test clock's time flushes, and a void row needs its time.
        voided_at = await now_for(session, invoice)
        invoice.status = status
        invoice.voided_at = voided_at
        invoice.next_payment_attempt = None
        invoice.updated_at = utcnow()
        await announce(session, invoice, InvoiceEvent.voided)
        return invoice

    async def mark_uncollectible(
        self, session: AsyncSession, caller: Caller, invoice_id: str
    ) -> InvoiceRow:
        invoice = await find(session, caller, invoice_id, for_update=True)
        invoice.status = transition(invoice, Action.mark_uncollectible)
        invoice.marked_uncollectible_at = await now_for(session, invoice)
        invoice.next_payment_attempt = None
        invoice.updated_at = utcnow()
        await announce(session, invoice, InvoiceEvent.marked_uncollectible)
        return invoice

    async def list(
        self, session: AsyncSession, caller: Caller, params: InvoiceListParams
    ) -> tuple[Sequence[InvoiceRow], bool]:
        conditions: list[Any] = list(created_conditions(InvoiceRow.created_at, params.created))
        if params.customer is not None:
            conditions.append(InvoiceRow.customer_id == params.customer)
        if params.status is not None:
            conditions.append(InvoiceRow.status == params.status)
        if params.collection_method is not None:
            conditions.append(InvoiceRow.collection_method == params.collection_method)
        if params.due_date is not None:
            due = cast("InstrumentedAttribute[datetime]", InvoiceRow.due_date)
            conditions += created_conditions(due, params.due_date)
        return await scoped_page(
            session,
            InvoiceRow,
            caller.merchant,
            caller.livemode,
            params,
            *conditions,
            object_name=OBJECT,
        )

    async def finalized_of_customer(
        self, session: AsyncSession, caller: Caller, customer_id: str, *, limit: int
    ) -> Sequence[InvoiceRow]:
        """The customer's invoices that are not drafts, newest first, at most ``limit`` (the
        customer portal's invoice history)."""
        statement = (
            select(InvoiceRow)
            .where(
                InvoiceRow.merchant_id == caller.merchant,
                InvoiceRow.livemode == caller.livemode,
                InvoiceRow.customer_id == customer_id,
                InvoiceRow.status != "draft",
            )
            .order_by(InvoiceRow.created_at.desc(), InvoiceRow.id.desc())
            .limit(limit)
        )
        return (await session.scalars(statement)).all()

    async def lines(
        self,
        session: AsyncSession,
        caller: Caller,
        invoice_id: str,
        params: InvoiceLinesParams,
    ) -> tuple[Sequence[InvoiceItemRow], bool]:
        """A page of the invoice's lines, in the invoice's order (oldest first, as Stripe's)."""
        await find(session, caller, invoice_id)
        if params.starting_after and params.ending_before:
            raise InvalidRequestError(
                "You may only specify one of these parameters: starting_after, ending_before.",
                param="ending_before",
            )
        statement = select(InvoiceItemRow).where(InvoiceItemRow.invoice_id == invoice_id)
        position = InvoiceItemRow.line_position
        cursor = params.starting_after or params.ending_before
        at = None
        if cursor is not None:
            at = (
                await session.execute(
                    select(position).where(
                        InvoiceItemRow.invoice_id == invoice_id, InvoiceItemRow.line_id == cursor
                    )
                )
            ).scalar_one_or_none()
            if at is None:
                param = "starting_after" if params.starting_after else "ending_before"
                raise ResourceMissingError.for_object("line_item", cursor, param=param)
        if params.ending_before:
            statement = statement.where(position < at).order_by(position.desc())
        else:
            if at is not None:
                statement = statement.where(position > at)
            statement = statement.order_by(position)
        rows = list((await session.execute(statement.limit(params.limit + 1))).scalars())
        has_more = len(rows) > params.limit
        rows = rows[: params.limit]
        if params.ending_before:
            rows.reverse()
        return rows, has_more

    async def search(
        self, session: AsyncSession, caller: Caller, params: InvoiceSearchParams
    ) -> tuple[Sequence[InvoiceRow], bool, str | None]:
        query = parse_query(params.query, searchable_fields(INVOICE_SEARCHABLE))
        matched = query_condition(query, INVOICE_SEARCHABLE, InvoiceRow.metadata_)
        statement = scoped(InvoiceRow, caller.merchant, caller.livemode, matched)
        return await search(
            session, statement, InvoiceRow.id, limit=params.limit, page=params.page, prefix="in"
        )

    # ---- the merchant's invoice settings ------------------------------------------------------

    async def settings(self, session: AsyncSession, caller: Caller) -> dict[str, Any]:
        """The number prefix, and the number the next invoice finalized now would take."""
        prefix = await lifecycle.number_prefix(session, caller.merchant, caller.livemode)
        year = financial_year_at(utcnow())
        last = (
            await session.execute(
                select(InvoiceNumberCounterRow.last_number).where(
                    InvoiceNumberCounterRow.merchant_id == caller.merchant,
                    InvoiceNumberCounterRow.livemode == caller.livemode,
                    InvoiceNumberCounterRow.financial_year == year,
                )
            )
        ).scalar_one_or_none()
        try:
            upcoming = invoice_number(prefix, year, (last or 0) + 1)
        except InvoiceNumberError:
            upcoming = ""
        return invoice_settings_object(caller.livemode, prefix, upcoming)

    async def update_settings(
        self, session: AsyncSession, caller: Caller, params: InvoiceSettingsUpdateParams
    ) -> dict[str, Any]:
        if params.number_prefix is not None:
            await session.execute(
                insert(InvoiceSettingsRow)
                .values(
                    merchant_id=caller.merchant,
                    livemode=caller.livemode,
                    number_prefix=params.number_prefix,
                    updated_at=utcnow(),
                )
                .on_conflict_do_update(
                    index_elements=[InvoiceSettingsRow.merchant_id, InvoiceSettingsRow.livemode],
                    set_={"number_prefix": params.number_prefix, "updated_at": utcnow()},
                )
            )
        return await self.settings(session, caller)


async def _pending_items(
    session: AsyncSession, customer_id: str, currency: str | None
) -> Sequence[InvoiceItemRow]:
    """The customer's pending items a new invoice takes in (``pending_invoice_items_behavior``
    include), locked, oldest first: in the invoice's currency, or the oldest item's."""
    rows = list(
        (
            await session.execute(
                select(InvoiceItemRow)
                .where(
                    InvoiceItemRow.customer_id == customer_id, InvoiceItemRow.invoice_id.is_(None)
                )
                .order_by(InvoiceItemRow.id)
                .limit(LINES_PER_INVOICE_MAX + 1)
                .with_for_update()
            )
        ).scalars()
    )
    wanted = currency or (rows[0].currency if rows else None)
    taken = [row for row in rows if row.currency == wanted]
    if len(taken) > LINES_PER_INVOICE_MAX:
        raise InvoiceLinesLimitError(
            f"The customer has more than {LINES_PER_INVOICE_MAX} pending invoice items, the"
            " most one invoice holds: invoice some of them first.",
            param="pending_invoice_items_behavior",
        )
    return taken


async def _take_in(
    session: AsyncSession, invoice: InvoiceRow, items: Sequence[InvoiceItemRow]
) -> None:
    """Pending items become the new draft's lines."""
    for position, item in enumerate(items, start=1):
        item.invoice_id = invoice.id
        item.line_id, item.line_position = new_id("il"), position
        item.updated_at = utcnow()
    if items:
        await recompute(session, invoice)
        for item in items:
            await record(session, item, InvoiceItemEvent.updated, invoice_item_object(item))


async def _items_on(session: AsyncSession, invoice_id: str) -> Sequence[InvoiceItemRow]:
    return list(
        (
            await session.execute(
                select(InvoiceItemRow)
                .where(InvoiceItemRow.invoice_id == invoice_id)
                .order_by(InvoiceItemRow.line_position)
                .with_for_update()
            )
        ).scalars()
    )


invoice_service = InvoiceService()
