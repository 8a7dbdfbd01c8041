"""Invoice items: create, read, update, delete, list. Never commits.

An item is pending (no invoice: the customer's next invoice created with
``pending_invoice_items_behavior=include`` takes it in) or on a draft, whose line it is. An item
on an invoice changes only while the invoice is a draft (Stripe's rule), and every change of a
draft's lines updates its totals in the same transaction, under the draft's lock (taken before
the item's, the order every use case locks them in).

What an item costs: ``amount``, or a unit amount times ``quantity``, or a one-time price of the
catalog (``pricing[price]``, or ``price`` as older API versions send it) times ``quantity``: the
price gives the unit amount and the currency, its product the description (unless one is given)
and the HSN/SAC code the GST invoice prints, all copied onto the item when it is priced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.catalog.service import BillablePrice, price_service
from beyondpay.billing.invoices.domain import (
    LINES_PER_INVOICE_MAX,
    Action,
    line_amount,
    line_price,
)
from beyondpay.billing.invoices.errors import InvoiceLinesLimitError
from beyondpay.billing.invoices.events import InvoiceItemEvent, record
from beyondpay.billing.invoices.models import InvoiceItemRow, InvoiceRow
from beyondpay.billing.invoices.schemas import (
    InvoiceItemAmountParams,
    InvoiceItemCreateParams,
    InvoiceItemListParams,
    InvoiceItemUpdateParams,
    PeriodParams,
    invoice_item_object,
)
from beyondpay.billing.invoices.store import (
    ITEM_OBJECT,
    find,
    find_item,
    line_count,
    next_position,
    now_for,
    recompute,
    transition,
)
from beyondpay.billing.invoices.taxing import rate_objects
from beyondpay.customers.service import customer_service
from beyondpay.db.pagination import created_conditions, scoped_page
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import (
    InvalidRequestError,
    LockTimeoutError,
    ParameterMissingError,
)
from beyondpay.kit.ids import new_id
from beyondpay.kit.params import merge_metadata
from beyondpay.merchants.domain import Caller
from beyondpay.test_clocks.domain import moment

# How many times an update or a deletion looks again for an item whose invoice changed under
# it (a new invoice took the pending item in): then it answers lock_timeout, which SDKs retry.
RELOCK_TRIES_MAX: Final = 2


@dataclass(frozen=True, slots=True)
class SubscriptionLine:
    """What a subscription's line bills beside its amount (``invoice_item_service.create``'s
    ``subscription_line``): the recurring price and its product, the HSN/SAC and tax behavior
    the item copied from them, and the item's tax rates (Stripe's objects; empty: the invoice's
    defaults). A recurring price on a line, and rates set earlier, come only this way."""

    price_id: str
    product_id: str
    hsn_sac: str | None
    tax_behavior: str | None
    tax_rates: tuple[dict[str, Any], ...] = ()
    subscription_id: str | None = None
    subscription_item_id: str | None = None
    proration: bool = False


def _priced(params: InvoiceItemAmountParams, *, current: InvoiceItemRow | None) -> tuple[int, int]:
    """``(unit_amount, quantity)`` from ``amount`` or a unit amount and a quantity; on an
    update, what is not sent stays as it was."""
    unit = params.unit_amount_decimal
    if params.unit_amount is not None and unit is not None:
        raise InvalidRequestError(
            "You may only specify one of these parameters: unit_amount, unit_amount_decimal.",
            param="unit_amount_decimal",
        )
    unit_amount = (
        params.unit_amount
        if params.unit_amount is not None
        else (int(unit) if unit is not None else None)
    )
    if params.amount is not None:
        if unit_amount is not None:
            raise InvalidRequestError(
                "You may only specify one of these parameters: amount, unit_amount_decimal.",
                param="amount",
            )
        if params.quantity not in (None, 1):
            raise InvalidRequestError(
                "An amount is for a quantity of 1: pass unit_amount_decimal with quantity.",
                param="quantity",
            )
        return line_price(params.amount).unit_amount, 1
    if unit_amount is None:
        if current is None:
            raise ParameterMissingError(
                "Missing required param: amount (or unit_amount_decimal and quantity).",
                param="amount",
            )
        unit_amount = current.unit_amount
    quantity = params.quantity
    if quantity is None:
        quantity = current.quantity if current is not None else 1
    return line_price(unit_amount).unit_amount, quantity


def _named_price(params: InvoiceItemAmountParams) -> tuple[str, str] | None:
    """The catalog price the item names, and the parameter it was named by."""
    in_pricing = params.pricing.price if params.pricing is not None else None
    if in_pricing is not None and params.price is not None:
        raise InvalidRequestError(
            "You may only specify one of these parameters: price, pricing[price].", param="price"
        )
    if in_pricing is not None:
        return in_pricing, "pricing[price]"
    if params.price is not None:
        return params.price, "price"
    return None


async def _catalog_price(
    session: AsyncSession,
    caller: Caller,
    params: InvoiceItemAmountParams,
    *,
    currency: str | None,
    inline: bool = False,
) -> BillablePrice | None:
    """The one-time price the item names, checked against the amounts sent beside it and the
    currency it must be in (its invoice's, or the one sent); None when it names none."""
    named = _named_price(params)
    if named is None:
        return None
    price_id, param = named
    for given in ("amount", "unit_amount", "unit_amount_decimal"):
        if getattr(params, given) is not None:
            raise InvalidRequestError(
                f"You may only specify one of these parameters: {given}, {param}.", param=param
            )
    billable = await price_service.billable(session, caller, price_id, param=param, inline=inline)
    if billable.recurring is not None:
        raise InvalidRequestError(
            f"The price {price_id} is recurring: an invoice item takes a one-time price"
            " (recurring prices are billed through subscriptions).",
            param=param,
        )
    if currency is not None and billable.currency != currency:
        raise InvalidRequestError(
            f"The price {price_id} is in {billable.currency}, and the item must be in {currency}.",
            param=param,
        )
    return billable


def _apply_price(item: InvoiceItemRow, billable: BillablePrice | None) -> None:
    priced = (
        line_price(billable.unit_amount, billable.price_id, billable.product_id)
        if billable is not None
        else None
    )
    item.price_id = priced.price_id if priced is not None else None
    item.product_id = priced.product_id if priced is not None else None
    item.hsn_sac = billable.hsn_sac if billable is not None else None
    item.tax_behavior = str(billable.tax_behavior) if billable is not None else None


def _apply_subscription_line(item: InvoiceItemRow, line: SubscriptionLine) -> None:
    item.price_id, item.product_id = line.price_id, line.product_id
    item.hsn_sac, item.tax_behavior = line.hsn_sac, line.tax_behavior
    item.tax_rates = list(line.tax_rates)
    item.subscription_id, item.subscription_item_id = (
        line.subscription_id,
        line.subscription_item_id,
    )
    item.proration = line.proration
    if line.proration:
        item.discountable = False  # Stripe's: prorations are never discounted


def _amount(unit_amount: int, quantity: int) -> int:
    try:
        return line_amount(unit_amount, quantity)
    except ValueError as error:
        raise InvalidRequestError(str(error).capitalize() + ".", param="quantity") from None


def _period(period: PeriodParams | None, default: datetime) -> tuple[datetime, datetime]:
    if period is None:
        return default, default
    if period.end < period.start:
        raise InvalidRequestError(
            "The period's end must be at or after its start.", param="period[end]"
        )
    return moment(period.start), moment(period.end)


async def _lock_draft(session: AsyncSession, caller: Caller, invoice_id: str) -> InvoiceRow:
    invoice = await find(session, caller, invoice_id, for_update=True, param="invoice")
    transition(invoice, Action.edit)
    return invoice


async def _room_for_a_line(session: AsyncSession, invoice: InvoiceRow) -> None:
    if await line_count(session, invoice.id) >= LINES_PER_INVOICE_MAX:
        raise InvoiceLinesLimitError(
            f"An invoice holds at most {LINES_PER_INVOICE_MAX} lines.", param="invoice"
        )


class InvoiceItemService:
    async def create(
        self,
        session: AsyncSession,
        caller: Caller,
        params: InvoiceItemCreateParams,
        *,
        subscription_line: SubscriptionLine | None = None,
        inline_price: bool = False,
    ) -> InvoiceItemRow:
        """A pending item, or a line of a draft. ``subscription_line``: billing's subscriptions
        bill an item's recurring price at the amount given (a period's, a stub's share, a
        proration), with the item's tax rates. ``inline_price``: its price was made archived
        for this purchase alone (Checkout's ``price_data``), taken though archived."""
        billable = await _catalog_price(
            session, caller, params, currency=params.currency, inline=inline_price
        )
        if billable is not None:
            unit_amount, quantity = billable.unit_amount, params.quantity or 1
        else:
            unit_amount, quantity = _priced(params, current=None)
        amount = _amount(unit_amount, quantity)
        invoice: InvoiceRow | None = None
        if params.invoice is not None:
            invoice = await _lock_draft(session, caller, params.invoice)
            if params.customer is not None and params.customer != invoice.customer_id:
                raise InvalidRequestError(
                    f"The invoice {invoice.id} is for another customer than {params.customer}.",
                    param="customer",
                )
            if params.currency is not None and params.currency != invoice.currency:
                raise InvalidRequestError(
                    f"The invoice {invoice.id} is in {invoice.currency}: an item on it must be.",
                    param="currency",
                )
            if billable is not None and billable.currency != invoice.currency:
                raise InvalidRequestError(
                    f"The invoice {invoice.id} is in {invoice.currency}, and the price"
                    f" {billable.price_id} in {billable.currency}.",
                    param="pricing[price]" if params.pricing is not None else "price",
                )
            await _room_for_a_line(session, invoice)
            customer_id, currency = invoice.customer_id, invoice.currency
            clock_id = invoice.test_clock
        else:
            if params.customer is None:
                raise ParameterMissingError.for_param("customer")
            currency_given = params.currency or (billable.currency if billable else None)
            if currency_given is None:
                raise ParameterMissingError.for_param("currency")
            customer = await self._customer(session, caller, params.customer)
            customer_id, currency = customer.id, currency_given
            clock_id = customer.test_clock if not caller.livemode else None
        item = InvoiceItemRow(
            id=new_id("ii"),
            merchant_id=caller.merchant,
            livemode=caller.livemode,
            customer_id=customer_id,
            invoice_id=invoice.id if invoice is not None else None,
            line_id=new_id("il") if invoice is not None else None,
            line_position=await next_position(session, invoice.id) if invoice is not None else None,
            amount=amount,
            currency=currency,
            unit_amount=unit_amount,
            quantity=quantity,
            description=params.description
            or (billable.product_name if billable is not None else None),
            discountable=params.discountable if params.discountable is not None else True,
            metadata_=merge_metadata(
                {}, params.metadata if isinstance(params.metadata, dict) else None
            ),
            test_clock=clock_id,
            updated_at=utcnow(),
        )
        _apply_price(item, billable)
        if params.tax_rates:
            item.tax_rates = await rate_objects(
                session, caller, params.tax_rates, param="tax_rates"
            )
        if subscription_line is not None:
            _apply_subscription_line(item, subscription_line)
        now = await now_for(session, item)
        item.created_at = now
        item.period_start, item.period_end = _period(params.period, now)
        session.add(item)
        if invoice is not None:
            await recompute(session, invoice)
            invoice.updated_at = utcnow()
        await session.flush()
        await record(session, item, InvoiceItemEvent.created, invoice_item_object(item))
        return item

    async def _customer(self, session: AsyncSession, caller: Caller, customer_id: str) -> Any:
        return await customer_service.live(session, caller, customer_id)

    async def get(self, session: AsyncSession, caller: Caller, item_id: str) -> InvoiceItemRow:
        return await find_item(session, caller, item_id)

    async def _locked(
        self, session: AsyncSession, caller: Caller, item_id: str
    ) -> tuple[InvoiceItemRow, InvoiceRow | None]:
        """The item, locked after its invoice (a draft, or refused): the invoice first."""
        for _ in range(RELOCK_TRIES_MAX):
            seen = await find_item(session, caller, item_id)
            invoice = None
            if seen.invoice_id is not None:
                invoice = await find(session, caller, seen.invoice_id, for_update=True)
                transition(invoice, Action.edit)
            item = await find_item(session, caller, item_id, for_update=True)
            if item.invoice_id == (invoice.id if invoice is not None else None):
                return item, invoice
        raise LockTimeoutError()

    async def update(
        self,
        session: AsyncSession,
        caller: Caller,
        item_id: str,
        params: InvoiceItemUpdateParams,
    ) -> InvoiceItemRow:
        item, invoice = await self._locked(session, caller, item_id)
        sent = params.model_fields_set - {"expand"}
        if _named_price(params) is not None:
            billable = await _catalog_price(session, caller, params, currency=item.currency)
            assert billable is not None  # a price was named
            _apply_price(item, billable)
            item.unit_amount = billable.unit_amount
            item.quantity = params.quantity if params.quantity is not None else item.quantity
            item.amount = _amount(item.unit_amount, item.quantity)
            if "description" not in sent:
                item.description = billable.product_name
        elif sent & {"amount", "unit_amount", "unit_amount_decimal", "quantity"}:
            if sent & {"amount", "unit_amount", "unit_amount_decimal"}:
                _apply_price(item, None)  # an amount given replaces the price
            item.unit_amount, item.quantity = _priced(params, current=item)
            item.amount = _amount(item.unit_amount, item.quantity)
        if "description" in sent:
            item.description = params.description or None
        if params.discountable is not None:
            item.discountable = params.discountable
        if "metadata" in sent:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            item.metadata_ = merge_metadata(item.metadata_, metadata)
        if params.period is not None:
            item.period_start, item.period_end = _period(params.period, item.created_at)
        if "tax_rates" in sent:
            ids = params.tax_rates if isinstance(params.tax_rates, list) else []
            item.tax_rates = await rate_objects(session, caller, ids, param="tax_rates")
        item.updated_at = utcnow()
        if invoice is not None:
            await recompute(session, invoice)
            invoice.updated_at = utcnow()
        await session.flush()
        await record(session, item, InvoiceItemEvent.updated, invoice_item_object(item))
        return item

    async def delete(self, session: AsyncSession, caller: Caller, item_id: str) -> str:
        item, invoice = await self._locked(session, caller, item_id)
        await record(session, item, InvoiceItemEvent.deleted, invoice_item_object(item))
        await session.delete(item)
        if invoice is not None:
            await recompute(session, invoice)
            invoice.updated_at = utcnow()
        await session.flush()
        return item_id

    async def list(
        self, session: AsyncSession, caller: Caller, params: InvoiceItemListParams
    ) -> tuple[Sequence[InvoiceItemRow], bool]:
        conditions: list[Any] = list(created_conditions(InvoiceItemRow.created_at, params.created))
        if params.customer is not None:
            conditions.append(InvoiceItemRow.customer_id == params.customer)
        if params.invoice is not None:
            conditions.append(InvoiceItemRow.invoice_id == params.invoice)
        if params.pending is True:
            conditions.append(InvoiceItemRow.invoice_id.is_(None))
        elif params.pending is False:
            conditions.append(InvoiceItemRow.invoice_id.is_not(None))
        return await scoped_page(
            session,
            InvoiceItemRow,
            caller.merchant,
            caller.livemode,
            params,
            *conditions,
            object_name=ITEM_OBJECT,
        )


invoice_item_service = InvoiceItemService()
