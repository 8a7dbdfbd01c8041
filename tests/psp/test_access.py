"""Who may call the PSP's routes: every /v1/psp route but those that come before a session
(OTP, sign-up, login, refresh, passkey login, handoff redemption) and the sandbox's answers 401
without a session, with an expired access token and with a merchant's key. The routes are read
from the OpenAPI document, so a new route cannot escape this test."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

import httpx

from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.psp.identity.api import ACCESS_PUBLIC
from beyondpay.psp.identity.domain import ACCESS_TOKEN_TTL_S
from tests.psp.support import sign_up
from tests.support import TestMerchant

PSP_PREFIX: Final = "/v1/psp/"
# The routes a client calls before it has a session: nothing else may be public.
PUBLIC_ROUTES: Final = frozenset(
    {
        ("POST", "/v1/psp/otp"),
        ("POST", "/v1/psp/signup"),
        ("POST", "/v1/psp/login"),
        ("POST", "/v1/psp/sessions/refresh"),
        ("POST", "/v1/psp/passkeys/login/options"),
        ("POST", "/v1/psp/passkeys/login"),
        ("POST", "/v1/psp/handoffs/redeem"),
    }
)
_PATH_PARAMETER: Final = re.compile(r"\{[^}]+\}")


def _routes(document: dict[str, object]) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    paths = document["paths"]
    assert isinstance(paths, dict)
    for path, item in paths.items():
        if not path.startswith(PSP_PREFIX):
            continue
        for method, operation in item.items():
            found.append((method.upper(), path, str(operation.get("x-beyondpay-access"))))
    return found


def _is_public(method: str, path: str, access: str) -> bool:
    return (method, path) in PUBLIC_ROUTES or "/sandbox/" in path


async def test_only_the_routes_before_a_session_are_public(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    routes = _routes(document)
    assert routes, "no /v1/psp routes in the document"
    for method, path, access in routes:
        if access == ACCESS_PUBLIC:
            assert _is_public(method, path, access), f"{method} {path} is public: should it be?"
    declared_public = {(method, path) for method, path, access in routes if access == ACCESS_PUBLIC}
    assert declared_public >= PUBLIC_ROUTES


async def test_payer_routes_need_a_live_session(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    document = (await client.get("/openapi.json")).json()
    guarded = [
        (method, path)
        for method, path, access in _routes(document)
        if not _is_public(method, path, access)
    ]
    assert ("GET", "/v1/psp/me") in guarded
    clock = FrozenClock(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))
    failures: list[str] = []
    with use_clock(clock):
        payer = await sign_up(client)
        expired = payer.headers
        clock.advance(ACCESS_TOKEN_TTL_S + 1)
        callers = {
            "no session": {},
            "an expired token": expired,
            "a merchant's sk_test key": merchant.auth("sk_test"),
            "a malformed token": {"Authorization": "Bearer pst_not-a-token"},
            "Basic credentials": {"Authorization": "Basic cHN0X3g6"},
        }
        for method, path in guarded:
            url = _PATH_PARAMETER.sub("x_unknown", path)
            for who, headers in callers.items():
                answer = await client.request(method, url, headers=headers, json={})
                if answer.status_code != 401:
                    failures.append(f"{method} {path} with {who}: {answer.status_code}")
                elif answer.json()["error"]["type"] != "authentication_error":
                    failures.append(f"{method} {path} with {who}: {answer.text}")
    assert not failures, "\n".join(failures)


async def test_a_payer_session_opens_no_merchant_route(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    payer = await sign_up(client)
    answer = await client.get("/v1/customers", headers=payer.headers)
    assert answer.status_code == 401
    assert (await client.get("/v1/customers", headers=merchant.auth())).status_code == 200
