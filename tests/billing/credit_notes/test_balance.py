"""The customer balance over HTTP: adjustments either way, the customer's ``balance`` equal to
its ledger account, the next invoice taking the credit (``starting_balance``,
``ending_balance``, ``amount_due``, an ``applied_to_invoice`` transaction), an invoice wholly
covered by credit paid with no payment, a debt collected by the next invoice, the credit given
back when that invoice is voided, and refusals naming the parameter."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from tests.billing.invoices.support import customer, draft, events_of, ok
from tests.payments.support import get, post
from tests.support import TestMerchant


async def ledger_balance(database: Database, customer_id: str) -> int:
    """The customer's ``customer_balance`` ledger account: debits less credits."""
    async with database.unit_of_work() as session:
        found = await session.execute(
            text(
                "SELECT coalesce(sum(debits_posted - credits_posted), 0) FROM ledger_accounts"
                " WHERE code = 'customer_balance' AND id LIKE :pattern"
            ),
            {"pattern": f"%:customer_balance:{customer_id}:%"},
        )
        return int(found.scalar_one())


async def adjust(
    client: httpx.AsyncClient, merchant: TestMerchant, customer_id: str, amount: int, **extra: str
) -> dict[str, object]:
    return await ok(
        await post(
            client,
            merchant,
            f"/v1/customers/{customer_id}/balance_transactions",
            amount=amount,
            currency="inr",
            **extra,
        )
    )


async def test_adjustments_move_the_balance_and_its_ledger_account(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant, card=None)
    assert buyer["balance"] == 0 and buyer["currency"] is None
    credit = await adjust(
        client, merchant, buyer["id"], -50_000, description="Goodwill", **{"metadata[ticket]": "7"}
    )
    assert credit["id"].startswith("cbtxn_") and credit["object"] == "customer_balance_transaction"
    assert (credit["type"], credit["amount"], credit["ending_balance"]) == (
        "adjustment",
        -50_000,
        -50_000,
    )
    assert credit["metadata"] == {"ticket": "7"} and credit["description"] == "Goodwill"
    debt = await adjust(client, merchant, buyer["id"], 20_000)
    assert debt["ending_balance"] == -30_000
    found = await get(client, merchant, f"/v1/customers/{buyer['id']}")
    assert (found["balance"], found["currency"]) == (-30_000, "inr")
    assert await ledger_balance(database, buyer["id"]) == -30_000
    assert (await events_of(database, buyer["id"])).count("customer.updated") == 2

    listed = await get(client, merchant, f"/v1/customers/{buyer['id']}/balance_transactions")
    assert [row["id"] for row in listed["data"]] == [debt["id"], credit["id"]]
    assert listed["url"] == f"/v1/customers/{buyer['id']}/balance_transactions"
    path = f"/v1/customers/{buyer['id']}/balance_transactions/{credit['id']}"
    assert (await get(client, merchant, path))["amount"] == -50_000
    updated = await ok(
        await post(client, merchant, path, description="Sorry", **{"metadata[ticket]": ""})
    )
    assert updated["description"] == "Sorry" and updated["metadata"] == {}
    assert updated["amount"] == -50_000


async def test_refusals_name_the_parameter(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    buyer = await customer(client, merchant, card=None)
    path = f"/v1/customers/{buyer['id']}/balance_transactions"
    zero = await post(client, merchant, path, amount=0, currency="inr")
    assert zero.status_code == 400 and zero.json()["error"]["param"] == "amount"
    missing = await post(client, merchant, path, amount=-100)
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "currency"
    await adjust(client, merchant, buyer["id"], -100)
    other = await post(client, merchant, path, amount=-100, currency="usd")
    assert other.status_code == 400 and other.json()["error"]["param"] == "currency", other.text
    nobody = await post(
        client, merchant, "/v1/customers/cus_nobody/balance_transactions", amount=-1, currency="inr"
    )
    assert nobody.status_code == 404
    unknown = await client.get(f"{path}/cbtxn_nothing", headers=merchant.auth())
    assert unknown.status_code == 404


async def test_the_next_invoice_takes_the_credit(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant)
    await adjust(client, merchant, buyer["id"], -50_000)
    invoice = await draft(client, merchant, buyer["id"], (150_000,))
    assert invoice["starting_balance"] == 0 and invoice["ending_balance"] is None
    opened = await ok(await post(client, merchant, f"/v1/invoices/{invoice['id']}/finalize"))
    assert (opened["total"], opened["amount_due"]) == (150_000, 100_000)
    assert (opened["starting_balance"], opened["ending_balance"]) == (-50_000, 0)
    applied = await get(
        client, merchant, f"/v1/customers/{buyer['id']}/balance_transactions", invoice=invoice["id"]
    )
    assert [(row["type"], row["amount"], row["ending_balance"]) for row in applied["data"]] == [
        ("applied_to_invoice", 50_000, 0)
    ]
    paid = await ok(await post(client, merchant, f"/v1/invoices/{invoice['id']}/pay"))
    assert (paid["status"], paid["amount_paid"], paid["amount_remaining"]) == ("paid", 100_000, 0)
    assert (await get(client, merchant, f"/v1/customers/{buyer['id']}"))["balance"] == 0
    assert await ledger_balance(database, buyer["id"]) == 0


async def test_an_invoice_covered_by_credit_is_paid_without_a_payment(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant, card=None)
    await adjust(client, merchant, buyer["id"], -200_000)
    invoice = await draft(client, merchant, buyer["id"], (150_000,))
    paid = await ok(await post(client, merchant, f"/v1/invoices/{invoice['id']}/finalize"))
    assert (paid["status"], paid["amount_due"], paid["amount_paid"]) == ("paid", 0, 0)
    assert (paid["starting_balance"], paid["ending_balance"]) == (-200_000, -50_000)
    assert (await get(client, merchant, f"/v1/customers/{buyer['id']}"))["balance"] == -50_000
    assert await ledger_balance(database, buyer["id"]) == -50_000
    found = await get(client, merchant, f"/v1/invoices/{invoice['id']}", **{"expand[]": "payments"})
    assert found["payments"]["data"] == []


async def test_a_debt_is_added_to_the_next_invoice_and_a_void_gives_credit_back(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant)
    await adjust(client, merchant, buyer["id"], 25_000)
    invoice = await draft(client, merchant, buyer["id"], (100_000,))
    opened = await ok(await post(client, merchant, f"/v1/invoices/{invoice['id']}/finalize"))
    assert (opened["amount_due"], opened["starting_balance"], opened["ending_balance"]) == (
        125_000,
        25_000,
        0,
    )
    assert (await get(client, merchant, f"/v1/customers/{buyer['id']}"))["balance"] == 0
    voided = await ok(await post(client, merchant, f"/v1/invoices/{invoice['id']}/void"))
    assert voided["status"] == "void"
    assert (await get(client, merchant, f"/v1/customers/{buyer['id']}"))["balance"] == 25_000
    assert await ledger_balance(database, buyer["id"]) == 25_000
    history = await get(client, merchant, f"/v1/customers/{buyer['id']}/balance_transactions")
    assert [row["type"] for row in history["data"]] == [
        "unapplied_from_invoice",
        "applied_to_invoice",
        "adjustment",
    ]
