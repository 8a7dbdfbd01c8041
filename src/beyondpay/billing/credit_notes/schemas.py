"""Credit note parameters and objects, in Stripe's shape (``credit_note``,
``credit_note_line_item``), with our ``gst`` extension as invoices have it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from beyondpay.billing.credit_notes.domain import LINES_PER_CREDIT_NOTE_MAX
from beyondpay.billing.credit_notes.models import CreditNoteLineRow, CreditNoteRow
from beyondpay.billing.invoices.domain import TaxAmount
from beyondpay.db.pagination import EXPAND_MAX, LIMIT_DEFAULT, LIMIT_MAX, ListParams
from beyondpay.kit.money import AMOUNT_MINOR_MAX
from beyondpay.kit.params import Params, check_metadata

MetadataParam = Annotated[dict[str, str] | str | None, AfterValidator(check_metadata)]
Id = Annotated[str, Field(min_length=1, max_length=255)]
Expand = Annotated[list[str], Field(default_factory=list, max_length=EXPAND_MAX)]
Amount = Annotated[int, Field(ge=0, le=AMOUNT_MINOR_MAX)]
PositiveAmount = Annotated[int, Field(ge=1, le=AMOUNT_MINOR_MAX)]
Quantity = Annotated[int, Field(ge=1, le=1_000_000)]
Reason = Literal["duplicate", "fraudulent", "order_change", "product_unsatisfactory"]
Memo = Annotated[str, Field(max_length=5000)]


class CreditNoteLineParams(Params):
    type: Literal["invoice_line_item", "custom_line_item"]
    invoice_line_item: Id | None = None
    quantity: Quantity | None = None
    amount: PositiveAmount | None = None
    unit_amount: PositiveAmount | None = None
    description: Annotated[str | None, Field(max_length=500)] = None


class CreditNoteAmountsParams(Params):
    """What a credit note credits, as create and both previews take it."""

    invoice: Id
    lines: Annotated[list[CreditNoteLineParams], Field(max_length=LINES_PER_CREDIT_NOTE_MAX)] = (
        Field(default_factory=list)
    )
    amount: PositiveAmount | None = None
    refund_amount: Amount | None = None
    credit_amount: Amount | None = None
    out_of_band_amount: Amount | None = None
    reason: Reason | None = None
    memo: Memo | None = None
    metadata: MetadataParam = None
    expand: Expand


class CreditNoteCreateParams(CreditNoteAmountsParams):
    pass


class CreditNotePreviewParams(CreditNoteAmountsParams):
    pass


class CreditNotePreviewLinesParams(CreditNoteAmountsParams):
    limit: int = Field(default=LIMIT_DEFAULT, ge=1, le=LIMIT_MAX)
    starting_after: Id | None = None
    ending_before: Id | None = None


class CreditNoteUpdateParams(Params):
    memo: Memo | None = None
    metadata: MetadataParam = None
    expand: Expand


class CreditNoteVoidParams(Params):
    expand: Expand


class CreditNoteListParams(ListParams):
    invoice: Id | None = None
    customer: Id | None = None


class CreditNoteLinesParams(Params):
    limit: int = Field(default=LIMIT_DEFAULT, ge=1, le=LIMIT_MAX)
    starting_after: Id | None = None
    ending_before: Id | None = None
    expand: Expand


class CreditNoteLineItem(BaseModel):
    id: str
    object: Literal["credit_note_line_item"]
    amount: int
    description: str | None
    discount_amount: int
    discount_amounts: list[dict[str, Any]]
    invoice_line_item: str | None
    livemode: bool
    metadata: dict[str, str]
    pretax_credit_amounts: list[dict[str, Any]]
    quantity: int | None
    tax_rates: list[dict[str, Any]]
    taxes: list[dict[str, Any]]
    type: str
    unit_amount: int | None
    unit_amount_decimal: str | None
    gst: dict[str, int] = Field(description="Our extension: the line's CGST, SGST and IGST.")


class CreditNoteLines(BaseModel):
    object: Literal["list"]
    data: list[CreditNoteLineItem]
    has_more: bool
    total_count: int
    url: str


class CreditNote(BaseModel):
    id: str
    object: Literal["credit_note"]
    amount: int
    amount_shipping: int
    created: int
    currency: str
    customer: str
    customer_balance_transaction: str | None
    discount_amount: int
    discount_amounts: list[dict[str, Any]]
    effective_at: int | None
    invoice: str
    lines: CreditNoteLines
    livemode: bool
    memo: str | None
    metadata: dict[str, str]
    number: str
    out_of_band_amount: int | None
    pdf: str | None
    post_payment_amount: int
    pre_payment_amount: int
    pretax_credit_amounts: list[dict[str, Any]]
    reason: str | None
    refunds: list[dict[str, Any]]
    shipping_cost: dict[str, Any] | None
    status: str
    subtotal: int
    subtotal_excluding_tax: int | None
    total: int
    total_excluding_tax: int | None
    total_taxes: list[dict[str, Any]]
    type: str
    voided_at: int | None
    gst: dict[str, Any] | None = Field(
        description="Our extension: the GST facts of the invoice credited and the CGST, SGST"
        " and IGST reversed; null when the invoice charged no GST."
    )


def _unix(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def tax_object(tax: TaxAmount) -> dict[str, Any]:
    """Stripe's ``taxes`` item (a line's and ``total_taxes``)."""
    return {
        "amount": tax.amount,
        "tax_behavior": "inclusive" if tax.inclusive else "exclusive",
        "tax_rate_details": {"tax_rate": tax.tax_rate},
        "taxability_reason": tax.taxability_reason,
        "taxable_amount": tax.taxable_amount,
        "type": "tax_rate_details",
    }


def _gst_parts(taxes: tuple[TaxAmount, ...]) -> dict[str, int]:
    return {
        "cgst": sum(tax.cgst for tax in taxes),
        "sgst": sum(tax.sgst for tax in taxes),
        "igst": sum(tax.igst for tax in taxes),
    }


def line_taxes(row: CreditNoteLineRow) -> tuple[TaxAmount, ...]:
    return tuple(TaxAmount.of_stored(tax) for tax in row.taxes.get("taxes", []))


def line_object(row: CreditNoteLineRow, livemode: bool) -> dict[str, Any]:
    taxes = line_taxes(row)
    discount = int(row.taxes.get("discount", 0))
    return {
        "id": row.id,
        "object": "credit_note_line_item",
        "amount": row.amount,
        "description": row.description,
        "discount_amount": discount,
        "discount_amounts": [],
        "invoice_line_item": row.invoice_line_item,
        "livemode": livemode,
        "metadata": {},
        "pretax_credit_amounts": [],
        "quantity": row.quantity,
        "tax_rates": [],
        "taxes": [tax_object(tax) for tax in taxes],
        "type": row.type,
        "unit_amount": row.unit_amount,
        "unit_amount_decimal": None if row.unit_amount is None else str(row.unit_amount),
        "gst": _gst_parts(taxes),
    }


@dataclass(frozen=True, slots=True)
class CreditNoteView:
    """What a credit note object shows beside its row: its first lines and their taxes."""

    lines: list[CreditNoteLineRow]
    lines_has_more: bool
    lines_count: int
    taxes: tuple[TaxAmount, ...]
    discount: int
    pdf: str | None = None


def credit_note_object(note: CreditNoteRow, view: CreditNoteView) -> dict[str, Any]:
    all_taxes = sum(tax.amount for tax in view.taxes)
    inclusive = sum(tax.amount for tax in view.taxes if tax.inclusive)
    pre_payment = note.type == "pre_payment"
    refunds = (
        [{"amount_refunded": note.refund_amount, "refund": note.refund_id}]
        if note.refund_id is not None
        else []
    )
    return {
        "id": note.id,
        "object": "credit_note",
        "amount": note.total,
        "amount_shipping": 0,
        "created": _unix(note.created_at),
        "currency": note.currency,
        "customer": note.customer_id,
        "customer_balance_transaction": note.customer_balance_transaction_id,
        "discount_amount": view.discount,
        "discount_amounts": [],
        "effective_at": _unix(note.effective_at),
        "invoice": note.invoice_id,
        "lines": {
            "object": "list",
            "data": [line_object(line, note.livemode) for line in view.lines],
            "has_more": view.lines_has_more,
            "total_count": view.lines_count,
            "url": f"/v1/credit_notes/{note.id}/lines",
        },
        "livemode": note.livemode,
        "memo": note.memo,
        "metadata": note.metadata_,
        "number": note.number,
        "out_of_band_amount": note.out_of_band_amount or None,
        "pdf": view.pdf,
        "post_payment_amount": 0 if pre_payment else note.total,
        "pre_payment_amount": note.total if pre_payment else 0,
        "pretax_credit_amounts": [],
        "reason": note.reason,
        "refunds": refunds,
        "shipping_cost": None,
        "status": note.status,
        "subtotal": note.subtotal,
        "subtotal_excluding_tax": note.subtotal - inclusive,
        "total": note.total,
        "total_excluding_tax": note.total - all_taxes,
        "total_taxes": [tax_object(tax) for tax in view.taxes],
        "type": note.type,
        "voided_at": _unix(note.voided_at),
        "gst": None if note.gst is None else {**note.gst, **_gst_parts(view.taxes)},
    }
