"""The hosted customer portal (``billing_portal.session.url``): no API key; the session's link
is the credential, once, and the visit it starts is a cookie (``billing.portal.domain`` says
why). The use cases are ``billing.portal.service.visit_service``; this file is the HTTP around
them: the link, the visit's cookie, the forms (each with the visit's anti-forgery token and a
one-time id), and the pages. No script; forms post to the platform itself
(``form-action 'self'``), then the browser is sent on with a 303 (the portal with a notice, or
the card's 3-D Secure page, which sends it back to ``/cards/{form}``).

- ``GET /billing_portal/session/{token}``: opens the link (once, within 5 minutes), sets the
  visit's cookie (``HttpOnly``, ``SameSite=Lax``, for an hour), sends the browser on to the
  portal's page, so the link leaves the address bar;
- ``GET /billing_portal/{session}``: the portal;
- ``POST /billing_portal/{session}/cards``: saves a card (``GET …/cards/{form}``: back from
  3-D Secure); ``POST …/payment_methods/{id}/default`` and ``…/remove``;
- ``POST …/subscriptions/{id}/cancel`` and ``…/switch``: the subscription actions the
  configuration offers (``billing.portal.sections``).

A page answers every refusal with a page saying what happened (410 for a link that has expired
or was used, 403 without the visit's cookie, 404 for what is not the customer's), never a 5xx
and never the customer's data to a browser without the visit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Final
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from beyondpay.api.auditing import audit
from beyondpay.billing.portal.errors import FormExpiredError, PortalPageError, VisitMissingError
from beyondpay.billing.portal.service import (
    FORM_ID_PATTERN,
    VISIT_S,
    CardForm,
    CardFormError,
    PageAnswer,
    Visit,
    secure_cookies,
    visit_service,
)
from beyondpay.db.phases import JobPhases
from beyondpay.db.session import Database
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import BeyondpayError
from beyondpay.kit.ids import is_valid_id
from beyondpay.web.pages import PAGE_HEADERS, page

PORTAL_PATH: Final = "/billing_portal"
# One cookie per visit, named after its session: a browser may hold two visits (two
# merchants, two customers) and each page finds its own.
COOKIE_PREFIX: Final = "portal_visit_"
FORM_BYTES_MAX: Final = 4 * 1024
FORM_FIELDS_MAX: Final = 16
SUBJECT_CHARS_MAX: Final = 255
SEE_OTHER: Final = 303

# What a refused page says, by the refusal's reason: fixed texts, never the request's input.
PROBLEMS: Final = {
    "unknown": (
        "This link is not valid",
        "This link does not open a billing portal. Check that it was copied whole, or go back"
        " to the business's website and open the billing portal from there.",
    ),
    "expired": (
        "This link has expired",
        "For your security, a billing portal link works for 5 minutes, and a visit lasts an"
        " hour. Go back to the business's website and open the billing portal again.",
    ),
    "used": (
        "This link has already been used",
        "A billing portal link opens once, in one browser. Go back to the business's website"
        " and open the billing portal again.",
    ),
    "signed_out": (
        "Open the billing portal from its link",
        "This page belongs to a billing portal visit that is not open in this browser. Go back"
        " to the business's website and open the billing portal from there.",
    ),
    "unavailable": (
        "The billing portal is not available",
        "The billing portal cannot be opened for this account right now. Contact the business"
        " for help with your billing.",
    ),
    "form_expired": (
        "This form has expired",
        "The form was sent from a page that is no longer current. Go back to the billing"
        " portal and try again.",
    ),
    "feature_off": (
        "This is not available",
        "The business does not offer this in its billing portal.",
    ),
    "missing": (
        "Not found",
        "This is not one of your payment methods or subscriptions, or it was removed.",
    ),
    "default_in_use": (
        "Your default payment method is in use",
        "Your subscriptions are billed to your default payment method, so it cannot be"
        " removed. Add another card and make it your default first.",
    ),
    "invalid": (
        "Something went wrong",
        "Your request could not be completed. Go back to the billing portal and try again.",
    ),
}

router = APIRouter(include_in_schema=False)

Act = Callable[[AsyncSession, Visit, Mapping[str, str]], Awaitable[PageAnswer]]


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _ring(request: Request) -> KeyRing:
    ring: KeyRing = request.app.state.key_ring
    return ring


def _secret(request: Request, session_id: str) -> str | None:
    return request.cookies.get(COOKIE_PREFIX + session_id)


def _page_path(session_id: str) -> str:
    return f"{PORTAL_PATH}/{session_id}"


def _problem(refusal: BeyondpayError, back: str | None = None) -> HTMLResponse:
    """The page of a refusal: a portal's own (its reason's text), or any other typed error
    of the services below (a generic text; its message is for developers, not customers)."""
    portal = refusal if isinstance(refusal, PortalPageError) else None
    title, text = PROBLEMS[portal.reason if portal is not None else "invalid"]
    return page(
        "portal_problem.html",
        status_code=refusal.status,
        title=title,
        text=text,
        return_url=portal.return_url if portal is not None else None,
        merchant_name=portal.merchant_name if portal is not None else None,
        back_url=back,
    )


def _see_other(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=SEE_OTHER, headers=PAGE_HEADERS)


def _answered(session_id: str, answer: PageAnswer) -> RedirectResponse:
    if answer.redirect is not None:
        return _see_other(answer.redirect)
    notice = f"?notice={quote(answer.notice)}" if answer.notice else ""
    return _see_other(_page_path(session_id) + notice)


async def _form(request: Request) -> dict[str, str]:
    """The posted form's fields (the first value of each); a body that is not a small
    url-encoded form is a form that has expired (no browser sends another from our pages)."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    body = await request.body()
    if kind != "application/x-www-form-urlencoded" or len(body) > FORM_BYTES_MAX:
        raise FormExpiredError()
    try:
        parsed = parse_qs(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=FORM_FIELDS_MAX
        )
    except (UnicodeDecodeError, ValueError):
        raise FormExpiredError() from None
    return {name: values[0] for name, values in parsed.items()}


