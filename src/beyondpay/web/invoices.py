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

from typing import Any, Final
from urllib.parse import parse_qs

import segno
from fastapi import APIRouter, Path, Request
from pydantic import ValidationError
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
from beyondpay.payment_methods.schemas import PaymentMethodDataParams
from beyondpay.web.csrf import CSRF_COOKIE, CSRF_FIELD, form_token, new_nonce, token_matches
from beyondpay.web.pages import PAGE_HEADERS, page

TOKEN_CHARS_MAX: Final = 600
FORM_BYTES_MAX: Final = 4_096
METHODS: Final = ("card", "upi", "netbanking")
# What the page says about a failed attempt: fixed sentences by code, never the request's text.
_MESSAGES: Final = {
    "card_declined": "Your card was declined. Try another card or another way to pay.",
    "generic_decline": "Your card was declined. Try another card or another way to pay.",
    "insufficient_funds": "Your card has insufficient funds. Try another card.",
    "lost_card": "Your card was declined. Try another card.",
    "stolen_card": "Your card was declined. Try another card.",
    "expired_card": "Your card has expired. Try another card.",
    "incorrect_number": "Your card number is incorrect.",
    "invalid_number": "Your card number is incorrect.",
    "invalid_expiry_month": "Your card's expiry date is incorrect.",
    "invalid_expiry_year": "Your card's expiry date is incorrect.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "invalid_cvc": "Your card's security code is incorrect.",
    "payment_intent_authentication_failure": "Your bank could not authenticate the payment.",
    "authentication_required": "Your bank could not authenticate the payment.",
    "payment_method_provider_decline": "Your bank declined the payment.",
    "bank_unavailable": "Your bank is not available right now. Try another way to pay.",
    "declined_by_payer": "The payment was declined in your UPI app.",
    "csrf": "This page expired. Reload it and try again.",
    "form": "Check the details you entered and try again.",
}
_FALLBACK_MESSAGE: Final = (
    "The payment could not be completed. Try again or use another way to pay."
)
_QR_SCALE: Final = 5
_QR_BORDER: Final = 2

router = APIRouter(include_in_schema=False)
Token = Path(max_length=TOKEN_CHARS_MAX)


def _ring(request: Request) -> KeyRing:
    ring: KeyRing = request.app.state.key_ring
    return ring


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _qr_svg(link: str) -> str:
    """The link as an inline SVG QR code (level M, dark on light), titled for screen readers."""
    code = segno.make(link, error="m", micro=False)
    return code.svg_inline(
        scale=_QR_SCALE, border=_QR_BORDER, dark="#1a1f36", light="#ffffff", title="UPI QR code"
    )


def _message(code: str | None) -> str | None:
    if not code:
        return None
    return _MESSAGES.get(code, _FALLBACK_MESSAGE)


def _rendered(request: Request, view: InvoicePage, error: str | None) -> HTMLResponse:
    nonce = request.cookies.get(CSRF_COOKIE) or new_nonce()
    shown_error = error or (view.last_error_code if view.payable else None)
    response = page(
        "invoice.html",
        forms=True,
        view=view,
        document=view.document,
        csrf=form_token(_ring(request), view.token, nonce),
        csrf_field=CSRF_FIELD,
        error=_message(shown_error),
        qr=_qr_svg(view.upi_link) if view.upi_link else None,
        banks=[(code, name) for code, name in NETBANKING_BANKS.items()],
    )
    response.set_cookie(
        CSRF_COOKIE,
        nonce,
        httponly=True,
        samesite="strict",
        secure=str(request.url.scheme) == "https",
        path="/invoices/",
    )
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


def _method_data(form: dict[str, str]) -> PaymentMethodDataParams:
    """The payment method the customer typed; ``ValidationError`` when it cannot be one."""
    method = form.get("method")
    data: dict[str, Any] = {"type": method}
    if method == "card":
        year = form.get("exp_year", "").strip()
        data["card"] = {
            "number": form.get("number", "").replace(" ", ""),
            "exp_month": form.get("exp_month", "").strip(),
            "exp_year": f"20{year}" if len(year) == 2 else year,
            "cvc": form.get("cvc", "").strip() or None,
        }
    elif method == "netbanking":
        data["netbanking"] = {"bank": form.get("bank", "")}
    return PaymentMethodDataParams.model_validate(data)


def _back(token: str, error: str | None = None) -> RedirectResponse:
    suffix = f"?error={error}" if error else ""
    return RedirectResponse(f"/invoices/{token}{suffix}", status_code=303)


@router.post("/invoices/{token}/pay")
async def pay_invoice_page(request: Request, token: str = Token) -> Response:
    ring = _ring(request)
    invoice_id = invoice_id_of_token(ring, token)
    if invoice_id is None:
        return page("invoice_missing.html", status_code=404)
    body = (await request.body())[:FORM_BYTES_MAX]
    form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
    if not token_matches(ring, token, request.cookies.get(CSRF_COOKIE), form.get(CSRF_FIELD)):
        return _back(token, "csrf")
    if form.get("method") not in METHODS:
        return _back(token, "form")
    try:
        data = _method_data(form)
    except ValidationError:
        return _back(token, "form")
    async with _database(request).sessionmaker() as session:
        try:
            result = await collection_service.pay_on_page(session, ring, invoice_id, data)
        except BeyondpayError as error:  # a card refused before the rail (its number, expiry)
            await session.rollback()
            return _back(token, error.code if error.code in _MESSAGES else "form")
    if result is None or result.intent.status == "succeeded":
        return _back(token)
    if result.failure is not None:
        failed = result.intent.last_payment_error or {}
        return _back(token, str(failed.get("decline_code") or failed.get("code") or "declined"))
    action = result.intent.next_action or {}
    if action.get("type") == "redirect_to_url":
        return RedirectResponse(str(action["redirect_to_url"]["url"]), status_code=303)
    return _back(token)  # UPI: the page shows the QR code and the link to pay in an app


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
