"""Invoice and invoice item parameters and objects, in the shape of Stripe's API version the
official SDK targets (stripe-python 16, ``2026-10-28.endive``): an invoice names its
PaymentIntent in ``payments`` (InvoicePayment objects, on ``expand[]=payments``), not in a
``payment_intent`` field; taxes are ``total_taxes``; a line is a ``line_item`` whose ``parent``
is its invoice item; an item's unit amount is ``pricing.unit_amount_decimal``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, Field

from beyondpay.billing.invoices.domain import (
    DAYS_UNTIL_DUE_MAX,
    DESCRIPTION_CHARS_MAX,
    FOOTER_CHARS_MAX,
    QUANTITY_MAX,
    CollectionMethod,
    Status,
    TaxAmount,
)
from beyondpay.billing.invoices.models import (
    CustomerBalanceTransactionRow,
    InvoiceItemRow,
    InvoiceRow,
)
from beyondpay.billing.tax.domain import (
    INVOICE_PREFIX_CHARS_MAX,
    InvoiceNumberError,
    check_invoice_prefix,
)
from beyondpay.db.pagination import EXPAND_MAX, LIMIT_DEFAULT, LIMIT_MAX, UNIX_S_MAX, ListParams
from beyondpay.db.pagination import CreatedFilter as DateFilter
from beyondpay.db.search import SearchParams
from beyondpay.kit.money import AMOUNT_MINOR_MAX
from beyondpay.kit.params import Params, check_metadata
from beyondpay.payments.schemas import Currency

ID_CHARS_MAX: Final = 255
ACCOUNT_COUNTRY: Final = "IN"
# unit_amount_decimal: Stripe allows 12 decimal places; amounts here are whole minor units.
DECIMAL_CHARS_MAX: Final = 40

MetadataParam = Annotated[dict[str, str] | str | None, AfterValidator(check_metadata)]
Id = Annotated[str, Field(min_length=1, max_length=ID_CHARS_MAX)]
Expand = Annotated[list[str], Field(default_factory=list, max_length=EXPAND_MAX)]
SignedAmount = Annotated[int, Field(ge=-AMOUNT_MINOR_MAX, le=AMOUNT_MINOR_MAX)]
Quantity = Annotated[int, Field(ge=0, le=QUANTITY_MAX)]
Description = Annotated[str | None, Field(default=None, max_length=DESCRIPTION_CHARS_MAX)]
Footer = Annotated[str | None, Field(default=None, max_length=FOOTER_CHARS_MAX)]
DaysUntilDue = Annotated[int, Field(ge=0, le=DAYS_UNTIL_DUE_MAX)]
UnixTime = Annotated[int, Field(ge=0, le=UNIX_S_MAX)]


def _whole_minor_units(value: str | None) -> str | None:
    """``unit_amount_decimal`` as a whole number of minor units: amounts are integers here
    (never a fraction of a paisa), so ``1500`` and ``1500.00`` are taken, ``1500.5`` is not."""
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError("it must be a decimal number") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueError("it must be a whole number of the currency's minor units")
    if abs(number) > AMOUNT_MINOR_MAX:
        raise ValueError(f"it may be at most {AMOUNT_MINOR_MAX}")
    return str(int(number))


UnitAmountDecimal = Annotated[
    str | None,
    Field(default=None, max_length=DECIMAL_CHARS_MAX),
    AfterValidator(_whole_minor_units),
]


def _prefix(value: str | None) -> str | None:
    if value is not None:
        try:
            check_invoice_prefix(value)
        except InvoiceNumberError:
            raise ValueError(
                f"it must be 1 to {INVOICE_PREFIX_CHARS_MAX} upper-case letters, digits or"
                " inner hyphens"
            ) from None
    return value


class PeriodParams(Params):
    start: UnixTime
    end: UnixTime


# Stripe's limits: 10 tax rates on an invoice or an item; "" empties the list on an update.
TAX_RATES_MAX: Final = 10
TaxRateIds = Annotated[list[Id], Field(max_length=TAX_RATES_MAX)]
# The merchant's tax ids an invoice is issued under (one GSTIN: see taxing.account_tax_id).
TaxIds = Annotated[list[Id], Field(max_length=TAX_RATES_MAX)]
Blank = Literal[""]


DISCOUNTS_MAX: Final = 20  # Stripe's limit of discounts on an invoice


class DiscountParams(Params):
    coupon: Id | None = None
    promotion_code: Id | None = None


Discounts = Annotated[list[DiscountParams], Field(max_length=DISCOUNTS_MAX)]


class ItemPricingParams(Params):
    price: Id | None = None


class InvoiceItemAmountParams(Params):
    """What an item costs: ``amount``, or a unit amount (``unit_amount_decimal``, as the
    current API sends it, or ``unit_amount``, as older versions do) times ``quantity``, or a
    catalog price (``pricing[price]``, as the current API sends it, or ``price``, as older
    versions do) times ``quantity``."""

    amount: SignedAmount | None = None
    pricing: ItemPricingParams | None = None
    price: Id | None = None
    unit_amount: SignedAmount | None = None
    unit_amount_decimal: UnitAmountDecimal = None
    quantity: Quantity | None = None


class InvoiceItemCreateParams(InvoiceItemAmountParams):
    customer: Id | None = None
    invoice: Id | None = None
    currency: Currency | None = None
    description: Description = None
    discountable: bool | None = None
    metadata: MetadataParam = None
    period: PeriodParams | None = None
    tax_rates: TaxRateIds | None = None
    expand: Expand


class InvoiceItemUpdateParams(InvoiceItemAmountParams):
    description: Description = None
    discountable: bool | None = None
    metadata: MetadataParam = None
    period: PeriodParams | None = None
    tax_rates: TaxRateIds | Blank | None = None
    expand: Expand


class InvoiceItemListParams(ListParams):
    customer: Id | None = None
    invoice: Id | None = None
    pending: bool | None = None


class InvoiceCreateParams(Params):
    customer: Id
    auto_advance: bool | None = None
    collection_method: CollectionMethod = CollectionMethod.charge_automatically
    currency: Currency | None = None
    days_until_due: DaysUntilDue | None = None
    due_date: UnixTime | None = None
    default_payment_method: Id | None = None
    description: Description = None
    footer: Footer = None
    metadata: MetadataParam = None
    # Stripe's default (API versions since 2022-08-01): pending items stay pending.
    pending_invoice_items_behavior: Literal["include", "exclude"] = "exclude"
    default_tax_rates: TaxRateIds | None = None
    account_tax_ids: TaxIds | None = None
    discounts: Discounts | None = None
    expand: Expand


class InvoiceUpdateParams(Params):
    auto_advance: bool | None = None
    collection_method: CollectionMethod | None = None
    days_until_due: DaysUntilDue | None = None
    due_date: UnixTime | None = None
    # "" unsets it, as in Stripe.
    default_payment_method: Annotated[str | None, Field(default=None, max_length=ID_CHARS_MAX)]
    description: Description = None
    footer: Footer = None
    metadata: MetadataParam = None
    default_tax_rates: TaxRateIds | Blank | None = None
    account_tax_ids: TaxIds | Blank | None = None
    discounts: Discounts | Blank | None = None
    expand: Expand


class InvoiceListParams(ListParams):
    customer: Id | None = None
    status: Status | None = None
    collection_method: CollectionMethod | None = None
    due_date: DateFilter | None = None


class InvoiceLinesParams(Params):
    limit: int = Field(default=LIMIT_DEFAULT, ge=1, le=LIMIT_MAX)
    starting_after: Id | None = None
    ending_before: Id | None = None
    expand: Expand


class InvoiceFinalizeParams(Params):
    auto_advance: bool | None = None
    expand: Expand


class InvoicePayParams(Params):
    payment_method: Id | None = None
    paid_out_of_band: bool = False
    # Stripe's default: the customer is away while the payment is attempted.
    off_session: bool = True
    expand: Expand


class InvoiceSendParams(Params):
    expand: Expand


class InvoiceVoidParams(Params):
    expand: Expand


class InvoiceMarkUncollectibleParams(Params):
    expand: Expand


class InvoiceSearchParams(SearchParams):
    """Search invoices: ``query`` over ``created``, ``currency``, ``customer``, ``number``,
    ``status``, ``total`` and ``metadata['key']``."""


class InvoiceSettingsUpdateParams(Params):
    number_prefix: Annotated[
        str | None,
        Field(default=None, max_length=INVOICE_PREFIX_CHARS_MAX),
        AfterValidator(_prefix),
    ]


# ---- the objects -------------------------------------------------------------------------------


class Period(BaseModel):
    start: int
    end: int


class Pricing(BaseModel):
    type: Literal["price_details"]
    price_details: dict[str, Any] | None = Field(
        description="The catalog price the item is priced at (`price`, `product`); null when"
        " the amount was given."
    )
    unit_amount_decimal: str


class InvoiceItem(BaseModel):
    id: str
    object: Literal["invoiceitem"]
    amount: int
    currency: str
    customer: str
    customer_account: str | None
    date: int
    description: str | None
    discountable: bool
    discounts: list[str]
    invoice: str | None
    livemode: bool
    metadata: dict[str, str]
    net_amount: int
    parent: dict[str, Any] | None
    period: Period
    pricing: Pricing
    proration: bool
    proration_details: dict[str, Any]
    quantity: int
    quantity_decimal: str
    tax_rates: list[dict[str, Any]]
    test_clock: str | None


class DeletedInvoiceItem(BaseModel):
    id: str
    object: Literal["invoiceitem"]
    deleted: Literal[True]


class InvoiceLineItem(BaseModel):
    id: str
    object: Literal["line_item"]
    amount: int
    currency: str
    description: str | None
    discount_amounts: list[dict[str, Any]]
    discountable: bool
    discounts: list[str]
    invoice: str | None
    livemode: bool
    metadata: dict[str, str]
    parent: dict[str, Any]
    period: Period
    pretax_credit_amounts: list[dict[str, Any]]
    pricing: Pricing
    quantity: int
    quantity_decimal: str
    subtotal: int
    tax_rates: list[dict[str, Any]]
    taxes: list[dict[str, Any]]


class InvoiceLines(BaseModel):
    object: Literal["list"]
    data: list[InvoiceLineItem]
    has_more: bool
    total_count: int
    url: str


class StatusTransitions(BaseModel):
    finalized_at: int | None
    marked_uncollectible_at: int | None
    paid_at: int | None
    voided_at: int | None


class InvoicePaymentDetails(BaseModel):
    type: Literal["payment_intent"]
    payment_intent: str


class InvoicePayment(BaseModel):
    id: str
    object: Literal["invoice_payment"]
    amount_paid: int | None
    amount_requested: int
    created: int
    currency: str
    invoice: str
    is_default: bool
    livemode: bool
    payment: InvoicePaymentDetails
    status: str
    status_transitions: dict[str, int | None]


class InvoicePayments(BaseModel):
    object: Literal["list"]
    data: list[InvoicePayment]
    has_more: bool
    url: str


class ConfirmationSecret(BaseModel):
    client_secret: str
    type: Literal["payment_intent"]


class Invoice(BaseModel):
    id: str
    object: Literal["invoice"]
    account_country: str
    account_name: str | None
    account_tax_ids: list[str] | None
    amount_due: int
    amount_overpaid: int
    amount_paid: int
    amount_paid_off_stripe: int | None = Field(
        description="What was paid outside the platform (pay with paid_out_of_band)."
    )
    amount_remaining: int
    amount_shipping: int
    application: str | None
    attempt_count: int
    attempted: bool
    auto_advance: bool
    automatic_tax: dict[str, Any]
    automatically_finalizes_at: int | None
    billing_reason: str
    collection_method: str
    confirmation_secret: ConfirmationSecret | None = Field(
        default=None,
        description="The PaymentIntent's client secret: on `expand[]=confirmation_secret`.",
    )
    created: int
    currency: str
    custom_fields: list[dict[str, str]] | None
    customer: str
    customer_account: str | None
    customer_address: dict[str, Any] | None
    customer_email: str | None
    customer_name: str | None
    customer_phone: str | None
    customer_shipping: dict[str, Any] | None
    customer_tax_exempt: str | None
    customer_tax_ids: list[dict[str, Any]] | None
    default_payment_method: str | None
    default_source: str | None
    default_tax_rates: list[dict[str, Any]]
    description: str | None
    discounts: list[str]
    due_date: int | None
    effective_at: int | None
    ending_balance: int | None
    footer: str | None
    from_invoice: dict[str, Any] | None
    gst: dict[str, Any] | None = Field(
        description="Our extension: the GST of the invoice, null when the merchant has no GSTIN."
        " `supplier_gstin`, `supplier_state`, `customer_gstin` (null: an unregistered"
        " customer), `place_of_supply` (a GST state code; 96 outside India) and"
        " `place_of_supply_basis` (gstin, shipping, address or supplier), `supply_type`"
        " (`intra_state`: CGST + SGST; `inter_state`: IGST), and the `cgst`, `sgst` (UTGST in"
        " the union territories without a legislature) and `igst` totals in minor units."
        " Recomputed on a draft, fixed at finalization."
    )
    hosted_invoice_url: str | None
    invoice_pdf: str | None
    issuer: dict[str, Any]
    last_finalization_error: dict[str, Any] | None
    latest_revision: str | None
    lines: InvoiceLines
    livemode: bool
    metadata: dict[str, str]
    next_payment_attempt: int | None
    number: str | None
    on_behalf_of: str | None
    parent: dict[str, Any] | None
    payment_settings: dict[str, Any]
    payments: InvoicePayments | None = Field(
        default=None, description="The invoice's payments: on `expand[]=payments`."
    )
    period_end: int
    period_start: int
    post_payment_credit_notes_amount: int
    pre_payment_credit_notes_amount: int
    receipt_number: str | None
    rendering: dict[str, Any] | None
    shipping_cost: dict[str, Any] | None
    shipping_details: dict[str, Any] | None
    starting_balance: int
    statement_descriptor: str | None
    status: str
    status_details: dict[str, Any] | None
    status_transitions: StatusTransitions
    subtotal: int
    subtotal_excluding_tax: int | None
    test_clock: str | None
    threshold_reason: dict[str, Any] | None
    total: int
    total_discount_amounts: list[dict[str, Any]] | None
    total_excluding_tax: int | None
    total_pretax_credit_amounts: list[dict[str, Any]] | None
    total_taxes: list[dict[str, Any]] | None
    webhooks_delivered_at: int | None


class DeletedInvoice(BaseModel):
    id: str
    object: Literal["invoice"]
    deleted: Literal[True]


class InvoiceSearchResult(BaseModel):
    object: Literal["search_result"]
    url: str
    has_more: bool
    data: list[Invoice]
    next_page: str | None


class InvoiceSettings(BaseModel):
    object: Literal["invoice_settings"]
    livemode: bool
    number_prefix: str = Field(
        description="Starts every invoice number: `INV/2627/0000001` (1 to 5 upper-case"
        " letters, digits or inner hyphens; the serial fills GST's 16 characters)."
    )
    next_number: str = Field(description="The number the next invoice finalized now would take.")


# ---- renderings --------------------------------------------------------------------------------


def unix(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())


def _pricing(item: InvoiceItemRow) -> dict[str, Any]:
    details = None
    if item.price_id is not None:
        details = {"price": item.price_id, "product": item.product_id}
    return {
        "type": "price_details",
        "price_details": details,
        "unit_amount_decimal": str(item.unit_amount),
    }


def tax_amount_object(tax: TaxAmount) -> dict[str, Any]:
    return {
        "amount": tax.amount,
        "tax_behavior": "inclusive" if tax.inclusive else "exclusive",
        "tax_rate_details": {"tax_rate": tax.tax_rate},
        "taxability_reason": tax.taxability_reason,
        "taxable_amount": tax.taxable_amount,
        "type": "tax_rate_details",
    }


def invoice_item_object(item: InvoiceItemRow) -> dict[str, Any]:
    return {
        "id": item.id,
        "object": "invoiceitem",
        "amount": item.amount,
        "currency": item.currency,
        "customer": item.customer_id,
        "customer_account": None,
        "date": _unix(item.created_at),
        "description": item.description,
        "discountable": item.discountable,
        "discounts": [],
        "invoice": item.invoice_id,
        "livemode": item.livemode,
        "metadata": item.metadata_,
        "net_amount": item.amount,
        "parent": _item_parent(item),
        "period": {"start": _unix(item.period_start), "end": _unix(item.period_end)},
        "pricing": _pricing(item),
        "proration": item.proration,
        "proration_details": {"credited_items": None, "discount_amounts": []},
        "quantity": item.quantity,
        "quantity_decimal": str(item.quantity),
        "tax_rates": item.tax_rates,
        "test_clock": item.test_clock,
    }


def _item_parent(item: InvoiceItemRow) -> dict[str, Any] | None:
    """Stripe's ``parent`` of an invoice item: the subscription (and item) that made it."""
    if item.subscription_id is None:
        return None
    return {
        "type": "subscription_details",
        "subscription_details": {
            "subscription": item.subscription_id,
            "subscription_item": item.subscription_item_id,
        },
    }


