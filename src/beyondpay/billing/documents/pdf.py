"""An ``InvoiceDocument`` as a PDF, laid out as an Indian GST tax invoice (or credit note), with
fpdf2.

The font is shipped in ``fonts/`` (DejaVu Sans Condensed, with its licence): the rupee sign
(U+20B9) is in no PDF base font, and a render must need neither the network nor a system font.
fpdf2 embeds the subset of glyphs the document uses, so a one-page invoice is some 30 kB.

The output is deterministic: the same document gives the same bytes (the creation date is the
issue date, and fpdf2 names font subsets and derives the file id from the content), so a test
compares digests and a PDF rebuilt for an email is the PDF the invoice showed. Rendering is CPU
work of about a tenth of a second, with no I/O: an async caller runs it in a thread
(``render_pdf_async``).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from importlib.resources import as_file, files
from typing import Final

from fpdf import FPDF, FontFace
from fpdf.enums import Align, TableBordersLayout, XPos, YPos

from beyondpay.billing.documents.domain import (
    DocumentKind,
    DocumentLine,
    InvoiceDocument,
    Party,
    TaxCharge,
    date_text,
)

__all__ = ["render_pdf", "render_pdf_async"]

FONT_FAMILY: Final = "DejaVuSansCondensed"
_FONT_FILES: Final = {"": "DejaVuSansCondensed.ttf", "B": "DejaVuSansCondensed-Bold.ttf"}

# A4 portrait, in millimetres.
PAGE_MARGIN_MM: Final = 12.0
PAGE_WIDTH_MM: Final = 210.0
CONTENT_WIDTH_MM: Final = PAGE_WIDTH_MM - 2 * PAGE_MARGIN_MM
# Supplier on the left, the document's particulars on the right.
PARTICULARS_WIDTH_MM: Final = 72.0
PARTY_WIDTH_MM: Final = CONTENT_WIDTH_MM - PARTICULARS_WIDTH_MM - 6.0
TOTALS_WIDTH_MM: Final = 86.0
SIGNATURE_SPACE_MM: Final = 14.0
SIGNATURE_WIDTH_MM: Final = 56.0
LINE_MM: Final = 4.6
TOTALS_ROW_MM: Final = LINE_MM + 1.6  # a line and its padding

TITLE_PT: Final = 15
NAME_PT: Final = 10.5
TEXT_PT: Final = 8.5
TABLE_PT: Final = 7.5
SMALL_PT: Final = 7

# An empty figure in the line table (no discount, no tax): an en dash, as printed tables do.
NOTHING: Final = "\N{EN DASH}"
GREY_FILL: Final = (236, 238, 241)
MUTED_TEXT: Final = (90, 90, 90)

# Column widths (mm) of the line table; they add up to CONTENT_WIDTH_MM.
_INTRA_COLUMNS: Final = (
    ("#", 7.0, Align.C),
    ("Description", 41.0, Align.L),
    ("HSN/SAC", 15.0, Align.C),
    ("Qty", 10.0, Align.R),
    ("Unit price", 19.0, Align.R),
    ("Discount", 17.0, Align.R),
    ("Taxable value", 21.0, Align.R),
    ("CGST", 18.0, Align.R),
    ("SGST", 18.0, Align.R),
    ("Amount", 20.0, Align.R),
)
_INTER_COLUMNS: Final = (
    ("#", 7.0, Align.C),
    ("Description", 56.0, Align.L),
    ("HSN/SAC", 15.0, Align.C),
    ("Qty", 10.0, Align.R),
    ("Unit price", 20.0, Align.R),
    ("Discount", 17.0, Align.R),
    ("Taxable value", 21.0, Align.R),
    ("IGST", 20.0, Align.R),
    ("Amount", 20.0, Align.R),
)


class _DocumentPdf(FPDF):
    """The page frame: the footer names the document and counts its pages."""

    def __init__(self, document: InvoiceDocument) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.document = document

    def footer(self) -> None:
        self.set_y(-PAGE_MARGIN_MM)
        self.set_font(FONT_FAMILY, "", SMALL_PT)
        self.set_text_color(*MUTED_TEXT)
        label = f"{self.document.title()} {self.document.number}"
        self.cell(0, 4, f"{label} · Page {self.page_no()} of {{nb}}", align=Align.C)
        self.set_text_color(0, 0, 0)


def _new_pdf(document: InvoiceDocument) -> _DocumentPdf:
    pdf = _DocumentPdf(document)
    package = files("beyondpay.billing.documents") / "fonts"
    for style, name in _FONT_FILES.items():
        with as_file(package / name) as path:
            pdf.add_font(FONT_FAMILY, style, str(path))
    pdf.set_margins(PAGE_MARGIN_MM, PAGE_MARGIN_MM, PAGE_MARGIN_MM)
    pdf.set_auto_page_break(auto=True, margin=PAGE_MARGIN_MM + 6)
    # Fixed metadata: the same document renders to the same bytes.
    pdf.set_creation_date(datetime.combine(document.issue_date, time(), tzinfo=UTC))
    pdf.set_title(f"{document.title()} {document.number}")
    pdf.set_author(document.supplier.name)
    pdf.set_creator("beyondpay")
    pdf.set_lang("en-IN")
    return pdf


def _text(pdf: FPDF, text: str, *, size: float = TEXT_PT, bold: bool = False, w: float = 0) -> None:
    pdf.set_font(FONT_FAMILY, "B" if bold else "", size)
    pdf.multi_cell(w, LINE_MM, text, align=Align.L, new_x=XPos.LEFT, new_y=YPos.NEXT)


def _title(pdf: FPDF, document: InvoiceDocument) -> None:
    pdf.set_font(FONT_FAMILY, "B", TITLE_PT)
    pdf.cell(0, 8, document.title(), align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT_FAMILY, "", SMALL_PT)
    pdf.set_text_color(*MUTED_TEXT)
    pdf.cell(0, 4, "Original for recipient", align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(2)


def _party_lines(party: Party) -> list[str]:
    lines = list(party.address_lines)
    if party.state is not None:
        lines.append(f"State: {party.state.label()}")
    lines.append(f"GSTIN: {party.gstin}" if party.gstin else "GSTIN: Unregistered")
    return lines


def _party(pdf: FPDF, heading: str | None, party: Party, width: float) -> None:
    if heading is not None:
        pdf.set_text_color(*MUTED_TEXT)
        _text(pdf, heading, size=SMALL_PT, w=width)
        pdf.set_text_color(0, 0, 0)
    _text(pdf, party.name, size=NAME_PT, bold=True, w=width)
    _text(pdf, "\n".join(_party_lines(party)), w=width)


def _particulars(document: InvoiceDocument) -> list[tuple[str, str]]:
    noun = "Invoice" if document.kind == DocumentKind.invoice else "Credit note"
    rows = [(f"{noun} number", document.number), (f"{noun} date", date_text(document.issue_date))]
    if document.due_date is not None:
        rows.append(("Due date", date_text(document.due_date)))
    rows.append(("Financial year", document.financial_year))
    rows.append(("Place of supply", document.place_of_supply.label()))
    if document.credit_note is not None:
        reference = document.credit_note
        rows.append(("Original invoice", reference.invoice_number))
        rows.append(("Original invoice date", date_text(reference.invoice_date)))
    return rows


def _header(pdf: FPDF, document: InvoiceDocument) -> None:
    top = pdf.get_y()
    _party(pdf, None, document.supplier, PARTY_WIDTH_MM)
    left_bottom = pdf.get_y()
    right = PAGE_MARGIN_MM + CONTENT_WIDTH_MM - PARTICULARS_WIDTH_MM
    pdf.set_xy(right, top)
    with pdf.table(
        width=PARTICULARS_WIDTH_MM,
        col_widths=(32, 40),
        align=Align.R,
        first_row_as_headings=False,
        borders_layout=TableBordersLayout.NONE,
        line_height=LINE_MM,
        padding=(0.4, 0),
        text_align=(Align.L, Align.R),
    ) as table:
        pdf.set_font(FONT_FAMILY, "", TEXT_PT)
        for label, value in _particulars(document):
            row = table.row()
            row.cell(label, style=FontFace(color=MUTED_TEXT))
            row.cell(value, style=FontFace(emphasis="BOLD"))
    pdf.set_xy(PAGE_MARGIN_MM, max(left_bottom, pdf.get_y()) + 3)
    heading = "Billed to" if document.kind == DocumentKind.invoice else "Credited to"
    _party(pdf, heading, document.recipient, CONTENT_WIDTH_MM)
    pdf.ln(1)
    charge = "Yes" if document.reverse_charge else "No"
    _text(pdf, f"Tax is payable on reverse charge: {charge}")
    if document.credit_note is not None:
        _text(pdf, f"Reason: {document.credit_note.reason}")
    pdf.ln(2)


def _tax_cell(document: InvoiceDocument, tax: TaxCharge | None) -> str:
    if tax is None:
        return NOTHING
    return f"{tax.rate_text()}\n{document.money(tax.amount).format(symbol=False)}"


def _line_cells(document: InvoiceDocument, index: int, line: DocumentLine) -> list[str]:
    def figure(amount: int) -> str:
        return document.money(amount).format(symbol=False)

    cells = [
        str(index),
        line.description,
        line.hsn_sac or "",
        str(line.quantity),
        figure(line.unit_amount),
        figure(line.discount) if line.discount else NOTHING,
        figure(line.taxable_amount),
    ]
    if document.intra_state:
        cells += [_tax_cell(document, line.cgst), _tax_cell(document, line.sgst)]
    else:
        cells.append(_tax_cell(document, line.igst))
    return [*cells, figure(line.total)]


def _lines(pdf: FPDF, document: InvoiceDocument) -> None:
    columns = _INTRA_COLUMNS if document.intra_state else _INTER_COLUMNS
    currency = document.money(0).currency_symbol()
    pdf.set_text_color(*MUTED_TEXT)
    _text(pdf, f"Amounts in {currency}", size=SMALL_PT)
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(FONT_FAMILY, "", TABLE_PT)
    with pdf.table(
        width=CONTENT_WIDTH_MM,
        col_widths=tuple(width for _, width, _ in columns),
        text_align=tuple(align for _, _, align in columns),
        headings_style=FontFace(emphasis="BOLD", fill_color=GREY_FILL),
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        line_height=LINE_MM - 0.6,
        padding=(1.0, 1.0),
        repeat_headings=1,
        v_align="TOP",
    ) as table:
        headings = table.row()
        for heading, _, _ in columns:
            headings.cell(heading)
        for index, line in enumerate(document.lines, start=1):
            row = table.row()
            for text in _line_cells(document, index, line):
                row.cell(text)
    pdf.ln(3)


def _totals_rows(document: InvoiceDocument) -> list[tuple[str, int, bool]]:
    rows: list[tuple[str, int, bool]] = [("Subtotal", document.subtotal, False)]
    if document.discount:
        rows.append(("Discount", -document.discount, False))
    rows.append(("Taxable value", document.taxable_amount, False))
    if document.intra_state:
        rows += [("CGST", document.cgst, False), ("SGST", document.sgst, False)]
    else:
        rows.append(("IGST", document.igst, False))
    if document.credit_note is not None:
        rows.append(("Total credit", document.total, True))
        if document.credit_note.refund_amount:
            rows.append(("Refunded", document.credit_note.refund_amount, False))
        if document.credit_note.credit_amount:
            rows.append(("Credited to balance", document.credit_note.credit_amount, False))
        return rows
    rows.append(("Total", document.total, True))
    if document.balance_applied:
        rows.append(("Applied balance", -document.balance_applied, False))
    rows.append(("Amount paid", document.amount_paid, False))
    rows.append(("Amount due", document.amount_due, True))
    return rows


def _keep_together(pdf: FPDF, height_mm: float) -> None:
    """Starts a new page unless ``height_mm`` fits on this one."""
    if pdf.get_y() + height_mm > pdf.page_break_trigger:
        pdf.add_page()


def _totals(pdf: FPDF, document: InvoiceDocument) -> None:
    rows = _totals_rows(document)
    _keep_together(pdf, len(rows) * TOTALS_ROW_MM)
    pdf.set_font(FONT_FAMILY, "", TEXT_PT)
    with pdf.table(
        width=TOTALS_WIDTH_MM,
        col_widths=(46, 40),
        align=Align.R,
        first_row_as_headings=False,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        line_height=LINE_MM,
        padding=(0.8, 1.0),
        text_align=(Align.L, Align.R),
    ) as table:
        for label, amount, strong in rows:
            style = FontFace(emphasis="BOLD", fill_color=GREY_FILL) if strong else None
            row = table.row(style=style)
            row.cell(label)
            row.cell(document.money(amount).format())
    pdf.ln(3)


def _closing(pdf: FPDF, document: InvoiceDocument) -> None:
    words = document.amount_in_words
    if words is not None:
        _keep_together(pdf, 3 * LINE_MM)
        label = "Total credit in words" if document.credit_note else "Amount in words"
        _text(pdf, label, size=SMALL_PT)
        _text(pdf, words, bold=True)
        pdf.ln(2)
    for note in (document.notes, document.footer):
        if note is not None:
            _text(pdf, note)
            pdf.ln(1)
    # The signature block stays on one page.
    _keep_together(pdf, SIGNATURE_SPACE_MM + 4 * LINE_MM)
    pdf.ln(3)
    left = PAGE_MARGIN_MM + CONTENT_WIDTH_MM - TOTALS_WIDTH_MM
    pdf.set_x(left)
    pdf.set_font(FONT_FAMILY, "B", TEXT_PT)
    pdf.multi_cell(TOTALS_WIDTH_MM, LINE_MM, f"For {document.supplier.name}", align=Align.R)
    pdf.ln(SIGNATURE_SPACE_MM)
    pdf.set_x(PAGE_MARGIN_MM + CONTENT_WIDTH_MM - SIGNATURE_WIDTH_MM)
    pdf.set_font(FONT_FAMILY, "", TEXT_PT)
    pdf.cell(SIGNATURE_WIDTH_MM, LINE_MM, "Authorised signatory", align=Align.R, border="T")


def render_pdf(document: InvoiceDocument) -> bytes:
    """The document as PDF bytes; the same document always gives the same bytes."""
    pdf = _new_pdf(document)
    pdf.add_page()
    _title(pdf, document)
    _header(pdf, document)
    _lines(pdf, document)
    _totals(pdf, document)
    _closing(pdf, document)
    return bytes(pdf.output())


async def render_pdf_async(document: InvoiceDocument) -> bytes:
    """``render_pdf`` in a worker thread, so the event loop is not held by the CPU work."""
    return await asyncio.to_thread(render_pdf, document)