@router.get("/billing_portal/session/{token}")
async def open_portal(request: Request, token: str) -> Response:
    held = {
        name.removeprefix(COOKIE_PREFIX): value
        for name, value in request.cookies.items()
        if name.startswith(COOKIE_PREFIX)
    }
    try:
        async with _database(request).unit_of_work() as session:
            opened = await visit_service.open(session, _ring(request), token, held)
    except BeyondpayError as refusal:
        return _problem(refusal)
    response = _see_other(_page_path(opened.session_id))
    if opened.secret is not None:
        response.set_cookie(
            COOKIE_PREFIX + opened.session_id,
            opened.secret,
            max_age=VISIT_S,
            path=PORTAL_PATH,
            secure=secure_cookies(),
            httponly=True,
            samesite="lax",
        )
    return response


@router.get("/billing_portal/{session_id}")
async def portal_page(request: Request, session_id: str, notice: str | None = None) -> Response:
    async with _database(request).sessionmaker() as session:
        try:
            visit = await _visit(request, session, session_id)
            view = await visit_service.view(session, visit, notice=notice)
        except BeyondpayError as refusal:
            return _problem(refusal)
    return page("portal.html", forms=True, view=view)


async def _visit(request: Request, session: AsyncSession, session_id: str) -> Visit:
    if not is_valid_id(session_id, "bps"):
        raise VisitMissingError()
    return await visit_service.visit(
        session, _ring(request), session_id, _secret(request, session_id)
    )


