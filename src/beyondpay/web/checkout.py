"""The hosted checkout page (a Checkout Session's ``url``): ``GET /checkout/{token}`` shows
the merchant, the line items and the total in ₹ with Indian grouping, and lets the customer pay
by card (3-D Secure in the flow), UPI (a QR code on wide screens, the ``upi://pay`` link on
phones, or a collect request to a typed UPI ID, the page refreshing itself while it waits) or
net banking. No API key: the link is the credential (``checkout.service.page_token``: an HMAC
under the key ring, unguessable).

Paying is a form posted to ``POST /checkout/{token}/pay`` (CSRF-checked: ``web.csrf``),
answered with a redirect (post, redirect, get): back to the page (paid, declined with a reason
and the forms to try again, or waiting for UPI), or to the 3-D Secure or bank page, which comes
back here. A complete session's page says so and sends the customer on to ``success_url``
(``{CHECKOUT_SESSION_ID}`` replaced) by an immediate refresh: a redirect chained to the form's
post would leave the platform under the page's ``form-action 'self'``. While a payment
completes elsewhere (a UPI app, a collect request), the page's one script
(``static/checkout.js``) asks ``GET /checkout/{token}/status`` every few seconds and reloads
the page when it changes.

A session in setup mode (``checkout.setup_mode``) has its own page, ``checkout_setup.html``:
the merchant, what the card is saved for, and the card form only, posted to
``POST /checkout/{token}/setup`` (CSRF-checked the same way; 3-D Secure comes back here).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

from fastapi import APIRouter, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from beyondpay.checkout.service import (
    DISCOUNT_REMOVED,
    CheckoutPage,
    apply_promotion_code,
    give_email,
    needs_email,
    page_of_token,
    pay_on_page,
    session_id_of_token,
)
from beyondpay.checkout.setup_mode import save_on_page
from beyondpay.checkout.subscription_mode import recurring_amount
from beyondpay.db.session import Database
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import BeyondpayError, InvalidRequestError, ResourceMissingError
from beyondpay.kit.money import Money
from beyondpay.payment_methods.domain import NETBANKING_BANKS
from beyondpay.web.csrf import (
    CSRF_COOKIE,
    CSRF_FIELD,
    form_token,
    page_nonce,
    set_nonce_cookie,
    token_matches,
)
from beyondpay.web.pages import FORMS_CONTENT_SECURITY_POLICY, PAGE_HEADERS, page
from beyondpay.web.paying import (
    FORM_BYTES_MAX,
    MESSAGES,
    after_confirmation,
    message,
    posted_method,
    qr_svg,
)

TOKEN_CHARS_MAX: Final = 600
# The page's one script (static/checkout.js, the platform's own file) asks its status while a
# payment completes elsewhere; nothing inline, and it talks to the platform only.
CHECKOUT_CONTENT_SECURITY_POLICY: Final = (
    FORMS_CONTENT_SECURITY_POLICY + "; script-src 'self'; connect-src 'self'"
)
_EXTRA_MESSAGES: Final = {
    "lock_timeout": "Your payment is already being processed in another window. Wait a moment.",
    "expired": "This checkout has expired: it can no longer be paid.",
    "checkout_email_required": "Enter your email address before paying.",
    DISCOUNT_REMOVED: (
        "Your promotion code can no longer be used and was removed: check the new total and"
        " pay again."
    ),
    "setup_intent_authentication_failure": "Your bank could not authenticate your card.",
}
PROMOTION_CODE_CHARS_MAX: Final = 100

router = APIRouter(include_in_schema=False)
Token = Path(max_length=TOKEN_CHARS_MAX)


def _ring(request: Request) -> KeyRing:
    ring: KeyRing = request.app.state.key_ring
    return ring


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _every(line: dict[str, Any]) -> str | None:
    """A recurring line's interval as the page says it: ``month``, ``3 months``."""
    interval = line.get("interval")
    if interval is None:
        return None
    count = int(line.get("interval_count") or 1)
    return str(interval) if count == 1 else f"{count} {interval}s"


def _per(line: dict[str, Any]) -> str:
    """`` / month`` after a recurring line's amount (`` / 3 months``); nothing for one-time."""
    every = _every(line)
    if every is None:
        return ""
    return f" / {every}"


def _text(code: str | None) -> str | None:
    if code in _EXTRA_MESSAGES:
        return _EXTRA_MESSAGES[code]
    return message(code)


def upi_link_for_session(link: str, session_id: str, merchant_name: str) -> str:
    """The rail's ``upi://pay`` link with the session as the transaction reference (``tr``)
    and a note (``tn``) a payer's UPI app shows, values percent-encoded."""
    query = dict(parse_qsl(urlsplit(link).query, keep_blank_values=True))
    query["tr"] = session_id
    query["tn"] = f"Payment to {merchant_name}"[:50]
    return "upi://pay?" + "&".join(
        f"{key}={quote(value, safe='@.')}" for key, value in query.items()
    )


