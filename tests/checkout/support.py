"""Helpers for checkout's tests: a session made over HTTP, its page's path, paying on it."""

from __future__ import annotations

import re
from typing import Any, Final

import httpx

from tests.billing.invoices.support import events_of, ok
from tests.payments.support import post
from tests.support import TestMerchant

__all__ = ["events_of"]

CSRF: Final = re.compile(r'name="csrf" value="([^"]+)"')
EMAIL: Final = "asha@example.in"
SUCCESS_URL: Final = "https://shop.example/thanks?session={CHECKOUT_SESSION_ID}"


async def session(
    client: httpx.AsyncClient, merchant: TestMerchant, **extra: Any
) -> dict[str, Any]:
    """A payment-mode session for two inline lines: ₹1,499.00 twice and ₹250.50, total
    ₹3,248.50 (a parameter given as None is left out)."""
    params: dict[str, Any] = {
        "mode": "payment",
        "success_url": SUCCESS_URL,
        "cancel_url": "https://shop.example/cart",
        "line_items[0][price_data][currency]": "inr",
        "line_items[0][price_data][unit_amount]": "149900",
        "line_items[0][price_data][product_data][name]": "Cotton kurta",
        "line_items[0][quantity]": "2",
        "line_items[1][price_data][currency]": "inr",
        "line_items[1][price_data][unit_amount]": "25050",
        "line_items[1][price_data][product_data][name]": "Gift wrap",
        "line_items[1][quantity]": "1",
        **extra,
    }
    sent = {key: value for key, value in params.items() if value is not None}
    return await ok(await post(client, merchant, "/v1/checkout/sessions", **sent))


def path_of(made: dict[str, Any]) -> str:
    return httpx.URL(made["url"]).path


async def page(client: httpx.AsyncClient, path: str) -> tuple[httpx.Response, str]:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    found = CSRF.search(response.text)
    return response, found.group(1) if found else ""


async def give_email(client: httpx.AsyncClient, path: str, email: str = EMAIL) -> str:
    """The page's email step, when it asks for one (no customer, no customer_email); the CSRF
    token of the page after it."""
    shown, csrf = await page(client, path)
    if f'action="{path}/email"' in shown.text:
        answer = await client.post(f"{path}/email", data={"csrf": csrf, "email": email})
        assert answer.status_code == 303, answer.text
        _, csrf = await page(client, path)
    return csrf


async def pay(client: httpx.AsyncClient, path: str, **form: str) -> httpx.Response:
    csrf = await give_email(client, path)
    return await client.post(f"{path}/pay", data={"csrf": csrf, **form})


def card(number: str) -> dict[str, str]:
    return {"method": "card", "number": number, "exp_month": "12", "exp_year": "34", "cvc": "123"}


async def setup_session(
    client: httpx.AsyncClient, merchant: TestMerchant, **extra: Any
) -> dict[str, Any]:
    """A setup-mode session (a parameter given as None is left out)."""
    params: dict[str, Any] = {
        "mode": "setup",
        "currency": "inr",
        "success_url": SUCCESS_URL,
        "cancel_url": "https://shop.example/account",
        **extra,
    }
    sent = {key: value for key, value in params.items() if value is not None}
    return await ok(await post(client, merchant, "/v1/checkout/sessions", **sent))


async def save(client: httpx.AsyncClient, path: str, **form: str) -> httpx.Response:
    """The setup page's card form, posted."""
    _, csrf = await page(client, path)
    return await client.post(f"{path}/setup", data={"csrf": csrf, **form})
