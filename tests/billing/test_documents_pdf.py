"""The invoice PDF read back as a person and a GST officer would: rendered to PNG with poppler's
``pdftoppm`` (a page that is not blank, at A4's proportions) and to text with ``pdftotext`` —
the rupee sign, Indian digit grouping, both GSTINs, CGST + SGST within a state and IGST across,
the amount in words, the signatory — with the font embedded (no system font needed), the same
bytes for the same document, and the totals and signature never split across pages.

Without poppler (``apt-get install poppler-utils``) the tests that need it are skipped, saying
so; with ``CI=true`` they fail instead. The PNGs are kept in the test's temporary directory.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Final

import pytest
from PIL import Image

from beyondpay.billing.documents.domain import InvoiceDocument
from beyondpay.billing.documents.pdf import render_pdf, render_pdf_async
from tests.billing.documents_samples import (
    BENGALURU_GSTIN,
    CREDIT_NOTE_WORDS,
    PUNE_GSTIN,
    SUPPLIER_GSTIN,
    TOTAL_WORDS,
    credit_note,
    invoice,
)

POPPLER_TOOLS: Final = ("pdftoppm", "pdftotext", "pdffonts", "pdfinfo")
RESOLUTION_DPI: Final = 100
# A4 at 100 dpi: 8.27 by 11.69 inches.
A4_PX: Final = (827, 1170)  # pdftoppm rounds 1169.3 up
TOOL_TIMEOUT_S: Final = 30


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="module")
def poppler() -> None:
    missing = [tool for tool in POPPLER_TOOLS if shutil.which(tool) is None]
    if missing:
        reason = f"no {', '.join(missing)}: apt-get install -y poppler-utils"
        if _in_ci():
            pytest.fail(f"{reason} (CI=true: the PDF test must run)")
        pytest.skip(reason)


def _run(*command: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(
        command, input=stdin, capture_output=True, check=True, timeout=TOOL_TIMEOUT_S
    )
    return done.stdout.decode()


def _pdf_text(pdf: bytes) -> str:
    """The text, in reading order with the layout kept (columns stay on one line)."""
    return _run("pdftotext", "-layout", "-enc", "UTF-8", "-", "-", stdin=pdf)


def _pages(pdf: bytes) -> list[str]:
    return _run("pdftotext", "-enc", "UTF-8", "-", "-", stdin=pdf).split("\f")[:-1]


def _png_pages(pdf: bytes, directory: Path, name: str) -> list[Path]:
    source = directory / f"{name}.pdf"
    source.write_bytes(pdf)
    _run("pdftoppm", "-png", "-r", str(RESOLUTION_DPI), str(source), str(directory / name))
    return sorted(directory.glob(f"{name}-*.png"))


def _check_page_image(path: Path) -> None:
    with Image.open(path) as image:
        assert image.size == A4_PX, image.size
        grey = image.convert("L")
        dark = sum(grey.histogram()[:128])
        # Text and rules cover a few per cent of an invoice page; a blank page has none.
        assert dark > 0.005 * A4_PX[0] * A4_PX[1], dark


def test_an_intra_state_invoice_reads_back(poppler: None, tmp_path: Path) -> None:
    pdf = render_pdf(invoice())
    [page] = _png_pages(pdf, tmp_path, "intra")
    _check_page_image(page)
    text = _pdf_text(pdf)
    for expected in (
        "Tax Invoice",
        "Original for recipient",
        "ASHA/25-26/0042",
        "1 May 2025",
        "31 May 2025",
        "2025-26",
        f"GSTIN: {SUPPLIER_GSTIN}",
        f"GSTIN: {PUNE_GSTIN}",
        "Place of supply",
        "Maharashtra (27)",
        "Tax is payable on reverse charge: No",
        "HSN/SAC",
        "52081190",
        "₹1,49,950.00",
        "1,00,000.00",
        "₹1,31,950.00",
        "Amounts in ₹",
        TOTAL_WORDS,
        "For Asha Textiles Private Limited",
        "Authorised signatory",
        "Page 1 of 1",
    ):
        assert expected in text, expected
    assert "CGST" in text and "SGST" in text and "IGST" not in text
    # The tax columns show each rate beside its amount.
    assert text.count("9%") == 2 and text.count("9,000.00") >= 4


def test_an_inter_state_invoice_charges_igst(poppler: None, tmp_path: Path) -> None:
    pdf = render_pdf(invoice(intra_state=False))
    [page] = _png_pages(pdf, tmp_path, "inter")
    _check_page_image(page)
    text = _pdf_text(pdf)
    assert "IGST" in text and "CGST" not in text and "SGST" not in text
    assert f"GSTIN: {BENGALURU_GSTIN}" in text and "Karnataka (29)" in text
    assert "18%" in text and "₹18,000.00" in text and "₹1,49,950.00" in text
    assert TOTAL_WORDS in text


def test_a_credit_note_names_the_invoice_it_reverses(poppler: None, tmp_path: Path) -> None:
    pdf = render_pdf(credit_note())
    [page] = _png_pages(pdf, tmp_path, "credit")
    _check_page_image(page)
    text = _pdf_text(pdf)
    for expected in (
        "Credit Note",
        "ASHA/CN/0007",
        "Original invoice",
        "ASHA/25-26/0042",
        "Reason: Product unsatisfactory",
        "Total credit",
        "₹1,234.56",
        "Refunded",
        CREDIT_NOTE_WORDS,
        "Authorised signatory",
    ):
        assert expected in text, expected
    assert "Amount due" not in text and "IGST" in text


def test_the_font_is_embedded_and_the_metadata_fixed(poppler: None) -> None:
    document = invoice()
    pdf = render_pdf(document)
    fonts = _run("pdffonts", "-", stdin=pdf).splitlines()[2:]
    assert fonts and all("DejaVuSansCondensed" in font for font in fonts), fonts
    # Columns: name, type, encoding, emb, sub, uni, object id.
    assert all(font.split()[-5:-2] == ["yes", "yes", "yes"] for font in fonts), fonts
    info = _run("pdfinfo", "-isodates", "-", stdin=pdf)
    assert "Title:           Tax Invoice ASHA/25-26/0042" in info
    assert "Author:          Asha Textiles Private Limited" in info
    assert "CreationDate:    2025-05-01T00:00:00" in info
    assert "Page size:       595.28 x 841.89 pts (A4)" in info


async def test_the_same_document_renders_to_the_same_bytes() -> None:
    first = render_pdf(invoice())
    assert render_pdf(invoice()) == first
    assert await render_pdf_async(invoice()) == first
    assert first.startswith(b"%PDF-") and len(first) < 64 * 1024
    paid = render_pdf(invoice(amount_paid=1_000))
    assert hashlib.sha256(paid).digest() != hashlib.sha256(first).digest()


def test_a_character_outside_the_font_does_not_stop_the_render() -> None:
    """Devanagari is not in the shipped font: it prints as the font's empty box (docs/billing.md,
    "The PDF"), and the document still renders."""
    document = invoice()
    named = replace(document, recipient=replace(document.recipient, name="आशा Retail LLP"))
    assert render_pdf(named).startswith(b"%PDF-")


def _long(document: InvoiceDocument, count: int) -> InvoiceDocument:
    lines = tuple(
        replace(
            document.lines[index % 2],
            description=f"Item {index}: " + "a long description of a woven thing " * (index % 3),
        )
        for index in range(count)
    )
    return replace(document, lines=lines)


@pytest.mark.parametrize("count", [12, 16, 20, 24, 28, 32, 40])
def test_a_long_invoice_keeps_its_totals_and_signature_together(poppler: None, count: int) -> None:
    pdf = render_pdf(_long(invoice(), count))
    pages = _pages(pdf)
    assert len(pages) > 1

    def pages_with(text: str) -> list[int]:
        return [number for number, page in enumerate(pages) if text in page]

    assert pages_with("Subtotal") == pages_with("Amount due")
    assert pages_with("Amount in words") == pages_with("Rupees ")
    assert pages_with("For Asha Textiles") == pages_with("Authorised signatory")
    # Every page repeats the line table's headings and says which page it is.
    assert pages_with("Taxable value")[: len(pages) - 1] == list(range(len(pages) - 1))
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
    assert f"Item {count - 1}:" in pages[-1] or f"Item {count - 1}:" in pages[-2]