def _line_parent(item: InvoiceItemRow) -> dict[str, Any]:
    """Stripe's ``parent`` of a line: a subscription item's period (``subscription_item_
    details``), or an invoice item (a proration among them, with its subscription)."""
    proration_details = {"credited_items": None}
    if item.subscription_item_id is not None and not item.proration:
        return {
            "type": "subscription_item_details",
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": item.id,
                "proration": False,
                "proration_details": proration_details,
                "subscription": item.subscription_id,
                "subscription_item": item.subscription_item_id,
            },
        }
    return {
        "type": "invoice_item_details",
        "invoice_item_details": {
            "invoice_item": item.id,
            "proration": item.proration,
            "proration_details": proration_details,
            "subscription": item.subscription_id,
        },
        "subscription_item_details": None,
    }


def deleted_invoice_item_object(item_id: str) -> dict[str, Any]:
    return {"id": item_id, "object": "invoiceitem", "deleted": True}


def line_object(item: InvoiceItemRow, taxes: tuple[TaxAmount, ...] = ()) -> dict[str, Any]:
    """The line an invoice item is on its invoice (``il_…``)."""
    return {
        "id": item.line_id,
        "object": "line_item",
        "amount": item.amount,
        "currency": item.currency,
        "description": item.description,
        "discount_amounts": item.discount_amounts,
        "discountable": item.discountable,
        "discounts": [],
        "invoice": item.invoice_id,
        "livemode": item.livemode,
        "metadata": item.metadata_,
        "parent": _line_parent(item),
        "period": {"start": _unix(item.period_start), "end": _unix(item.period_end)},
        "pretax_credit_amounts": [],
        "pricing": _pricing(item),
        "quantity": item.quantity,
        "quantity_decimal": str(item.quantity),
        "subtotal": item.amount,
        "tax_rates": item.tax_rates,
        "taxes": [tax_amount_object(tax) for tax in taxes],
    }


