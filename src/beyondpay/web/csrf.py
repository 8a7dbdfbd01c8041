"""CSRF tokens for the pages' forms: a double-submit cookie bound to the page by an HMAC.

A page with a form sets a random nonce in a cookie (``HttpOnly``, ``SameSite=Strict``, the page's
path only) and puts ``HMAC(ring, scope + nonce)`` in a hidden field. A post is accepted only
when the field matches the cookie it comes with: another site can make a browser post to the
page, but cannot read or set the cookie, nor compute the field without the ring. ``scope`` names
the page (an invoice's link), so a token of one page is no good on another.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from beyondpay.kit.crypto import KeyRing

CSRF_COOKIE: Final = "bp_csrf"
CSRF_FIELD: Final = "csrf"
NONCE_BYTES: Final = 18
NONCE_CHARS_MAX: Final = 64
TOKEN_BYTES: Final = 16
_LABEL: Final = "page_csrf:"


def new_nonce() -> str:
    return secrets.token_urlsafe(NONCE_BYTES)


def form_token(ring: KeyRing, scope: str, nonce: str) -> str:
    mac = ring.fingerprint(f"{_LABEL}{scope}:{nonce}")[:TOKEN_BYTES]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def token_matches(ring: KeyRing, scope: str, nonce: str | None, submitted: str | None) -> bool:
    """Whether ``submitted`` is the form token of ``scope`` for the cookie's ``nonce`` (under
    any key of the ring: a rotation keeps an open page's form good)."""
    if not nonce or not submitted or len(nonce) > NONCE_CHARS_MAX:
        return False
    for fingerprint in ring.fingerprints(f"{_LABEL}{scope}:{nonce}"):
        expected = base64.urlsafe_b64encode(fingerprint[:TOKEN_BYTES]).decode().rstrip("=")
        if hmac.compare_digest(expected, submitted):
            return True
    return False


def page_nonce(request: Request) -> str:
    """The nonce the page's cookie already holds (a page reloaded keeps its form good), else a
    new one."""
    return request.cookies.get(CSRF_COOKIE) or new_nonce()


def set_nonce_cookie(response: Response, request: Request, nonce: str, path: str) -> None:
    """The page's nonce in its cookie: unreadable by scripts, never sent by another site's
    request, only to the pages under ``path``, over HTTPS only when the page was."""
    response.set_cookie(
        CSRF_COOKIE,
        nonce,
        httponly=True,
        samesite="strict",
        secure=str(request.url.scheme) == "https",
        path=path,
    )
