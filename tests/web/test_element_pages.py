"""The card element's script and pages over HTTP: the script is cacheable and revalidates; the
element's frame may be framed by any site while every other page refuses to be; their policy
allows only the platform itself; a frame set up with a wrong key or origin is a 400 page."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx

from tests.support import TestMerchant


def _card_url(**params: str) -> str:
    return "/elements/card?" + urlencode(params)


async def test_the_script_is_served_versioned_cacheable_and_revalidated(
    client: httpx.AsyncClient,
) -> None:
    latest = await client.get("/v1/js")
    versioned = await client.get("/v1/js/v1.js")
    for answer in (latest, versioned):
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "text/javascript; charset=utf-8"
        assert answer.headers["cache-control"] == "public, max-age=300"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cross-origin-resource-policy"] == "cross-origin"
        assert "window.Beyondpay" not in answer.text  # exported through the wrapper's global
        assert "global.Beyondpay = Beyondpay" in answer.text
    assert latest.content == versioned.content
    etag = latest.headers["etag"]
    again = await client.get("/v1/js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    among = await client.get("/v1/js", headers={"If-None-Match": f'"another", W/{etag}'})
    assert among.status_code == 304
    changed = await client.get("/v1/js", headers={"If-None-Match": '"another"'})
    assert changed.status_code == 200


async def test_the_element_frame_may_be_framed_and_allows_only_the_platform(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    url = _card_url(key=merchant.keys["pk_test"], origin="https://shop.example", frame="bp1ab")
    answer = await client.get(url)
    assert answer.status_code == 200, answer.text
    policy = answer.headers["content-security-policy"]
    assert "frame-ancestors *" in policy
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "default-src 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "x-frame-options" not in answer.headers
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert 'data-origin="https://shop.example"' in answer.text
    for name in ("number", "expiry", "cvc"):
        assert f'<label for="{name}">' in answer.text
    assert "<script>" not in answer.text  # no inline script: the policy would refuse it


async def test_other_pages_still_refuse_to_be_framed(client: httpx.AsyncClient) -> None:
    answer = await client.get("/receipts/unknown-token")
    assert answer.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


async def test_a_frame_set_up_wrongly_is_a_400_page_that_echoes_nothing(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    good = {"key": merchant.keys["pk_test"], "origin": "http://127.0.0.1:8080", "frame": "bp1"}
    wrong = [
        {**good, "key": merchant.keys["sk_test"]},  # a secret key must never be in a page
        {**good, "key": ""},
        {**good, "origin": "javascript:alert(1)"},
        {**good, "origin": "https://shop.example/path"},
        {**good, "origin": '"><script>alert(1)</script>'},
        {**good, "frame": "a b"},
    ]
    for params in wrong:
        answer = await client.get(_card_url(**params))
        assert answer.status_code == 400, params
        assert "frame-ancestors *" in answer.headers["content-security-policy"]
        assert merchant.keys["sk_test"] not in answer.text
        assert "<script>alert" not in answer.text
    assert (await client.get(_card_url(**good))).status_code == 200


async def test_the_3d_secure_return_page_posts_only_to_the_given_origin(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/elements/authenticated?origin=https%3A%2F%2Fshop.example")
    assert answer.status_code == 200
    assert 'data-origin="https://shop.example"' in answer.text
    assert "frame-ancestors *" in answer.headers["content-security-policy"]
    refused = await client.get("/elements/authenticated?origin=*")
    assert refused.status_code == 400