async def _act(request: Request, session_id: str, act: Act, subject: str | None = None) -> Response:
    """One form of the visit: checked (the visit's cookie, its anti-forgery token, a one-time
    form id), done in one transaction with its audit record, answered with a 303. A refused
    card is the page again with the refusal beside the field; other refusals are a page."""
    back: str | None = None
    fields: dict[str, str] = {}
    async with _database(request).sessionmaker() as session:
        try:
            visit = await _visit(request, session, session_id)
            back = _page_path(session_id)
            fields = await _form(request)
            form_id = fields.get("form_id", "")
            if not visit.form_is_ours(fields.get("csrf_token")) or not FORM_ID_PATTERN.match(
                form_id
            ):
                raise FormExpiredError()
            answer = await act(session, visit, fields)
            await audit(session, request, visit.caller, SEE_OTHER, object_id=subject)
            await session.commit()
        except CardFormError as refusal:
            await session.rollback()
            return await _card_refused(request, session, session_id, refusal, fields)
        except BeyondpayError as refusal:
            await session.rollback()
            return _problem(refusal, back)
    return _answered(session_id, answer)


async def _card_refused(
    request: Request,
    session: AsyncSession,
    session_id: str,
    refusal: CardFormError,
    fields: Mapping[str, str],
) -> Response:
    """The portal again, the card form's refusal beside its field (the name kept; the number
    and CVC never sent back)."""
    try:
        visit = await _visit(request, session, session_id)
        view = await visit_service.view(
            session, visit, card_error=refusal, card_name=fields.get("name")
        )
    except PortalPageError as problem:
        return _problem(problem)
    return page("portal.html", status_code=400, forms=True, view=view)


def _subject(value: str) -> str:
    """A payment method's or subscription's id from the path (checked as the customer's by the
    use case; an id too long is no one's)."""
    return value[:SUBJECT_CHARS_MAX]


@router.post("/billing_portal/{session_id}/cards")
async def add_card(request: Request, session_id: str) -> Response:
    ring = _ring(request)

    async def act(session: AsyncSession, visit: Visit, fields: Mapping[str, str]) -> PageAnswer:
        form = CardForm.parse(fields["form_id"], fields)
        return await visit_service.add_card(session, ring, visit, form, JobPhases(session))

    return await _act(request, session_id, act)


@router.get("/billing_portal/{session_id}/cards/{form_id}")
async def card_returned(request: Request, session_id: str, form_id: str) -> Response:
    """Back from 3-D Secure: the card's setup as the network left it (saved cards become the
    default here, in this request's transaction)."""
    async with _database(request).sessionmaker() as session:
        try:
            visit = await _visit(request, session, session_id)
            answer = await visit_service.card_returned(session, visit, form_id[:32])
            await session.commit()
        except BeyondpayError as refusal:
            await session.rollback()
            return _problem(refusal, _page_path(session_id))
    return _answered(session_id, answer)


@router.post("/billing_portal/{session_id}/payment_methods/{method}/default")
async def make_default(request: Request, session_id: str, method: str) -> Response:
    async def act(session: AsyncSession, visit: Visit, fields: Mapping[str, str]) -> PageAnswer:
        return await visit_service.make_default(session, visit, fields["form_id"], _subject(method))

    return await _act(request, session_id, act, _subject(method))


@router.post("/billing_portal/{session_id}/payment_methods/{method}/remove")
async def remove_method(request: Request, session_id: str, method: str) -> Response:
    async def act(session: AsyncSession, visit: Visit, fields: Mapping[str, str]) -> PageAnswer:
        return await visit_service.remove(session, visit, fields["form_id"], _subject(method))

    return await _act(request, session_id, act, _subject(method))


@router.post("/billing_portal/{session_id}/subscriptions/{subscription}/cancel")
async def cancel_subscription(request: Request, session_id: str, subscription: str) -> Response:
    async def act(session: AsyncSession, visit: Visit, fields: Mapping[str, str]) -> PageAnswer:
        return await visit_service.cancel_subscription(
            session, visit, fields["form_id"], _subject(subscription), fields.get("reason")
        )

    return await _act(request, session_id, act, _subject(subscription))


@router.post("/billing_portal/{session_id}/subscriptions/{subscription}/switch")
async def switch_subscription(request: Request, session_id: str, subscription: str) -> Response:
    async def act(session: AsyncSession, visit: Visit, fields: Mapping[str, str]) -> PageAnswer:
        return await visit_service.switch_subscription(
            session, visit, fields["form_id"], _subject(subscription), fields.get("price", "")
        )

    return await _act(request, session_id, act, _subject(subscription))
