"""Sample tax documents for the documents tests: a supplier in Maharashtra invoicing a customer
in Maharashtra (CGST + SGST) or in Karnataka (IGST), and a credit note with paise."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from beyondpay.billing.documents.domain import (
    CreditNoteReference,
    DocumentKind,
    DocumentLine,
    InvoiceDocument,
    Party,
    State,
    TaxCharge,
)
from beyondpay.merchants.kyc import gstin_check_character

MAHARASHTRA = State("27", "Maharashtra")
KARNATAKA = State("29", "Karnataka")


def gstin(state: State, pan: str) -> str:
    first_fourteen = f"{state.code}{pan}1Z"
    return first_fourteen + gstin_check_character(first_fourteen)


SUPPLIER_GSTIN = gstin(MAHARASHTRA, "AAPCA1234E")
PUNE_GSTIN = gstin(MAHARASHTRA, "AAFCP5678K")
BENGALURU_GSTIN = gstin(KARNATAKA, "AABCB4321M")

SUPPLIER = Party(
    name="Asha Textiles Private Limited",
    address_lines=("14 Mill Compound, Lower Parel", "Mumbai 400013"),
    gstin=SUPPLIER_GSTIN,
    state=MAHARASHTRA,
)
PUNE_CUSTOMER = Party(
    name="Deccan Retail LLP",
    address_lines=("22 FC Road, Shivajinagar", "Pune 411005"),
    gstin=PUNE_GSTIN,
    state=MAHARASHTRA,
)
BENGALURU_CUSTOMER = Party(
    name="Bengaluru Looms and Weaves Private Limited",
    address_lines=("3rd Floor, 80 Feet Road, Indiranagar", "Bengaluru 560038"),
    gstin=BENGALURU_GSTIN,
    state=KARNATAKA,
)

# ₹1,00,000.00 taxable at 18% (two bolts less ₹10,000 off) plus an exempt ₹31,950.00:
# ₹1,49,950.00 in all, within the state or across.
TOTAL_MINOR = 14_995_000
TOTAL_WORDS = "Rupees One Lakh Forty-Nine Thousand Nine Hundred Fifty Only"


def _lines(*, intra_state: bool) -> tuple[DocumentLine, ...]:
    half, full = Decimal("9"), Decimal("18")
    taxes = (
        {"cgst": TaxCharge(half, 900_000), "sgst": TaxCharge(half, 900_000)}
        if intra_state
        else {"igst": TaxCharge(full, 1_800_000)}
    )
    return (
        DocumentLine(
            description="Handloom cotton fabric, 100 m bolt",
            hsn_sac="52081190",
            quantity=2,
            unit_amount=5_500_000,
            amount=11_000_000,
            discount=1_000_000,
            **taxes,
        ),
        DocumentLine(
            description="Weaving workshop for the store's staff (exempt education service)",
            hsn_sac="999293",
            quantity=1,
            unit_amount=3_195_000,
            amount=3_195_000,
        ),
    )


def invoice(*, intra_state: bool = True, **changes: object) -> InvoiceDocument:
    fields: dict[str, object] = {
        "kind": DocumentKind.invoice,
        "number": "ASHA/25-26/0042",
        "issue_date": date(2025, 5, 1),
        "due_date": date(2025, 5, 31),
        "financial_year": "2025-26",
        "supplier": SUPPLIER,
        "recipient": PUNE_CUSTOMER if intra_state else BENGALURU_CUSTOMER,
        "place_of_supply": MAHARASHTRA if intra_state else KARNATAKA,
        "currency": "inr",
        "lines": _lines(intra_state=intra_state),
        "amount_paid": 0,
        "notes": "Thank you for your business. Bank transfer: HDFC Bank, A/c 50200012345678.",
        **changes,
    }
    return InvoiceDocument(**fields)  # type: ignore[arg-type]


def credit_note() -> InvoiceDocument:
    """Against the inter-state invoice: ₹1,046.24 of fabric returned, with 18% IGST ₹188.32."""
    return InvoiceDocument(
        kind=DocumentKind.credit_note,
        number="ASHA/CN/0007",
        issue_date=date(2025, 6, 10),
        financial_year="2025-26",
        supplier=SUPPLIER,
        recipient=BENGALURU_CUSTOMER,
        place_of_supply=KARNATAKA,
        currency="inr",
        lines=(
            DocumentLine(
                description="Handloom cotton fabric returned (damaged in transit)",
                hsn_sac="52081190",
                quantity=1,
                unit_amount=104_624,
                amount=104_624,
                igst=TaxCharge(Decimal("18"), 18_832),
            ),
        ),
        credit_note=CreditNoteReference(
            invoice_number="ASHA/25-26/0042",
            invoice_date=date(2025, 5, 1),
            reason="Product unsatisfactory",
            refund_amount=123_456,
        ),
    )


CREDIT_NOTE_WORDS = "Rupees One Thousand Two Hundred Thirty-Four and Fifty-Six Paise Only"
