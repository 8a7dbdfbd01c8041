"""/docs and /redoc load every asset from the platform itself: a laptop with no network (or a
firewalled install) still shows the API's documentation, and no visit is announced to a CDN."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

PAGE_BASE = "http://test"
# What each bundle fetches by itself once loaded (beside the document the page names):
# ReDoc's "powered by" logo, which the packaged bundle asks at <the page's path>/logo-mini.svg.
BUNDLE_FETCHES = {"/docs": [], "/redoc": ["/redoc/logo-mini.svg"]}


class _References(HTMLParser):
    """Every URL the page names: src and href attributes, ReDoc's spec-url, and the document
    URL of Swagger UI's inline set-up script."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        for name, value in attrs:
            if name in ("src", "href", "spec-url") and value:
                self.urls.append(value)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.urls += re.findall(r"""\burl:\s*['"]([^'"]+)['"]""", data)


def _off_host(url: str) -> bool:
    return urlsplit(urljoin(PAGE_BASE, url)).netloc != urlsplit(PAGE_BASE).netloc


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_every_asset_from_the_server(
    client: httpx.AsyncClient, page: str
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    parser = _References()
    parser.feed(response.text)
    references = parser.urls + BUNDLE_FETCHES[page]
    assert any(url.endswith("/openapi.json") for url in references), references
    assert any(url.endswith(".js") for url in references), references
    off_host = [url for url in references if _off_host(url)]
    assert not off_host, f"{page} references assets elsewhere: {off_host}"
    assert "googleapis" not in response.text and "cdn." not in response.text
    for url in references:
        asset = await client.get(urljoin(PAGE_BASE + page, url))
        assert asset.status_code == 200, url
        assert asset.content, url
        if url.endswith(".js"):
            assert "javascript" in asset.headers["content-type"]
            # The bundle's own fetches are on this origin too (the logo is the only one).
            assert "https://cdn." not in asset.text, url
        if url.endswith(".css"):
            assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", asset.text), url


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_forbid_other_origins(client: httpx.AsyncClient, page: str) -> None:
    """The browser itself refuses anything from elsewhere a later bundle might ask for."""
    policy = (await client.get(page)).headers["content-security-policy"]
    directives = {}
    for part in policy.split(";"):
        name, _, sources = part.strip().partition(" ")
        directives[name] = sources
    assert directives["default-src"] == "'self'"
    for name in ("script-src", "connect-src", "img-src", "style-src", "font-src"):
        assert "http" not in directives[name] and "*" not in directives[name], name
    assert "'unsafe-inline'" not in directives["script-src"]
