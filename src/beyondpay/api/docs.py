"""The API's documentation pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served with
every asset from the platform itself.

FastAPI's own pages load Swagger UI and ReDoc from a CDN (and ReDoc's fonts from Google), so a
self-hosted platform on a laptop without a network, or behind a firewall, shows a blank page.
The assets come from the ``fastapi-standalone-docs`` package: a maintained wheel that vendors
Swagger UI's and ReDoc's bundles, with ReDoc's "powered by" logo patched to load from the page's
own path instead of Redocly's CDN (``fastapi-offline``, the better-known package, ships ReDoc
unpatched, so its ``/redoc`` still fetches from a CDN). We serve its files and render the pages
with FastAPI's own functions, rather than let it patch ``fastapi.applications`` for the whole
process. The pages' Content-Security-Policy allows only this origin, so a browser refuses
whatever a later bundle might try to fetch from elsewhere instead of leaking the visit.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files
from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse

DOCS_PATH: Final = "/docs"
REDOC_PATH: Final = "/redoc"
ASSETS_PATH: Final = "/docs/assets"
SWAGGER_JS: Final = "swagger/swagger-ui-bundle.js"
SWAGGER_CSS: Final = "swagger/swagger-ui.css"
REDOC_JS: Final = "redoc/redoc.standalone.js"
FAVICON: Final = "fastapi/favicon.png"
# Swagger UI asks validator.swagger.io about the document unless told not to.
SWAGGER_UI_PARAMETERS: Final = {"validatorUrl": None}
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def assets_directory() -> Path:
    return Path(str(files("fastapi_standalone_docs") / "static"))


def _content_security_policy(html: str) -> str:
    """Only this origin; the page's own inline script by its hash. Swagger UI and ReDoc set
    inline styles and show data: images; ReDoc runs its search in a blob: worker."""
    scripts = [
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    ]
    directives = [
        "default-src 'self'",
        " ".join(["script-src 'self'", *scripts]),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def _page(html: str) -> HTMLResponse:
    return HTMLResponse(html, headers={"Content-Security-Policy": _content_security_policy(html)})


def install_docs(app: FastAPI) -> None:
    """``/docs`` and ``/redoc`` over ``app.openapi_url``; the app is built with FastAPI's own
    ``docs_url`` and ``redoc_url`` off."""
    openapi_url = app.openapi_url or "/openapi.json"
    assets = assets_directory()
    app.mount(ASSETS_PATH, StaticFiles(directory=assets), name="docs-assets")
    # The patched ReDoc bundle asks for its logo at <the page's path>/logo-mini.svg.
    app.mount(REDOC_PATH, StaticFiles(directory=assets / "redoc"), name="redoc-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        response = get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} API",
            swagger_js_url=f"{root}{ASSETS_PATH}/{SWAGGER_JS}",
            swagger_css_url=f"{root}{ASSETS_PATH}/{SWAGGER_CSS}",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/{FAVICON}",
            oauth2_redirect_url=None,
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )
        return _page(bytes(response.body).decode())

    @app.get(REDOC_PATH, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        response = get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} API",
            redoc_js_url=f"{root}{ASSETS_PATH}/{REDOC_JS}",
            redoc_favicon_url=f"{root}{ASSETS_PATH}/{FAVICON}",
            with_google_fonts=False,
        )
        return _page(bytes(response.body).decode())
