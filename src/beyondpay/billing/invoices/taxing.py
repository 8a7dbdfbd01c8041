"""An invoice's tax, through billing/tax: the tax rates applied (checked, and kept as Stripe's
objects as they were when applied), the GST facts of a draft (the merchant's GSTIN, the
customer's, the place of supply), and each line's taxes from them. Never commits.

A draft's GST facts are read again whenever its lines or tax settings change, and once more at
finalization; from then on they are the invoice's and never change (a GST tax invoice states
the recipient's GSTIN and the place of supply as they were when it was issued).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.invoices.domain import GstPlace, RateTerms, TaxAmount, line_taxes
from beyondpay.billing.invoices.models import InvoiceItemRow, InvoiceRow
from beyondpay.billing.tax.domain import GST_TAX_TYPES
from beyondpay.billing.tax.schemas import tax_rate_object
from beyondpay.billing.tax.service import InvoiceGst, invoice_gst, supplier_gst, tax_rate_service
from beyondpay.kit.errors import InvalidRequestError
from beyondpay.merchants.domain import Caller

# Percentages are rendered as floats of basis points / 100; this turns them back, exactly.
_BASIS_POINTS_PER_PERCENT = 100


async def rate_objects(
    session: AsyncSession, caller: Caller, ids: Sequence[str], *, param: str
) -> list[dict[str, Any]]:
    """The caller's active tax rates ``ids`` as the invoice keeps them (Stripe's objects); a
    404 or a 400 naming ``param``."""
    rows = await tax_rate_service.get_many(session, caller, ids, param=param)
    return [tax_rate_object(row) for row in rows]


async def account_tax_id(
    session: AsyncSession, caller: Caller, ids: Sequence[str], *, param: str = "account_tax_ids"
) -> str | None:
    """The merchant's GSTIN an invoice is issued under: at most one, an ``in_gst`` tax id of the
    merchant's own (a GST tax invoice names one supplier registration)."""
    if len(ids) > 1:
        raise InvalidRequestError(
            "An invoice is issued under one GSTIN: pass at most one of your in_gst tax ids.",
            param=param,
        )
    if not ids:
        return None
    await supplier_gst(session, caller, tax_id=ids[0], param=param)
    return ids[0]


def gst_object(gst: InvoiceGst | None) -> dict[str, Any] | None:
    if gst is None:
        return None
    return {
        "supplier_gstin": gst.supplier_gstin,
        "supplier_state": gst.supplier_state,
        "customer_gstin": gst.customer_gstin,
        "place_of_supply": gst.place_of_supply,
        "place_of_supply_basis": str(gst.basis),
        "supply_type": str(gst.kind),
    }


async def gst_facts(
    session: AsyncSession, caller: Caller, invoice: InvoiceRow
) -> dict[str, Any] | None:
    """The draft's GST facts as they stand now (None: the merchant has no GSTIN)."""
    return gst_object(
        await invoice_gst(
            session, caller, invoice.customer_id, account_tax_id=invoice.account_tax_id
        )
    )


def _terms(rate: dict[str, Any]) -> RateTerms:
    return RateTerms(
        tax_rate=str(rate["id"]),
        rate_basis_points=round(float(rate["percentage"]) * _BASIS_POINTS_PER_PERCENT),
        inclusive=bool(rate["inclusive"]),
        gst=rate.get("tax_type") in GST_TAX_TYPES,
    )


def taxes_of_line(
    line: InvoiceItemRow, invoice: InvoiceRow, taxable_base: int
) -> tuple[TaxAmount, ...]:
    """The line's taxes on ``taxable_base``: its own rates, or else the invoice's defaults
    (Stripe's rule), split by the invoice's GST facts."""
    rates = line.tax_rates or invoice.default_tax_rates
    place = (
        GstPlace(invoice.gst["supplier_state"], invoice.gst["place_of_supply"])
        if invoice.gst is not None
        else None
    )
    return line_taxes(
        taxable_base,
        [_terms(rate) for rate in rates],
        place,
        price_inclusive=line.tax_behavior == "inclusive",
    )


async def upcoming_taxes(
    session: AsyncSession,
    caller: Caller,
    customer_id: str,
    lines: Sequence[tuple[int, Sequence[dict[str, Any]], bool]],
) -> list[tuple[TaxAmount, ...]]:
    """The taxes of lines not invoiced yet, each ``(amount, tax rates, price inclusive)``, as
    an invoice to the customer issued now would have them (the GST facts read as a draft's are):
    what an upcoming invoice announces is what its invoice will charge."""
    gst = await invoice_gst(session, caller, customer_id, account_tax_id=None)
    place = None if gst is None else GstPlace(gst.supplier_state, gst.place_of_supply)
    return [
        line_taxes(amount, [_terms(rate) for rate in rates], place, price_inclusive=inclusive)
        for amount, rates, inclusive in lines
    ]


def stored_taxes(line: InvoiceItemRow) -> tuple[TaxAmount, ...]:
    return tuple(TaxAmount.of_stored(tax) for tax in line.taxes)
