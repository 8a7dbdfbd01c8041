"""Credit notes' pure rules: what each line credits, its share of the invoice line's discount
and taxes (GST reversed in proportion), the credit note's totals, and how its total is settled.

**Shares that sum exactly.** A line crediting ``x`` of an invoice line of amount ``A`` that
already had ``c`` credited takes, of each of the line's figures ``F`` (a discount, a tax, its
CGST, its IGST), ``floor(F·(c+x)/A) - floor(F·c/A)``: the shares of every credit note of one
line add up to ``floor(F·(c_total)/A)``, which is ``F`` exactly once the whole line is credited,
however it was cut. SGST is the tax's share less its CGST and IGST shares, so each share keeps
the invoice's split (CGST + SGST within a state, IGST across states) and sums to the tax.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from beyondpay.billing.invoices.domain import TaxAmount, invoice_taxes
from beyondpay.kit.invariants import invariant

LINES_PER_CREDIT_NOTE_MAX: Final = 100
NUMBER_PREFIX: Final = "CN"


class Status(StrEnum):
    issued = "issued"
    void = "void"


class Kind(StrEnum):
    """Stripe's ``type``: issued before the invoice was paid (it lowers what is due) or
    after (its money goes back by refund, credit or out of band)."""

    pre_payment = "pre_payment"
    post_payment = "post_payment"


class LineType(StrEnum):
    invoice_line_item = "invoice_line_item"
    custom_line_item = "custom_line_item"


class CreditNoteInputError(ValueError):
    """A credit note the invoice cannot take, naming the parameter."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """An invoice line as a credit note credits it: its figures and what is credited so far."""

    line_id: str
    amount: int
    quantity: int
    unit_amount: int
    description: str | None
    discount: int
    taxes: tuple[TaxAmount, ...]
    credited: int  # of ``amount``, by the invoice's credit notes not voided


@dataclass(frozen=True, slots=True)
class AskedLine:
    type: LineType
    param: str  # "lines[0]"
    invoice_line_item: str | None = None
    quantity: int | None = None
    amount: int | None = None
    unit_amount: int | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class CreditLine:
    type: LineType
    invoice_line_item: str | None
    description: str | None
    quantity: int | None
    unit_amount: int | None
    amount: int
    discount: int
    taxes: tuple[TaxAmount, ...]

    @property
    def total(self) -> int:
        exclusive = sum(tax.amount for tax in self.taxes if not tax.inclusive)
        return self.amount - self.discount + exclusive


def share(figure: int, before: int, credited: int, base: int) -> int:
    """The share of ``figure`` that crediting ``credited`` more of ``base`` (``before`` already
    credited) takes: the difference of two floors, so shares sum exactly."""
    invariant(before >= 0 and before + credited <= base and base > 0, "within the line")
    return figure * (before + credited) // base - figure * before // base


def _tax_share(tax: TaxAmount, before: int, credited: int, base: int) -> TaxAmount:
    amount = share(tax.amount, before, credited, base)
    cgst = share(tax.cgst, before, credited, base)
    igst = share(tax.igst, before, credited, base)
    sgst = amount - cgst - igst if tax.cgst or tax.sgst or tax.igst else 0
    return TaxAmount(
        amount=amount,
        tax_rate=tax.tax_rate,
        taxable_amount=share(tax.taxable_amount, before, credited, base),
        inclusive=tax.inclusive,
        taxability_reason=tax.taxability_reason,
        cgst=cgst,
        sgst=sgst,
        igst=igst,
    )


def credit_of_line(line: InvoiceLine, amount: int, before: int) -> CreditLine:
    """``amount`` more of ``line`` credited, ``before`` of it credited already."""
    invariant(amount > 0 and before + amount <= line.amount, "a line credits what it has left")
    return CreditLine(
        type=LineType.invoice_line_item,
        invoice_line_item=line.line_id,
        description=line.description,
        quantity=None,
        unit_amount=None,
        amount=amount,
        discount=share(line.discount, before, amount, line.amount),
        taxes=tuple(_tax_share(tax, before, amount, line.amount) for tax in line.taxes),
    )


def _invoice_line(
    asked: AskedLine, by_id: Mapping[str, InvoiceLine], before: Mapping[str, int]
) -> CreditLine:
    if asked.invoice_line_item is None:
        raise CreditNoteInputError(
            "A line of type invoice_line_item names the invoice line it credits.",
            f"{asked.param}[invoice_line_item]",
        )
    line = by_id.get(asked.invoice_line_item)
    if line is None:
        raise CreditNoteInputError(
            f"The invoice has no line {asked.invoice_line_item}.",
            f"{asked.param}[invoice_line_item]",
        )
    if (asked.quantity is None) == (asked.amount is None):
        raise CreditNoteInputError(
            "A line of type invoice_line_item takes exactly one of quantity or amount.",
            f"{asked.param}[amount]" if asked.amount is not None else f"{asked.param}[quantity]",
        )
    if asked.quantity is not None:
        if asked.quantity > line.quantity:
            raise CreditNoteInputError(
                f"The invoice line has a quantity of {line.quantity}: {asked.quantity} cannot be"
                " credited.",
                f"{asked.param}[quantity]",
            )
        amount, param = line.unit_amount * asked.quantity, f"{asked.param}[quantity]"
    else:
        amount, param = int(asked.amount or 0), f"{asked.param}[amount]"
    credited = before.get(line.line_id, line.credited)
    if amount <= 0 or credited + amount > line.amount:
        raise CreditNoteInputError(
            f"The invoice line {line.line_id} has {line.amount - credited} left to credit:"
            f" {amount} is more than that.",
            param,
        )
    credit = credit_of_line(line, amount, credited)
    if asked.quantity is not None:
        credit = CreditLine(
            type=credit.type,
            invoice_line_item=credit.invoice_line_item,
            description=credit.description,
            quantity=asked.quantity,
            unit_amount=line.unit_amount,
            amount=credit.amount,
            discount=credit.discount,
            taxes=credit.taxes,
        )
    return credit


def _custom_line(asked: AskedLine) -> CreditLine:
    if asked.unit_amount is None or asked.unit_amount <= 0:
        raise CreditNoteInputError(
            "A line of type custom_line_item needs a positive unit_amount.",
            f"{asked.param}[unit_amount]",
        )
    if not asked.description:
        raise CreditNoteInputError(
            "A line of type custom_line_item needs a description.", f"{asked.param}[description]"
        )
    quantity = 1 if asked.quantity is None else asked.quantity
    return CreditLine(
        type=LineType.custom_line_item,
        invoice_line_item=None,
        description=asked.description,
        quantity=quantity,
        unit_amount=asked.unit_amount,
        amount=asked.unit_amount * quantity,
        discount=0,
        taxes=(),
    )


def credit_lines(
    invoice_lines: Sequence[InvoiceLine], asked: Sequence[AskedLine]
) -> list[CreditLine]:
    """The credit note's lines: each invoice line's share taken in order (one line named twice
    credits its rest twice over, never more than it has)."""
    by_id = {line.line_id: line for line in invoice_lines}
    before: dict[str, int] = {}
    made: list[CreditLine] = []
    for each in asked:
        if each.type == LineType.custom_line_item:
            made.append(_custom_line(each))
            continue
        credit = _invoice_line(each, by_id, before)
        line_id = str(credit.invoice_line_item)
        before[line_id] = before.get(line_id, by_id[line_id].credited) + credit.amount
        made.append(credit)
    return made


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal: int
    discount: int
    taxes: tuple[TaxAmount, ...]
    total: int

    @property
    def total_excluding_tax(self) -> int:
        return self.total - sum(tax.amount for tax in self.taxes)


def totals(lines: Sequence[CreditLine], amount: int | None) -> Totals:
    """The credit note's figures: its lines', or (no lines) the ``amount`` asked, untaxed."""
    if not lines:
        invariant(amount is not None and amount > 0, "a credit note without lines has an amount")
        assert amount is not None
        return Totals(subtotal=amount, discount=0, taxes=(), total=amount)
    taxes = invoice_taxes([line.taxes for line in lines])
    return Totals(
        subtotal=sum(line.amount for line in lines),
        discount=sum(line.discount for line in lines),
        taxes=taxes,
        total=sum(line.total for line in lines),
    )


@dataclass(frozen=True, slots=True)
class Settlement:
    """Where a post-payment credit note's total goes."""

    refund: int
    credit: int
    out_of_band: int


