"""What the pages that take a payment share (the hosted invoice page, the checkout page): the
fixed sentences a failed attempt is shown as, the payment method read from a posted form, and
the UPI QR code drawn as an inline SVG (no script, no image request)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final
from urllib.parse import parse_qs

import segno
from fastapi import Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from beyondpay.kit.crypto import KeyRing
from beyondpay.payment_methods.schemas import PaymentMethodDataParams
from beyondpay.payments.service import ConfirmResult
from beyondpay.web.csrf import CSRF_COOKIE, CSRF_FIELD, token_matches

FORM_BYTES_MAX: Final = 4_096
METHODS: Final = ("card", "upi", "netbanking")
# What a page says about a failed attempt: fixed sentences by code, never the request's text.
MESSAGES: Final = {
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
FALLBACK_MESSAGE: Final = "The payment could not be completed. Try again or use another way to pay."
_QR_SCALE: Final = 5
_QR_BORDER: Final = 2


def qr_svg(link: str) -> str:
    """The link as an inline SVG QR code (level M, dark on light), titled for screen readers."""
    code = segno.make(link, error="m", micro=False)
    return code.svg_inline(
        scale=_QR_SCALE,
        border=_QR_BORDER,
        dark="#1a1f36",
        light="#ffffff",
        title="UPI QR code",
        # A viewBox, not a fixed size: the stylesheet sizes it (12rem), and the code scales
        # with it rather than being cut at its right and bottom edges.
        omitsize=True,
    )


def message(code: str | None) -> str | None:
    if not code:
        return None
    return MESSAGES.get(code, FALLBACK_MESSAGE)


def method_data(form: dict[str, str]) -> PaymentMethodDataParams:
    """The payment method the customer typed; ``ValidationError`` when it cannot be one. UPI
    with a ``vpa`` is a collect request to it; without, the intent flow (a QR code, an app)."""
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
    elif method == "upi" and form.get("vpa", "").strip():
        data["upi"] = {"vpa": form.get("vpa", "").strip().lower()}
    elif method == "netbanking":
        data["netbanking"] = {"bank": form.get("bank", "")}
    return PaymentMethodDataParams.model_validate(data)


async def posted_method(
    request: Request, ring: KeyRing, token: str
) -> PaymentMethodDataParams | str:
    """The payment method a page's form posted (its CSRF token checked against the page's
    ``token``), or the code of the message to show instead: ``csrf`` or ``form``."""
    body = (await request.body())[:FORM_BYTES_MAX]
    form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
    if not token_matches(ring, token, request.cookies.get(CSRF_COOKIE), form.get(CSRF_FIELD)):
        return "csrf"
    if form.get("method") not in METHODS:
        return "form"
    try:
        return method_data(form)
    except ValidationError:
        return "form"


def after_confirmation(
    result: ConfirmResult, back: Callable[[str | None], RedirectResponse]
) -> Response:
    """Where a page's payment goes next: back to the page with the decline's code, to the
    bank's page (3-D Secure, net banking), or back to the page (paid; UPI's QR code or
    collect, which the page shows)."""
    intent = result.intent
    if intent.status != "succeeded" and (
        result.failure is not None or intent.status == "requires_payment_method"
    ):
        failed = intent.last_payment_error or {}
        return back(str(failed.get("decline_code") or failed.get("code") or "declined"))
    action = intent.next_action or {}
    if action.get("type") == "redirect_to_url":
        return RedirectResponse(str(action["redirect_to_url"]["url"]), status_code=303)
    return back(None)
