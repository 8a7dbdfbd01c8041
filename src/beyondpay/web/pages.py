"""What every page shares: the templates, the static files and the headers of a page."""

from __future__ import annotations

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
# A page with a form of its own (the hosted invoice's payment): its forms post to the platform
# and nowhere else.
FORM_CONTENT_SECURITY_POLICY: Final = CONTENT_SECURITY_POLICY.replace(
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


def page(
    template: str, status_code: int = 200, *, forms: bool = False, **context: Any
) -> HTMLResponse:
    """The page ``template`` renders, with every page's headers; ``forms``: its forms may post
    to the platform."""
    html = templates.get_template(template).render(**context)
    headers = dict(PAGE_HEADERS)
    if forms:
        headers["Content-Security-Policy"] = FORM_CONTENT_SECURITY_POLICY
    return HTMLResponse(html, status_code=status_code, headers=headers)


def static_files() -> StaticFiles:
    return StaticFiles(packages=[("beyondpay.web", "static")])