def settlement(
    kind: Kind, total: int, refund: int | None, credit: int | None, out_of_band: int | None
) -> Settlement:
    """Stripe's rule: after payment, refund + credit + out of band is the total (what is not
    named goes to the customer's balance, our default where Stripe's reference is silent);
    before payment the total lowers what is due, and nothing else may be named."""
    if kind == Kind.pre_payment:
        for name, value in (
            ("refund_amount", refund),
            ("credit_amount", credit),
            ("out_of_band_amount", out_of_band),
        ):
            if value:
                raise CreditNoteInputError(
                    f"{name} is only for a credit note of a paid invoice: one of an open invoice"
                    " lowers its amount_due.",
                    name,
                )
        return Settlement(0, 0, 0)
    named = (refund or 0) + (credit or 0) + (out_of_band or 0)
    if credit is None and named <= total:
        credit = total - named
        named = total
    if named != total:
        raise CreditNoteInputError(
            f"The sum of refund_amount, credit_amount and out_of_band_amount ({named}) must"
            f" equal the credit note's total ({total}).",
            "refund_amount" if refund else "credit_amount" if credit else "out_of_band_amount",
        )
    return Settlement(refund or 0, credit or 0, out_of_band or 0)


def credited_by_line(
    lines: Sequence[tuple[str | None, int]],
) -> dict[str, int]:
    """How much of each invoice line the given credit note lines credit."""
    credited: dict[str, int] = {}
    for line_id, amount in lines:
        if line_id is not None:
            credited[line_id] = credited.get(line_id, 0) + amount
    return credited
