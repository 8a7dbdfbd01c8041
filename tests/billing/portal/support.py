"""Helpers for the customer portal's tests: a customer, a portal session over the API, the
visit a browser-like client opens with its link, and the page's forms."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from tests.support import TestMerchant

_HIDDEN = re.compile(r'name="(csrf_token|form_id)" value="([^"]+)"')


async def customer(client: httpx.AsyncClient, merchant: TestMerchant, **params: Any) -> str:
    made = await client.post(
        "/v1/customers",
        data={"name": "Asha Rao", "email": "asha@example.com", **params},
        headers=merchant.auth(),
    )
    assert made.status_code == 200, made.text
    return str(made.json()["id"])


async def portal_session(
    client: httpx.AsyncClient, merchant: TestMerchant, customer_id: str, **params: Any
) -> dict[str, Any]:
    made = await client.post(
        "/v1/billing_portal/sessions",
        data={"customer": customer_id, "return_url": "https://shop.example/account", **params},
        headers=merchant.auth(),
    )
    assert made.status_code == 200, made.text
    answer: dict[str, Any] = made.json()
    return answer


def path_of(url: str) -> str:
    return httpx.URL(url).raw_path.decode()


async def open_visit(client: httpx.AsyncClient, session: dict[str, Any]) -> str:
    """Opens the session's link as a browser would (keeping the visit's cookie); the portal
    page's path."""
    opened = await client.get(path_of(session["url"]))
    assert opened.status_code == 303, opened.text
    location = opened.headers["location"]
    assert location == f"/billing_portal/{session['id']}"
    return location


def forms(html: str) -> list[dict[str, str]]:
    """Each form of a page: its action and its hidden keys."""
    found = []
    for match in re.finditer(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', html, re.S):
        keys = dict(_HIDDEN.findall(match.group(2)))
        found.append({"action": match.group(1), **keys})
    return found


def form_to(html: str, action_suffix: str) -> dict[str, str]:
    """The page's form whose action ends with ``action_suffix``."""
    matching = [form for form in forms(html) if form["action"].endswith(action_suffix)]
    assert len(matching) == 1, (action_suffix, [form["action"] for form in forms(html)])
    return matching[0]


async def post_form(
    client: httpx.AsyncClient, form: dict[str, str], **fields: str
) -> httpx.Response:
    body = {"csrf_token": form["csrf_token"], "form_id": form["form_id"], **fields}
    return await client.post(form["action"], data=body)


async def add_card(
    client: httpx.AsyncClient, page_path: str, number: str, **fields: str
) -> httpx.Response:
    page = await client.get(page_path)
    assert page.status_code == 200, page.text
    form = form_to(page.text, "/cards")
    values = {"number": number, "exp_month": "12", "exp_year": "2035", "cvc": "123", **fields}
    return await post_form(client, form, **values)


async def event_types(database: Database, object_id: str) -> list[str]:
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text("SELECT type FROM events WHERE object_id = :id ORDER BY inserted"),
            {"id": object_id},
        )
        return [str(row) for row in rows.scalars()]


async def execute(database: Database, statement: str, **values: Any) -> Any:
    async with database.unit_of_work() as session:
        result = await session.execute(text(statement), values)
        return result.all() if result.returns_rows else None
