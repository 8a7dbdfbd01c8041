"""Helpers for invoice tests over HTTP: a customer with a saved card, a draft with items, and
the invoices' jobs run as the worker would."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from beyondpay.billing.invoices.collection import collect_on
from beyondpay.billing.invoices.timers import advance_draft, mark_overdue
from beyondpay.db.session import Database
from tests.payments.support import post
from tests.support import TestMerchant


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def customer(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    *,
    card: str | None = "pm_card_visa",
    **params: Any,
) -> dict[str, Any]:
    """A customer (with ``card`` attached as their default payment method, unless None)."""
    body = {"email": "asha@example.com", "name": "Asha Rao", **params}
    if card is not None:
        body["payment_method"] = card
        body["invoice_settings[default_payment_method]"] = card
    return await ok(await post(client, merchant, "/v1/customers", **body))


async def draft(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    customer_id: str,
    amounts: tuple[int, ...] = (150_000,),
    **params: Any,
) -> dict[str, Any]:
    """A draft invoice for ``customer_id`` with one item per amount (INR), re-read."""
    invoice = await ok(await post(client, merchant, "/v1/invoices", customer=customer_id, **params))
    for index, amount in enumerate(amounts):
        await ok(
            await post(
                client,
                merchant,
                "/v1/invoiceitems",
                invoice=invoice["id"],
                amount=amount,
                description=f"Item {index + 1}",
            )
        )
    response = await client.get(f"/v1/invoices/{invoice['id']}", headers=merchant.auth())
    return await ok(response)


async def events_of(database: Database, object_id: str) -> list[str]:
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text("SELECT type FROM events WHERE object_id = :id ORDER BY inserted"),
            {"id": object_id},
        )
        return [str(row) for row in rows.scalars()]


async def _take_jobs(database: Database, task: str) -> list[dict[str, Any]]:
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text(
                "UPDATE procrastinate_jobs SET status = 'succeeded'"
                " WHERE task_name = :task AND status = 'todo' RETURNING id, args"
            ),
            {"task": task},
        )
        return [dict(args) for _, args in sorted(rows.all())]


async def queued(database: Database, task: str) -> list[dict[str, Any]]:
    """The arguments of the ``task`` jobs waiting (left in the queue), oldest first."""
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text(
                "SELECT args FROM procrastinate_jobs WHERE task_name = :task AND status = 'todo'"
                " ORDER BY id"
            ),
            {"task": task},
        )
        return [dict(args) for args in rows.scalars()]


async def run_invoice_jobs(database: Database) -> int:
    """Runs every invoices job queued so far (each once, whatever its scheduled time), as the
    worker would; returns how many ran."""
    ran = 0
    for args in await _take_jobs(database, "invoices:advance"):
        await advance_draft(database, args["invoice"])
        ran += 1
    for args in await _take_jobs(database, "invoices:collect"):
        await collect_on(database, args["invoice"], int(args["attempt"]))
        ran += 1
    for args in await _take_jobs(database, "invoices:overdue"):
        await mark_overdue(database, args["invoice"])
        ran += 1
    return ran
