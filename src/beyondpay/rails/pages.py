"""The sandbox rails' pages a payer's browser opens: the 3-D Secure challenge and the bank's
login page, like Stripe's test pages.

No API key: the link carries the rail's reference and an HMAC of it under the key ring, which no
one can guess. The form's POST records the answer, lets the outcome handlers hear it in the same
transaction, commits, then sends the payer back to the merchant's ``return_url`` (303) or shows
a small "done" page. Submitting twice changes nothing the second time.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from typing import Final
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from beyondpay.db.session import Database
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import InvalidRequestError
from beyondpay.rails.service import PageView, complete_page, view_page

FORM_BYTES_MAX: Final = 1024
_TITLES: Final = {"3ds": "3D Secure test authentication", "bank": "Sandbox net banking login"}
_BUTTONS: Final = {
    "3ds": ("Complete authentication", "Fail authentication"),
    "bank": ("Authorize test payment", "Fail test payment"),
}

_STYLE: Final = (
    "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;"
    "padding:0 1rem}button{display:block;width:100%;padding:.8rem;margin:.6rem 0;"
    "font-size:1rem;border-radius:.4rem;border:1px solid #888;cursor:pointer}"
    ".ok{background:#0a7d38;color:#fff}.muted{color:#666}"
)
_STYLE_HASH: Final = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
# Who may frame the page: a 3-D Secure challenge is framed by the page that asked for it (the
# card element opens it in a modal frame on the merchant's page, as an issuer's ACS page is in
# 3-D Secure 2); the bank's login never is (a framed login is how clickjacking steals one).
_FRAME_ANCESTORS: Final = {"3ds": "*", "bank": "'none'"}

router = APIRouter(include_in_schema=False)


class PageOutcomeInvalidError(InvalidRequestError):
    code = "parameter_invalid"
    default_message = "outcome must be `complete` or `fail`."


def _amount(view: PageView) -> str:
    major, minor = divmod(view.amount_minor, 100)
    return f"{view.currency.upper()} {major:,}.{minor:02d}"


def _source_of(return_url: str | None) -> str:
    """The CSP source the answer's redirect goes to: browsers check ``form-action`` against the
    redirect that follows a form's post too, so the payer's way back must be allowed."""
    if not return_url:
        return ""
    parts = urlsplit(return_url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f" {parts.scheme}://{parts.netloc}"
    return f" {parts.scheme}:" if parts.scheme.isalnum() else ""


def _headers(kind: str, return_url: str | None) -> dict[str, str]:
    """A page that asks a payer to approve a payment: nothing but its own inline style, its form
    posting to itself, no referrer carrying its link (the link is its credential)."""
    policy = (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none'; "
        f"form-action 'self'{_source_of(return_url)}; "
        f"frame-ancestors {_FRAME_ANCESTORS[kind]}"
    )
    headers = {
        "Cache-Control": "no-store",
        "Content-Security-Policy": policy,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Robots-Tag": "noindex, nofollow",
    }
    if kind == "bank":
        headers["X-Frame-Options"] = "DENY"
    return headers


def _page(kind: str, body: str, return_url: str | None) -> HTMLResponse:
    html = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(_TITLES[kind])}</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>{escape(_TITLES[kind])}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, headers=_headers(kind, return_url))


def _render(kind: str, token: str, view: PageView) -> HTMLResponse:
    summary = (
        f"<p>{escape(view.instrument)} — <strong>{escape(_amount(view))}</strong></p>"
        f"<p class=muted>Reference {escape(view.reference)}. This is a sandbox page: no real"
        " bank or card is involved.</p>"
    )
    if view.status != "requires_action":
        return _page(
            kind,
            summary + f"<p>This payment is already <strong>{escape(view.status)}</strong>.</p>",
            view.return_url,
        )
    complete, fail = _BUTTONS[kind]
    action = escape(f"/sandbox/{kind}/{token}")
    form = (
        f'<form method=post action="{action}">'
        f"<button class=ok name=outcome value=complete>{escape(complete)}</button>"
        f"<button name=outcome value=fail>{escape(fail)}</button></form>"
    )
    return _page(kind, summary + form, view.return_url)


def _done(kind: str, view: PageView) -> Response:
    if view.return_url:
        return RedirectResponse(view.return_url, status_code=303)
    return _page(
        kind,
        f"<p>Done: the payment is <strong>{escape(view.status)}</strong>. You can close this"
        " page and return to the merchant.</p>",
        None,
    )


async def _show(request: Request, kind: str, token: str) -> HTMLResponse:
    database: Database = request.app.state.database
    ring: KeyRing = request.app.state.key_ring
    async with database.unit_of_work() as session:
        view = await view_page(session, ring, kind, token)
    return _render(kind, token, view)


async def _answer(request: Request, kind: str, token: str) -> Response:
    body = await request.body()
    values = parse_qs(body[:FORM_BYTES_MAX].decode("utf-8", "replace")).get("outcome", [])
    if values not in (["complete"], ["fail"]):
        raise PageOutcomeInvalidError(param="outcome")
    database: Database = request.app.state.database
    ring: KeyRing = request.app.state.key_ring
    async with database.unit_of_work() as session:
        view, _ = await complete_page(session, ring, kind, token, complete=values == ["complete"])
    return _done(kind, view)


@router.get("/sandbox/3ds/{token}")
async def challenge_page(request: Request, token: str) -> HTMLResponse:
    return await _show(request, "3ds", token)


@router.post("/sandbox/3ds/{token}")
async def challenge_answer(request: Request, token: str) -> Response:
    return await _answer(request, "3ds", token)


@router.get("/sandbox/bank/{token}")
async def bank_page(request: Request, token: str) -> HTMLResponse:
    return await _show(request, "bank", token)


@router.post("/sandbox/bank/{token}")
async def bank_answer(request: Request, token: str) -> Response:
    return await _answer(request, "bank", token)
