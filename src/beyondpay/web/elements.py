"""The card element: a merchant keeps its own page and takes cards without ever seeing one.

- ``GET /v1/js`` (and its versioned name ``/v1/js/v1.js``) is the script a merchant's page
  loads: ``Beyondpay(pk).elements().create('card').mount('#card')``, ``createPaymentMethod``,
  ``confirmCardPayment(clientSecret)``. No dependency, no build step; cached briefly by
  browsers (``ETag`` revalidates it), so a fix to v1 reaches every page within minutes.
- ``GET /elements/card`` is the page of the iframe the script mounts. The card's inputs live
  there, on the platform's origin: the merchant's page cannot read them. Its script calls the
  API with the publishable key (a payment method; a PaymentIntent confirmed with its client
  secret) and answers the merchant's page by ``postMessage``, to the merchant's origin only,
  and only ever with what the API answered (never the card's digits).
- ``GET /elements/authenticated`` is where 3-D Secure comes back to (the confirmation's
  ``return_url``): it tells the merchant's page, which opened the challenge in a modal frame,
  that the customer has finished.

The element's pages may be framed by any site (``frame-ancestors *``: the merchant's); every
other page of the platform refuses to be framed. Their policy allows scripts and requests to
the platform itself and nothing else.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from importlib import resources
from typing import Final

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, Response

from beyondpay.web.pages import PAGE_HEADERS, templates

SCRIPT_VERSION: Final = "v1"
SCRIPT_PATH: Final = "/v1/js"
# Browsers revalidate after this long; an unchanged script is then a 304.
SCRIPT_MAX_AGE_S: Final = 300
ORIGIN_CHARS_MAX: Final = 255
KEY_CHARS_MAX: Final = 255
FRAME_ID_CHARS_MAX: Final = 32
# A page's origin as ``location.origin`` spells it: scheme, host, optional port, nothing more.
_ORIGIN: Final = re.compile(
    r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$"
)
_PUBLISHABLE_KEY: Final = re.compile(r"^pk_(test|live)_[A-Za-z0-9]+$")
_FRAME_ID: Final = re.compile(r"^[A-Za-z0-9_-]+$")

# The element's pages: their own scripts and styles and API calls to the platform; framed by
# the merchant's page, whatever its origin.
ELEMENT_CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
    " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors *"
)
ELEMENT_HEADERS: Final = {
    **{name: value for name, value in PAGE_HEADERS.items() if name != "X-Frame-Options"},
    "Content-Security-Policy": ELEMENT_CONTENT_SECURITY_POLICY,
}

router = APIRouter(include_in_schema=False)


@cache
def _script() -> tuple[bytes, str]:
    """The script's bytes and its ETag (a hash of them: a new release is a new tag)."""
    text = resources.files("beyondpay.web").joinpath(f"scripts/{SCRIPT_VERSION}.js").read_bytes()
    return text, f'"{hashlib.sha256(text).hexdigest()[:32]}"'


def _script_response(request: Request) -> Response:
    body, etag = _script()
    headers = {
        "Cache-Control": f"public, max-age={SCRIPT_MAX_AGE_S}",
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
        # Loaded by merchants' pages, whatever their origin or embedder policy.
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Access-Control-Allow-Origin": "*",
    }
    sent = request.headers.get("if-none-match", "")
    if etag in (tag.strip().removeprefix("W/") for tag in sent.split(",")) or sent == "*":
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


@router.get(SCRIPT_PATH)
async def element_script(request: Request) -> Response:
    """The current script of major version 1."""
    return _script_response(request)


@router.get(f"{SCRIPT_PATH}/{SCRIPT_VERSION}.js")
async def element_script_versioned(request: Request) -> Response:
    return _script_response(request)


def _element_page(template: str, status_code: int = 200, **context: object) -> HTMLResponse:
    html = templates.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=ELEMENT_HEADERS)


def valid_origin(origin: str) -> bool:
    return len(origin) <= ORIGIN_CHARS_MAX and _ORIGIN.match(origin) is not None


@router.get("/elements/card")
async def card_element(
    key: str = Query(default="", max_length=KEY_CHARS_MAX),
    origin: str = Query(default="", max_length=ORIGIN_CHARS_MAX),
    frame: str = Query(default="", max_length=FRAME_ID_CHARS_MAX),
) -> HTMLResponse:
    """The iframe's page: the card's inputs, and the script that talks to the API and to the
    merchant's page at ``origin``."""
    if not (_PUBLISHABLE_KEY.match(key) and valid_origin(origin) and _FRAME_ID.match(frame)):
        return _element_page("element_invalid.html", status_code=400)
    return _element_page("element_card.html", key=key, origin=origin, frame=frame)


@router.get("/elements/authenticated")
async def authenticated(
    origin: str = Query(default="", max_length=ORIGIN_CHARS_MAX),
) -> HTMLResponse:
    """3-D Secure's way back: tells the merchant's page at ``origin`` (the modal's parent)
    that the customer is done. The message carries nothing: the element then asks the API."""
    if not valid_origin(origin):
        return _element_page("element_invalid.html", status_code=400)
    return _element_page("element_authenticated.html", origin=origin)
