"""The hosted invoice page (``invoice.hosted_invoice_url``): ``GET /invoices/{token}`` shows the
invoice and lets its customer pay it by card, UPI or net banking; ``GET /invoices/{token}/pdf``
is ``invoice_pdf``. No API key: the link is the credential (``billing.invoices.rendering``: an
HMAC under the key ring, unguessable).

Paying is a form posted to ``POST /invoices/{token}/pay`` (CSRF-checked: ``web.csrf``): the card
typed (or UPI, or a bank) confirms the invoice's PaymentIntent on-session, and the answer is a
redirect (post, redirect, get): back to the page (paid, declined with a reason, or showing the
UPI QR code and link to pay in an app), or to the 3-D Secure or bank page, which comes back here.
No script: the UPI QR code is an inline SVG, the page's own.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Path, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from beyondpay.billing.credit_notes.service import pdf_of_token as credit_note_pdf_of_token
from beyondpay.billing.invoices.service import (
    InvoicePage,
    collection_service,
    invoice_id_of_token,
    invoice_page,
    pdf_of_token,
)
from beyondpay.db.session import Database
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import BeyondpayError, ResourceMissingError
from beyondpay.payment_methods.domain import NETBANKING_BANKS
from beyondpay.web.csrf import CSRF_FIELD, form_token, page_nonce, set_nonce_cookie
from beyondpay.web.pages import PAGE_HEADERS, page
from beyondpay.web.paying import MESSAGES as _MESSAGES
from beyondpay.web.paying import after_confirmation, posted_method, qr_svg
from beyondpay.web.paying import message as _message

TOKEN_CHARS_MAX: Final = 600

router = APIRouter(include_in_schema=False)
Token = Path(max_length=TOKEN_CHARS_MAX)


def _ring(request: Request) -> KeyRing:
    ring: KeyRing = request.app.state.key_ring
    return ring


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _rendered(request: Request, view: InvoicePage, error: str | None) -> HTMLResponse:
    nonce = page_nonce(request)
    shown_error = error or (view.last_error_code if view.payable else None)
    response = page(
        "invoice.html",
        forms=True,
        view=view,
        document=view.document,
        csrf=form_token(_ring(request), view.token, nonce),
        csrf_field=CSRF_FIELD,
        error=_message(shown_error),
        qr=qr_svg(view.upi_link) if view.upi_link else None,
        banks=[(code, name) for code, name in NETBANKING_BANKS.items()],
    )
    set_nonce_cookie(response, request, nonce, "/invoices/")
    return response


@router.get("/invoices/{token}")
async def invoice_page_view(request: Request, token: str = Token) -> HTMLResponse:
    error = request.query_params.get("error")
    try:
        async with _database(request).unit_of_work() as session:
            view = await invoice_page(session, _ring(request), token)
    except ResourceMissingError:
        return page("invoice_missing.html", status_code=404)
    return _rendered(request, view, error if error in _MESSAGES else None)


@router.get("/invoices/{token}/pdf")
async def invoice_pdf(request: Request, token: str = Token) -> Response:
    try:
        async with _database(request).unit_of_work() as session:
            filename, pdf = await pdf_of_token(session, _ring(request), token)
    except ResourceMissingError:
        return page("invoice_missing.html", status_code=404)
    headers = {
        **{key: value for key, value in PAGE_HEADERS.items() if key != "Content-Security-Policy"},
        "Content-Disposition": f'inline; filename="{filename}"',
    }
    return Response(pdf, media_type="application/pdf", headers=headers)


def _back(token: str, error: str | None = None) -> RedirectResponse:
    suffix = f"?error={error}" if error else ""
    return RedirectResponse(f"/invoices/{token}{suffix}", status_code=303)


@router.post("/invoices/{token}/pay")
async def pay_invoice_page(request: Request, token: str = Token) -> Response:
    ring = _ring(request)
    invoice_id = invoice_id_of_token(ring, token)
    if invoice_id is None:
        return page("invoice_missing.html", status_code=404)
    data = await posted_method(request, ring, token)
    if isinstance(data, str):
        return _back(token, data)
    async with _database(request).sessionmaker() as session:
        try:
            result = await collection_service.pay_on_page(session, ring, invoice_id, data)
        except BeyondpayError as error:  # a card refused before the rail (its number, expiry)
            await session.rollback()
            return _back(token, error.code if error.code in _MESSAGES else "form")
    if result is None:
        return _back(token)
    return after_confirmation(result, lambda error: _back(token, error))


@router.get("/credit_notes/{token}/pdf")
async def credit_note_pdf(request: Request, token: str = Token) -> Response:
    """A credit note's ``pdf``: the link is the credential, as an invoice's is."""
    try:
        async with _database(request).unit_of_work() as session:
            filename, pdf = await credit_note_pdf_of_token(session, _ring(request), token)
    except ResourceMissingError:
        return page("invoice_missing.html", status_code=404)
    headers = {
        **{key: value for key, value in PAGE_HEADERS.items() if key != "Content-Security-Policy"},
        "Content-Disposition": f'inline; filename="{filename}"',
    }
    return Response(pdf, media_type="application/pdf", headers=headers)