@dataclass(frozen=True, slots=True)
class InvoiceView:
    """What an invoice object shows beside its row: its first lines, its links, its taxes, and
    the PaymentIntent's payment and secret where expanded."""

    lines: list[dict[str, Any]]
    lines_has_more: bool
    lines_count: int
    hosted_invoice_url: str | None
    invoice_pdf: str | None
    taxes: tuple[TaxAmount, ...] = ()
    discount_amounts: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] | None = None
    confirmation_secret: str | None = None


def invoice_payment_object(
    invoice: InvoiceRow, intent_status: str, amount_received: int, created_at: datetime
) -> dict[str, Any]:
    """The invoice's one payment (Stripe's InvoicePayment) through its PaymentIntent."""
    paid = invoice.status == Status.paid and not invoice.paid_out_of_band
    canceled = intent_status == "canceled"
    return {
        "id": f"inpay_{invoice.id.removeprefix('in_')}",
        "object": "invoice_payment",
        "amount_paid": amount_received if paid else None,
        "amount_requested": invoice.amount_due,
        "created": _unix(created_at),
        "currency": invoice.currency,
        "invoice": invoice.id,
        "is_default": True,
        "livemode": invoice.livemode,
        "payment": {"type": "payment_intent", "payment_intent": invoice.payment_intent_id},
        "status": "paid" if paid else "canceled" if canceled else "open",
        "status_transitions": {
            "canceled_at": unix(invoice.voided_at) if canceled else None,
            "paid_at": unix(invoice.paid_at) if paid else None,
        },
    }