def _rendered(
    request: Request,
    view: CheckoutPage,
    error: str | None,
    *,
    field_error: tuple[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The page; ``field_error``: (the field, what is wrong with what was typed in it)."""
    row = view.row
    nonce = page_nonce(request)
    if row.mode == "setup":
        return _rendered_setup(request, view, error, nonce)
    shown_error = error or (view.last_error_code if view.payable else None)
    upi_link = (
        upi_link_for_session(view.upi_intent_url, row.id, view.merchant_name)
        if view.upi_intent_url and view.payable
        else None
    )
    lines = [
        {
            "description": line["description"],
            "quantity": line["quantity"],
            "unit_amount": Money(line["unit_amount"], line["currency"]).format(),
            "amount": Money(line["amount_subtotal"], line["currency"]).format(),
            "per": _per(line),
        }
        for line in row.line_items
    ]
    applied = row.discounts[0] if row.discounts else None
    # Subscription mode: the recurring lines bill on one interval (checkout.subscription_mode);
    # one-time lines are paid today only.
    recurring = [line for line in row.line_items if line.get("interval") is not None]
    every = _every(recurring[0]) if row.mode == "subscription" and recurring else None
    renewal = Money(recurring_amount(row.line_items), row.currency).format() if every else None
    waiting = view.payable and (upi_link is not None or view.upi_collect_waiting)
    # Paid: on to the merchant at once (an immediate refresh, not a timed one: WCAG 2.2.1; a
    # redirect chained to the form's post would be refused by form-action 'self').
    refresh = None
    if row.status == "complete" and view.success_url:
        refresh = f"0;url={view.success_url}"
    response = page(
        "checkout.html",
        forms=True,
        view=view,
        row=row,
        lines=lines,
        total=Money(row.amount_total, row.currency).format(),
        csrf=form_token(_ring(request), view.token, nonce),
        csrf_field=CSRF_FIELD,
        error=_text(shown_error),
        upi_link=upi_link,
        qr=qr_svg(upi_link) if upi_link else None,
        refresh=refresh,
        watch=waiting or view.intent_status == "processing",
        status=page_status(view),
        banks=list(NETBANKING_BANKS.items()),
        methods=set(row.payment_method_types),
        needs_email=needs_email(row),
        email=row.customer_email or row.collected_email,
        applied=applied,
        subtotal=Money(row.amount_subtotal, row.currency).format(),
        discount=Money(row.amount_discount, row.currency).format() if applied else None,
        field_error=field_error,
        promotion_code_chars_max=PROMOTION_CODE_CHARS_MAX,
        every=every,
        renewal=renewal,
        one_time=every is not None and len(recurring) < len(row.line_items),
        status_code=status_code,
    )
    response.headers["Content-Security-Policy"] = CHECKOUT_CONTENT_SECURITY_POLICY
    set_nonce_cookie(response, request, nonce, "/checkout/")
    return response


# A setup page takes a card only: its declines say so.
_SETUP_MESSAGES: Final = {
    "card_declined": "Your card was declined. Try another card.",
    "generic_decline": "Your card was declined. Try another card.",
}


def _rendered_setup(
    request: Request, view: CheckoutPage, error: str | None, nonce: str
) -> HTMLResponse:
    """A setup session's page: the merchant and the card form, no amount (nothing is paid)."""
    row = view.row
    shown = error or (view.last_error_code if view.payable else None)
    refresh = None
    if row.status == "complete" and view.success_url:
        refresh = f"0;url={view.success_url}"
    response = page(
        "checkout_setup.html",
        forms=True,
        view=view,
        row=row,
        csrf=form_token(_ring(request), view.token, nonce),
        csrf_field=CSRF_FIELD,
        error=_SETUP_MESSAGES.get(shown or "") or _text(shown),
        refresh=refresh,
    )
    response.headers["Content-Security-Policy"] = CHECKOUT_CONTENT_SECURITY_POLICY
    set_nonce_cookie(response, request, nonce, "/checkout/")
    return response


@router.get("/checkout/{token}")
async def checkout_page(request: Request, token: str = Token) -> HTMLResponse:
    error = request.query_params.get("error")
    try:
        async with _database(request).unit_of_work() as session:
            view = await page_of_token(session, _ring(request), token)
    except ResourceMissingError:
        return page("checkout_missing.html", status_code=404)
    known = error in MESSAGES or error in _EXTRA_MESSAGES
    return _rendered(request, view, error if known else None)


def page_status(view: CheckoutPage) -> str:
    """What the waiting page compares: the session's and its payment's states."""
    return f"{view.row.status}:{view.row.payment_status}:{view.intent_status or ''}"


@router.get("/checkout/{token}/status")
async def checkout_status(request: Request, token: str = Token) -> Response:
    """The page's state for its script (the link is the credential, as for the page)."""
    try:
        async with _database(request).unit_of_work() as session:
            view = await page_of_token(session, _ring(request), token)
    except ResourceMissingError:
        return JSONResponse({"status": None}, status_code=404, headers=PAGE_HEADERS)
    return JSONResponse({"status": page_status(view)}, headers=PAGE_HEADERS)


def _back(token: str, error: str | None = None) -> RedirectResponse:
    suffix = f"?error={error}" if error else ""
    return RedirectResponse(f"/checkout/{token}{suffix}", status_code=303)


@router.post("/checkout/{token}/pay")
async def pay_checkout_page(request: Request, token: str = Token) -> Response:
    ring = _ring(request)
    session_id = session_id_of_token(ring, token)
    if session_id is None:
        return page("checkout_missing.html", status_code=404)
    data = await posted_method(request, ring, token)
    if isinstance(data, str):
        return _back(token, data)
    async with _database(request).sessionmaker() as session:
        try:
            paid = await pay_on_page(session, ring, session_id, data)
        except BeyondpayError as error:  # refused before the rail (a card's number, busy)
            await session.rollback()
            known = error.code in MESSAGES or error.code in _EXTRA_MESSAGES
            return _back(token, error.code if known else "form")
    if paid.refused is not None:
        return _back(token, paid.refused)
    if paid.result is None:
        return _back(token, "expired" if paid.row.status != "complete" else None)
    return after_confirmation(paid.result, lambda error: _back(token, error))


async def _posted_form(request: Request, ring: KeyRing, token: str) -> dict[str, str] | None:
    """A page's small form, its CSRF token checked against the page's ``token``; None when it
    does not match."""
    body = (await request.body())[:FORM_BYTES_MAX]
    form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
    if not token_matches(ring, token, request.cookies.get(CSRF_COOKIE), form.get(CSRF_FIELD)):
        return None
    return form


async def _field_refused(request: Request, token: str, field: str, problem: str) -> HTMLResponse:
    """The page again, with what was wrong with a field's value beside the field (400)."""
    async with _database(request).unit_of_work() as session:
        view = await page_of_token(session, _ring(request), token)
    return _rendered(request, view, None, field_error=(field, problem), status_code=400)


FieldUse = Callable[[AsyncSession, KeyRing, str, str], Awaitable[object]]


async def _field_posted(request: Request, token: str, field: str, use: FieldUse) -> Response:
    """A one-field form of the page (a promotion code, the email): ``use`` applies its value
    to the session; back to the page, or the page with the problem beside the field."""
    ring = _ring(request)
    session_id = session_id_of_token(ring, token)
    if session_id is None:
        return page("checkout_missing.html", status_code=404)
    form = await _posted_form(request, ring, token)
    if form is None:
        return _back(token, "csrf")
    async with _database(request).sessionmaker() as session:
        try:
            await use(session, ring, session_id, form.get(field, "").strip())
        except BeyondpayError as error:
            await session.rollback()
            return await _field_refused(request, token, field, error.message)
    return _back(token)


async def _use_promotion_code(
    session: AsyncSession, ring: KeyRing, session_id: str, code: str
) -> None:
    if not code or len(code) > PROMOTION_CODE_CHARS_MAX:
        raise InvalidRequestError("Enter a promotion code.", param="promotion_code")
    await apply_promotion_code(session, ring, session_id, code)


async def _use_email(session: AsyncSession, _ring: KeyRing, session_id: str, email: str) -> None:
    await give_email(session, session_id, email)


@router.post("/checkout/{token}/promotion_code")
async def checkout_promotion_code(request: Request, token: str = Token) -> Response:
    """A promotion code typed on the page (``allow_promotion_codes``): applied, and back to
    the page showing the discount; or the page with the problem beside the field."""
    return await _field_posted(request, token, "promotion_code", _use_promotion_code)


@router.post("/checkout/{token}/email")
async def checkout_email(request: Request, token: str = Token) -> Response:
    """The customer's email, asked before paying when the session has none."""
    return await _field_posted(request, token, "email", _use_email)


@router.post("/checkout/{token}/setup")
async def save_card_on_checkout_page(request: Request, token: str = Token) -> Response:
    """A setup session's card form: the card verified and saved (3-D Secure in the flow)."""
    ring = _ring(request)
    session_id = session_id_of_token(ring, token)
    if session_id is None:
        return page("checkout_missing.html", status_code=404)
    data = await posted_method(request, ring, token)
    if isinstance(data, str):
        return _back(token, data)
    if data.type != "card":
        return _back(token, "form")
    async with _database(request).sessionmaker() as session:
        try:
            saved = await save_on_page(session, ring, session_id, data)
        except BeyondpayError as error:  # refused before the network (a card's number, busy)
            await session.rollback()
            known = error.code in MESSAGES or error.code in _EXTRA_MESSAGES
            return _back(token, error.code if known else "form")
    if saved.result is None:
        return _back(token, "expired" if saved.row.status != "complete" else None)
    intent = saved.result.intent
    if intent.status == "requires_payment_method" and intent.last_setup_error:
        failed = intent.last_setup_error
        return _back(token, str(failed.get("decline_code") or failed.get("code") or "form"))
    action = intent.next_action or {}
    if action.get("type") == "redirect_to_url":
        return RedirectResponse(str(action["redirect_to_url"]["url"]), status_code=303)
    return _back(token)
