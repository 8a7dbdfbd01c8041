"""A payment link's public pages (the link's ``url``, ``/l/{token}``; no API key: the random
token is the credential, as the link is meant to be shared).

``GET /l/{token}`` opens a **new Checkout Session** for each visit
(``payment_links.service.open_session``: checkout's use case, with the link's line items) and
redirects (303) to its hosted page. A link that opens no session (``active=false``, or its
``restrictions.completed_sessions.limit`` reached, or a price of it archived since) answers
**410 Gone** with a page saying "This link is no longer available": the link existed and will
not work again unless the merchant changes it, which is what 410 means; nothing is opened.

``GET /l/{token}/complete?session=cs_…`` is the hosted confirmation a
``hosted_confirmation`` link's sessions are sent to when paid: the link's ``custom_message``
(or a default thanks), the amount paid and to whom; shown only for a complete session of that
link.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Path, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from beyondpay.checkout.service import session_url
from beyondpay.db.session import Database
from beyondpay.kit.errors import BeyondpayError
from beyondpay.kit.money import Money
from beyondpay.payment_links.service import (
    SESSION_PARAM,
    confirmation_of,
    link_of_token,
    open_session,
)
from beyondpay.web.pages import PAGE_HEADERS, page

TOKEN_CHARS_MAX: Final = 100
SESSION_ID_CHARS_MAX: Final = 255

router = APIRouter(include_in_schema=False)
Token = Path(max_length=TOKEN_CHARS_MAX)


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _unavailable() -> HTMLResponse:
    return page("payment_link_unavailable.html", status_code=410)


@router.get("/l/{token}")
async def payment_link_page(request: Request, token: str = Token) -> Response:
    try:
        async with _database(request).unit_of_work() as session:
            link = await link_of_token(session, token)
            if link is None:
                return page("payment_link_missing.html", status_code=404)
            opened = await open_session(session, link)
            if opened is None:
                return _unavailable()
            session_id = opened.id
    except BeyondpayError:  # a price of the link archived since: it sells nothing now
        return _unavailable()
    # Never cached (each visit is a new session), and no Referer carrying the link's token.
    return RedirectResponse(session_url(session_id), status_code=303, headers=PAGE_HEADERS)


@router.get("/l/{token}/complete")
async def payment_link_confirmation(request: Request, token: str = Token) -> HTMLResponse:
    session_id = request.query_params.get(SESSION_PARAM, "")[:SESSION_ID_CHARS_MAX]
    async with _database(request).unit_of_work() as session:
        link = await link_of_token(session, token)
        shown = await confirmation_of(session, link, session_id) if link else None
    if shown is None:
        return page("payment_link_missing.html", status_code=404)
    paid = Money(shown.amount, shown.currency).format()
    return page("payment_link_confirmation.html", view=shown, paid=paid)
