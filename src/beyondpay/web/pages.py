"""What every page shares: the templates, the static files and the headers of a page."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Final

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

STATIC_PATH: Final = "/static"
# Nothing but the platform's own styles and images; no script at all, no frames, no forms
# posting elsewhere. A page that needs a script adds 'self' for script-src, never inline.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
# A page with forms (the customer portal) posts them to the platform itself and nowhere else.
FORMS_CONTENT_SECURITY_POLICY: Final = CONTENT_SECURITY_POLICY.replace(
    "form-action 'none'", "form-action 'self'"
)
PAGE_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # A receipt's link is its only credential: never sent on to another site, never cached
    # by a shared cache, never indexed.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
}

templates = Environment(
    loader=PackageLoader("beyondpay.web", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.globals["static"] = lambda name: f"{STATIC_PATH}/{name}"
# Dates on pages are for people in India: IST (UTC+05:30 all year, no daylight saving).
IST: Final = timezone(timedelta(hours=5, minutes=30), "IST")


# Spelled out rather than strftime("%b"), which follows the process's locale.
_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


def _date_ist(moment: datetime) -> str:
    """ "07 Apr 2026": a day as a person in India names it."""
    local = moment.astimezone(IST)
    return f"{local.day:02d} {_MONTHS[local.month - 1]} {local.year}"


templates.filters["date_ist"] = _date_ist


def page(
    template: str, status_code: int = 200, *, forms: bool = False, **context: Any
) -> HTMLResponse:
    """``template`` rendered with ``context``; ``forms``: the page posts forms to us."""
    html = templates.get_template(template).render(**context)
    headers = PAGE_HEADERS
    if forms:
        headers = {**PAGE_HEADERS, "Content-Security-Policy": FORMS_CONTENT_SECURITY_POLICY}
    return HTMLResponse(html, status_code=status_code, headers=headers)


def static_files() -> StaticFiles:
    return StaticFiles(packages=[("beyondpay.web", "static")])