def _status_details(invoice: InvoiceRow) -> dict[str, Any] | None:
    if invoice.status == Status.uncollectible:
        return {"uncollectible": {"reason": "user_forgiven"}}
    return None


def _parent(invoice: InvoiceRow) -> dict[str, Any] | None:
    """Stripe's ``parent``: the subscription an invoice bills, if any."""
    if invoice.subscription_id is None:
        return None
    return {
        "type": "subscription_details",
        "quote_details": None,
        "subscription_details": {"metadata": None, "subscription": invoice.subscription_id},
    }


def gst_summary(invoice: InvoiceRow, taxes: tuple[TaxAmount, ...]) -> dict[str, Any] | None:
    """Our extension ``gst``: the GST facts of the invoice (fixed at finalization) and its
    CGST, SGST (or UTGST, in the union territories without a legislature) and IGST totals;
    null when the merchant has no GSTIN and so charges no GST."""
    if invoice.gst is None:
        return None
    return {
        **invoice.gst,
        "cgst": sum(tax.cgst for tax in taxes),
        "sgst": sum(tax.sgst for tax in taxes),
        "igst": sum(tax.igst for tax in taxes),
    }


def invoice_object(invoice: InvoiceRow, view: InvoiceView) -> dict[str, Any]:
    all_taxes = sum(tax.amount for tax in view.taxes)
    inclusive_taxes = sum(tax.amount for tax in view.taxes if tax.inclusive)
    finalized = invoice.status != Status.draft
    rendered: dict[str, Any] = {
        "id": invoice.id,
        "object": "invoice",
        "account_country": ACCOUNT_COUNTRY,
        "account_name": invoice.account_name,
        "account_tax_ids": [invoice.account_tax_id] if invoice.account_tax_id else None,
        "amount_due": invoice.amount_due,
        "amount_overpaid": 0,
        "amount_paid": invoice.amount_paid,
        "amount_paid_off_stripe": invoice.amount_paid if invoice.paid_out_of_band else 0,
        "amount_remaining": invoice.amount_due - invoice.amount_paid,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": invoice.attempt_count,
        "attempted": invoice.attempted,
        "auto_advance": invoice.auto_advance,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": unix(invoice.automatically_finalizes_at),
        "billing_reason": invoice.billing_reason,
        "collection_method": invoice.collection_method,
        "created": _unix(invoice.created_at),
        "currency": invoice.currency,
        "custom_fields": None,
        "customer": invoice.customer_id,
        "customer_account": None,
        "customer_address": invoice.customer_address,
        "customer_email": invoice.customer_email,
        "customer_name": invoice.customer_name,
        "customer_phone": invoice.customer_phone,
        "customer_shipping": invoice.customer_shipping,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": invoice.default_payment_method_id,
        "default_source": None,
        "default_tax_rates": invoice.default_tax_rates,
        "description": invoice.description,
        "discounts": [entry["id"] for entry in invoice.discounts],
        "due_date": unix(invoice.due_date),
        "effective_at": unix(invoice.finalized_at),
        "ending_balance": invoice.ending_balance if finalized else None,
        "footer": invoice.footer,
        "from_invoice": None,
        "gst": gst_summary(invoice, view.taxes),
        "hosted_invoice_url": view.hosted_invoice_url,
        "invoice_pdf": view.invoice_pdf,
        "issuer": {"type": "self"},
        "last_finalization_error": invoice.last_finalization_error,
        "latest_revision": None,
        "lines": {
            "object": "list",
            "data": view.lines,
            "has_more": view.lines_has_more,
            "total_count": view.lines_count,
            "url": f"/v1/invoices/{invoice.id}/lines",
        },
        "livemode": invoice.livemode,
        "metadata": invoice.metadata_,
        "next_payment_attempt": unix(invoice.next_payment_attempt),
        "number": invoice.number,
        "on_behalf_of": None,
        "parent": _parent(invoice),
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": _unix(invoice.period_end),
        "period_start": _unix(invoice.period_start),
        "post_payment_credit_notes_amount": invoice.post_payment_credit_notes_amount or 0,
        "pre_payment_credit_notes_amount": invoice.pre_payment_credit_notes_amount or 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": invoice.starting_balance or 0,
        "statement_descriptor": None,
        "status": invoice.status,
        "status_details": _status_details(invoice),
        "status_transitions": {
            "finalized_at": unix(invoice.finalized_at),
            "marked_uncollectible_at": unix(invoice.marked_uncollectible_at),
            "paid_at": unix(invoice.paid_at),
            "voided_at": unix(invoice.voided_at),
        },
        "subtotal": invoice.subtotal,
        "subtotal_excluding_tax": invoice.subtotal - inclusive_taxes,
        "test_clock": invoice.test_clock,
        "threshold_reason": None,
        "total": invoice.total,
        "total_discount_amounts": view.discount_amounts,
        "total_excluding_tax": invoice.total - all_taxes,
        "total_pretax_credit_amounts": [],
        "total_taxes": [tax_amount_object(tax) for tax in view.taxes],
        "webhooks_delivered_at": unix(invoice.created_at),
    }
    if view.payments is not None:
        rendered["payments"] = {
            "object": "list",
            "data": view.payments,
            "has_more": False,
            "url": "/v1/invoice_payments",
        }
    if view.confirmation_secret is not None:
        rendered["confirmation_secret"] = {
            "client_secret": view.confirmation_secret,
            "type": "payment_intent",
        }
    return rendered


def deleted_invoice_object(invoice_id: str) -> dict[str, Any]:
    return {"id": invoice_id, "object": "invoice", "deleted": True}


def invoice_settings_object(livemode: bool, prefix: str, next_number: str) -> dict[str, Any]:
    return {
        "object": "invoice_settings",
        "livemode": livemode,
        "number_prefix": prefix,
        "next_number": next_number,
    }


# ---- the customer balance (migration 0041) ------------------------------------------------------

# Stripe's bound on one adjustment: any amount a payment could be, either sign.
BalanceAmount = Annotated[int, Field(ge=-AMOUNT_MINOR_MAX, le=AMOUNT_MINOR_MAX)]


class CustomerBalanceTransactionCreateParams(Params):
    amount: BalanceAmount = Field(
        description="Negative: a credit the customer can spend on their next invoices;"
        " positive: an amount the next invoice adds to what is due."
    )
    currency: Currency
    description: Annotated[str | None, Field(max_length=350)] = None
    metadata: MetadataParam = None
    expand: Expand


class CustomerBalanceTransactionUpdateParams(Params):
    description: Annotated[str | None, Field(max_length=350)] = None
    metadata: MetadataParam = None
    expand: Expand


class CustomerBalanceTransactionListParams(ListParams):
    invoice: Id | None = None


class CustomerBalanceTransaction(BaseModel):
    id: str
    object: Literal["customer_balance_transaction"]
    amount: int
    checkout_session: str | None
    created: int
    credit_note: str | None
    currency: str
    customer: str
    customer_account: str | None
    description: str | None
    ending_balance: int
    invoice: str | None
    livemode: bool
    metadata: dict[str, str]
    type: str


def customer_balance_transaction_object(row: CustomerBalanceTransactionRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "customer_balance_transaction",
        "amount": row.amount,
        "checkout_session": None,
        "created": _unix(row.created_at),
        "credit_note": row.credit_note_id,
        "currency": row.currency,
        "customer": row.customer_id,
        "customer_account": None,
        "description": row.description,
        "ending_balance": row.ending_balance,
        "invoice": row.invoice_id,
        "livemode": row.livemode,
        "metadata": row.metadata_,
        "type": row.type,
    }
