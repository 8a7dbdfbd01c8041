"""Invoices and invoice items over HTTP: items pending and on drafts, totals, finalization and
its consecutive numbers, paying (a saved card, a decline, out of band, nothing due, 3-D Secure),
voiding, uncollectible, sending, the state machine's refusals with their codes, bad input
naming the parameter, and who may see what (another merchant, a restricted key, live mode)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock, utcnow
from tests.billing.invoices.support import customer, draft, events_of, ok
from tests.notifications.support import sandbox_emails, send_queued
from tests.payments.support import balance_and_transactions, get, post
from tests.support import TestMerchant, make_merchant

ALWAYS_AUTHENTICATE = "pm_card_authenticationRequired"  # 4000 0027 6000 3184


def _error(response: httpx.Response, status: int, code: str, param: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    if param is not None:
        assert error.get("param") == param, error


async def _finalize(
    client: httpx.AsyncClient, merchant: TestMerchant, invoice: str, **params: Any
) -> dict[str, Any]:
    return await ok(await post(client, merchant, f"/v1/invoices/{invoice}/finalize", **params))


async def _charges_of(database: Database, intent: str) -> list[str]:
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text("SELECT status FROM charges WHERE payment_intent_id = :id ORDER BY id"),
            {"id": intent},
        )
        return [str(status) for status in rows.scalars()]


async def _intent_of(
    client: httpx.AsyncClient, merchant: TestMerchant, invoice: str
) -> dict[str, Any]:
    found = await get(client, merchant, f"/v1/invoices/{invoice}", **{"expand[]": "payments"})
    intent_id = found["payments"]["data"][0]["payment"]["payment_intent"]
    answer: dict[str, Any] = await get(client, merchant, f"/v1/payment_intents/{intent_id}")
    return answer


async def test_an_invoice_is_drafted_finalized_and_paid_with_the_saved_card(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant)
    invoice = await draft(
        client, merchant, buyer["id"], (150_000, 2_500), description="December retainer"
    )
    assert invoice["id"].startswith("in_") and invoice["status"] == "draft"
    assert (invoice["subtotal"], invoice["total"], invoice["amount_due"]) == (152_500,) * 3
    assert invoice["number"] is None and invoice["hosted_invoice_url"] is None
    assert invoice["lines"]["total_count"] == 2 and invoice["total_taxes"] == []
    line = invoice["lines"]["data"][0]
    assert line["object"] == "line_item" and line["id"].startswith("il_")
    assert line["parent"]["invoice_item_details"]["invoice_item"].startswith("ii_")

    opened = await _finalize(client, merchant, invoice["id"])
    assert opened["status"] == "open" and opened["number"] == opened["number"].upper()
    assert opened["number"].startswith("INV/") and opened["number"].endswith("/0000001")
    assert len(opened["number"]) <= 16
    assert opened["hosted_invoice_url"].startswith("http") and opened["invoice_pdf"].endswith(
        "/pdf"
    )
    assert opened["status_transitions"]["finalized_at"] is not None
    assert opened["customer_email"] == "asha@example.com" and opened["account_name"] == "Acme"

    paid = await ok(await post(client, merchant, f"/v1/invoices/{invoice['id']}/pay"))
    assert paid["status"] == "paid" and paid["amount_paid"] == 152_500
    assert paid["amount_remaining"] == 0 and paid["attempt_count"] == 1 and paid["attempted"]
    assert paid["status_transitions"]["paid_at"] is not None
    assert await events_of(database, invoice["id"]) == [
        "invoice.created",
        "invoice.finalized",
        "invoice.payment_succeeded",
        "invoice.paid",
    ]
    intent = await _intent_of(client, merchant, invoice["id"])
    assert intent["status"] == "succeeded" and intent["amount"] == 152_500
    assert (
        intent["customer"] == buyer["id"] and intent["description"] == f"Invoice {paid['number']}"
    )
    assert await _charges_of(database, intent["id"]) == ["succeeded"]
    # The invoice's money moved as its PaymentIntent's did: one charge, its fee, nothing else.
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums and balance["pending"] > 0

    expanded = await get(
        client, merchant, f"/v1/invoices/{invoice['id']}", **{"expand[]": "payments"}
    )
    payment = expanded["payments"]["data"][0]
    assert payment["object"] == "invoice_payment" and payment["status"] == "paid"
    assert payment["amount_paid"] == 152_500 and payment["is_default"]


async def test_numbers_are_consecutive_per_merchant_and_take_the_prefix(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant)
    numbers = []
    for _ in range(3):
        invoice = await draft(client, merchant, buyer["id"])
        numbers.append((await _finalize(client, merchant, invoice["id"]))["number"])
    assert [number.rsplit("/", 1)[1] for number in numbers] == ["0000001", "0000002", "0000003"]
    settings = await ok(
        await post(client, merchant, "/v1/billing/invoice_settings", number_prefix="ACME")
    )
    assert settings["number_prefix"] == "ACME" and settings["next_number"].endswith("/000004")
    invoice = await draft(client, merchant, buyer["id"])
    fourth = (await _finalize(client, merchant, invoice["id"]))["number"]
    assert fourth.startswith("ACME/") and fourth.endswith("/000004") and len(fourth) == 16
    _error(
        await post(client, merchant, "/v1/billing/invoice_settings", number_prefix="acme-1"),
        400,
        "parameter_invalid",
        "number_prefix",
    )
    # Another merchant counts from 1; so does live mode, apart from test mode.
    other = await make_merchant(database, name="Other")
    other_buyer = await customer(client, other)
    other_invoice = await draft(client, other, other_buyer["id"])
    assert (await _finalize(client, other, other_invoice["id"]))["number"].endswith("/0000001")


async def test_pending_items_are_taken_in_only_when_asked(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant)
    first = await ok(
        await post(
            client,
            merchant,
            "/v1/invoiceitems",
            customer=buyer["id"],
            currency="inr",
            unit_amount_decimal="2500",
            quantity=4,
            description="Seats",
            **{"metadata[plan]": "team"},
        )
    )
    assert first["invoice"] is None and first["amount"] == 10_000 and first["quantity"] == 4
    assert first["pricing"]["unit_amount_decimal"] == "2500"
    second = await ok(
        await post(
            client, merchant, "/v1/invoiceitems", customer=buyer["id"], currency="inr", amount=500
        )
    )
    pending = await get(client, merchant, "/v1/invoiceitems", pending="true", customer=buyer["id"])
    assert {item["id"] for item in pending["data"]} == {first["id"], second["id"]}

    # Stripe's default: pending items stay pending.
    empty = await ok(await post(client, merchant, "/v1/invoices", customer=buyer["id"]))
    assert empty["lines"]["total_count"] == 0 and empty["total"] == 0
    taken = await ok(
        await post(
            client,
            merchant,
            "/v1/invoices",
            customer=buyer["id"],
            pending_invoice_items_behavior="include",
        )
    )
    assert taken["lines"]["total_count"] == 2 and taken["total"] == 10_500
    assert [line["amount"] for line in taken["lines"]["data"]] == [10_000, 500]
    after = await get(client, merchant, "/v1/invoiceitems", pending="true", customer=buyer["id"])
    assert after["data"] == []
    on_it = await get(client, merchant, "/v1/invoiceitems", invoice=taken["id"])
    assert len(on_it["data"]) == 2

    # Deleting the draft gives its items back to the customer's pending ones.
    deleted = await ok(await client.delete(f"/v1/invoices/{taken['id']}", headers=merchant.auth()))
    assert deleted == {"id": taken["id"], "object": "invoice", "deleted": True}
    _error(
        await client.get(f"/v1/invoices/{taken['id']}", headers=merchant.auth()),
        404,
        "resource_missing",
    )
    again = await get(client, merchant, "/v1/invoiceitems", pending="true", customer=buyer["id"])
    assert len(again["data"]) == 2
    assert "invoice.deleted" in await events_of(database, taken["id"])


async def test_a_drafts_items_change_its_totals_and_a_finalized_ones_do_not_change(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    buyer = await customer(client, merchant)
    invoice = await draft(client, merchant, buyer["id"], (1_000, 2_000))
    item = invoice["lines"]["data"][0]["parent"]["invoice_item_details"]["invoice_item"]
    updated = await ok(
        await post(
            client, merchant, f"/v1/invoiceitems/{item}", unit_amount_decimal="1500", quantity=2
        )
    )
    assert updated["amount"] == 3_000
    again = await get(client, merchant, f"/v1/invoices/{invoice['id']}")
    assert again["total"] == 5_000
    gone = await ok(await client.delete(f"/v1/invoiceitems/{item}", headers=merchant.auth()))
    assert gone == {"id": item, "object": "invoiceitem", "deleted": True}
    assert (await get(client, merchant, f"/v1/invoices/{invoice['id']}"))["total"] == 2_000

    opened = await _finalize(client, merchant, invoice["id"])
    last = opened["lines"]["data"][0]["parent"]["invoice_item_details"]["invoice_item"]
    _error(
        await post(client, merchant, f"/v1/invoiceitems/{last}", amount=1),
        400,
        "invoice_not_editable",
    )
    _error(
        await client.delete(f"/v1/invoiceitems/{last}", headers=merchant.auth()),
        400,
        "invoice_not_editable",
    )
    _error(
        await post(client, merchant, "/v1/invoiceitems", invoice=invoice["id"], amount=100),
        400,
        "invoice_not_editable",
    )
    _error(
        await post(client, merchant, f"/v1/invoices/{invoice['id']}", description="Changed"),
        400,
        "invoice_not_editable",
        "description",
    )
    kept = await ok(
        await post(client, merchant, f"/v1/invoices/{invoice['id']}", **{"metadata[po]": "PO-7"})
    )
    assert kept["metadata"] == {"po": "PO-7"} and kept["total"] == 2_000
    _error(
        await client.delete(f"/v1/invoices/{invoice['id']}", headers=merchant.auth()),
        400,
        "invoice_unexpected_state",
    )


async def test_bad_input_is_refused_naming_the_parameter(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    buyer = await customer(client, merchant)
    items = "/v1/invoiceitems"
    cases: list[tuple[str, dict[str, Any], int, str, str]] = [
        (items, {"customer": buyer["id"], "currency": "inr"}, 400, "parameter_missing", "amount"),
        (items, {"customer": buyer["id"], "amount": 100}, 400, "parameter_missing", "currency"),
        (items, {"currency": "inr", "amount": 100}, 400, "parameter_missing", "customer"),
        (
            items,
            {"customer": "cus_nope", "currency": "inr", "amount": 1},
            404,
            "resource_missing",
            "customer",
        ),
        (
            items,
            {"customer": buyer["id"], "currency": "xyz", "amount": 1},
            400,
            "parameter_invalid",
            "currency",
        ),
        (
            items,
            {"customer": buyer["id"], "currency": "inr", "unit_amount_decimal": "10.5"},
            400,
            "parameter_invalid",
            "unit_amount_decimal",
        ),
        (
            items,
            {"customer": buyer["id"], "currency": "inr", "amount": 100, "quantity": 3},
            400,
            "parameter_invalid",
            "quantity",
        ),
        (
            items,
            {
                "customer": buyer["id"],
                "currency": "inr",
                "amount": 1,
                "period[start]": 20,
                "period[end]": 10,
            },
            400,
            "parameter_invalid",
            "period[end]",
        ),
        (
            items,
            {"customer": buyer["id"], "currency": "inr", "amount": 1, "plan": "p"},
            400,
            "parameter_unknown",
            "plan",
        ),
        ("/v1/invoices", {}, 400, "parameter_missing", "customer"),
        ("/v1/invoices", {"customer": "cus_nope"}, 404, "resource_missing", "customer"),
        (
            "/v1/invoices",
            {"customer": buyer["id"], "days_until_due": 5},
            400,
            "parameter_invalid",
            "days_until_due",
        ),
        (
            "/v1/invoices",
            {"customer": buyer["id"], "collection_method": "send_invoice", "due_date": 1_000},
            400,
            "parameter_invalid",
            "due_date",
        ),
        (
            "/v1/invoices",
            {"customer": buyer["id"], "collection_method": "wire"},
            400,
            "parameter_invalid",
            "collection_method",
        ),
        (
            "/v1/invoices",
            {"customer": buyer["id"], "default_payment_method": "pm_nope"},
            404,
            "resource_missing",
            "default_payment_method",
        ),
    ]
    for path, params, status, code, param in cases:
        _error(await post(client, merchant, path, **params), status, code, param)


async def test_the_state_machine_refuses_with_stripe_like_codes(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant)
    invoice = await draft(client, merchant, buyer["id"])
    path = f"/v1/invoices/{invoice['id']}"
    _error(await post(client, merchant, f"{path}/void"), 400, "invoice_unexpected_state")
    _error(
        await post(client, merchant, f"{path}/mark_uncollectible"), 400, "invoice_unexpected_state"
    )
    await _finalize(client, merchant, invoice["id"])
    _error(await post(client, merchant, f"{path}/finalize"), 400, "invoice_unexpected_state")
    uncollectible = await ok(await post(client, merchant, f"{path}/mark_uncollectible"))
    assert uncollectible["status"] == "uncollectible"
    assert uncollectible["status_transitions"]["marked_uncollectible_at"] is not None
    _error(
        await post(client, merchant, f"{path}/mark_uncollectible"), 400, "invoice_unexpected_state"
    )
    # Stripe: an uncollectible invoice may still be paid.
    paid = await ok(await post(client, merchant, f"{path}/pay"))
    assert paid["status"] == "paid"
    _error(await post(client, merchant, f"{path}/pay"), 400, "invoice_already_paid")
    _error(await post(client, merchant, f"{path}/void"), 400, "invoice_unexpected_state")
    _error(await client.delete(path, headers=merchant.auth()), 400, "invoice_unexpected_state")
    assert await events_of(database, invoice["id"]) == [
        "invoice.created",
        "invoice.finalized",
        "invoice.marked_uncollectible",
        "invoice.payment_succeeded",
        "invoice.paid",
    ]


async def test_a_declined_card_leaves_the_invoice_open_and_another_pays_it(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant, card="pm_card_chargeDeclined")
    invoice = await draft(client, merchant, buyer["id"])
    declined = await post(client, merchant, f"/v1/invoices/{invoice['id']}/pay")
    assert declined.status_code == 402, declined.text
    error = declined.json()["error"]
    assert (error["type"], error["code"], error["decline_code"]) == (
        "card_error",
        "card_declined",
        "generic_decline",
    )
    after = await get(client, merchant, f"/v1/invoices/{invoice['id']}")
    assert after["status"] == "open" and after["attempt_count"] == 1 and after["attempted"]
    assert after["next_payment_attempt"] is None
    paid = await ok(
        await post(
            client,
            merchant,
            f"/v1/invoices/{invoice['id']}/pay",
            payment_method="pm_card_mastercard",
        )
    )
    assert paid["status"] == "paid" and paid["attempt_count"] == 1  # a manual retry adds none
    assert await events_of(database, invoice["id"]) == [
        "invoice.created",
        "invoice.finalized",
        "invoice.payment_failed",
        "invoice.payment_succeeded",
        "invoice.paid",
    ]
    intent = await _intent_of(client, merchant, invoice["id"])
    assert await _charges_of(database, intent["id"]) == ["failed", "succeeded"]


async def test_without_a_payment_method_pay_names_it(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    buyer = await customer(client, merchant, card=None)
    invoice = await draft(client, merchant, buyer["id"])
    _error(
        await post(client, merchant, f"/v1/invoices/{invoice['id']}/pay"),
        400,
        "invoice_payment_method_missing",
        "payment_method",
    )
    # The refusal rolled back nothing it should keep: the draft was finalized in that
    # request only if the payment could be asked for.
    assert (await get(client, merchant, f"/v1/invoices/{invoice['id']}"))["status"] == "draft"


async def test_paid_out_of_band_moves_no_money(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant)
    invoice = await draft(client, merchant, buyer["id"])
    await _finalize(client, merchant, invoice["id"])
    paid = await ok(
        await post(client, merchant, f"/v1/invoices/{invoice['id']}/pay", paid_out_of_band="true")
    )
    assert paid["status"] == "paid" and paid["amount_paid"] == 150_000
    assert paid["amount_paid_off_stripe"] == 150_000 and paid["attempt_count"] == 0
    intent = await _intent_of(client, merchant, invoice["id"])
    assert intent["status"] == "canceled" and await _charges_of(database, intent["id"]) == []
    balance, _ = await balance_and_transactions(client, merchant)
    assert balance == {"available": 0, "pending": 0}
    assert (await events_of(database, invoice["id"]))[-1] == "invoice.paid"


async def test_a_void_invoice_cancels_its_payment_intent(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant)
    invoice = await draft(client, merchant, buyer["id"])
    await _finalize(client, merchant, invoice["id"])
    voided = await ok(await post(client, merchant, f"/v1/invoices/{invoice['id']}/void"))
    assert voided["status"] == "void" and voided["status_transitions"]["voided_at"] is not None
    assert (await _intent_of(client, merchant, invoice["id"]))["status"] == "canceled"
    _error(
        await post(client, merchant, f"/v1/invoices/{invoice['id']}/pay"),
        400,
        "invoice_unexpected_state",
    )
    assert (await events_of(database, invoice["id"]))[-1] == "invoice.voided"


async def test_an_invoice_with_nothing_due_is_paid_when_finalized(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant, card=None)
    invoice = await draft(client, merchant, buyer["id"], (1_000, -1_000))
    paid = await _finalize(client, merchant, invoice["id"])
    assert paid["status"] == "paid" and paid["amount_due"] == 0
    assert await events_of(database, invoice["id"]) == [
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
    ]
    # Below zero: paid with nothing due, and the customer's credit (Stripe's way).
    negative = await draft(client, merchant, buyer["id"], (-1_000,))
    credited = await _finalize(client, merchant, negative["id"])
    assert credited["status"] == "paid" and credited["amount_due"] == 0
    assert (credited["starting_balance"], credited["ending_balance"]) == (0, -1_000)
    after = await client.get(f"/v1/customers/{buyer['id']}", headers=merchant.auth())
    assert after.json()["balance"] == -1_000
    # The next invoice spends it.
    spent = await _finalize(client, merchant, (await draft(client, merchant, buyer["id"]))["id"])
    assert spent["starting_balance"] == -1_000 and spent["ending_balance"] == 0


async def test_three_d_secure_leaves_the_invoice_open_until_the_customer_completes_it(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant, card=ALWAYS_AUTHENTICATE)
    invoice = await draft(client, merchant, buyer["id"])
    path = f"/v1/invoices/{invoice['id']}/pay"
    # Off-session (the default) the customer cannot authenticate: declined.
    _error(await post(client, merchant, path), 402, "authentication_required")
    # On-session the payment waits for the customer: Stripe's requires-action refusal.
    waiting = await post(client, merchant, path, off_session="false")
    _error(waiting, 402, "invoice_payment_intent_requires_action")
    intent = waiting.json()["error"]["payment_intent"]
    assert intent["status"] == "requires_action"
    assert intent["next_action"]["redirect_to_url"]["return_url"].startswith("http")
    assert (await get(client, merchant, f"/v1/invoices/{invoice['id']}"))["status"] == "open"
    page = httpx.URL(intent["next_action"]["redirect_to_url"]["url"]).path
    answered = await client.post(page, data={"outcome": "complete"})
    assert answered.status_code == 303  # back to the hosted invoice
    paid = await get(client, merchant, f"/v1/invoices/{invoice['id']}")
    assert paid["status"] == "paid"
    assert await events_of(database, invoice["id"]) == [
        "invoice.created",
        "invoice.finalized",
        "invoice.payment_failed",
        "invoice.payment_action_required",
        "invoice.payment_succeeded",
        "invoice.paid",
    ]


async def test_sending_emails_the_hosted_link(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant, card=None)
    charged = await draft(client, merchant, buyer["id"])
    _error(
        await post(client, merchant, f"/v1/invoices/{charged['id']}/send"), 400, "parameter_invalid"
    )
    invoice = await draft(
        client, merchant, buyer["id"], collection_method="send_invoice", days_until_due=15
    )
    assert invoice["due_date"] - invoice["created"] == 15 * 86_400
    # A draft is finalized before it is sent, as Stripe does.
    sent = await ok(await post(client, merchant, f"/v1/invoices/{invoice['id']}/send"))
    assert sent["status"] == "open" and sent["number"] is not None
    assert await events_of(database, invoice["id"]) == [
        "invoice.created",
        "invoice.finalized",
        "invoice.sent",
    ]
    assert len(await send_queued(database)) == 1
    (email,) = await sandbox_emails(client, merchant, related=invoice["id"])
    assert email["kind"] == "invoice" and email["recipients"] == ["asha@example.com"]
    assert email["subject"].startswith(f"Invoice {sent['number']} from Acme")
    assert sent["hosted_invoice_url"] in email["text"] and "₹1,500.00" in email["text"]


async def test_lists_filters_search_and_expansions(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    first = await customer(client, merchant)
    second = await customer(client, merchant, email="ravi@example.com")
    drafted = await draft(client, merchant, first["id"])
    opened = await draft(client, merchant, second["id"], collection_method="send_invoice")
    await _finalize(client, merchant, opened["id"])
    listed = await get(client, merchant, "/v1/invoices")
    assert [item["id"] for item in listed["data"]] == [opened["id"], drafted["id"]]
    assert (await get(client, merchant, "/v1/invoices", status="open"))["data"][0]["id"] == opened[
        "id"
    ]
    assert (await get(client, merchant, "/v1/invoices", customer=first["id"]))["data"][0][
        "id"
    ] == drafted["id"]
    by_method = await get(client, merchant, "/v1/invoices", collection_method="send_invoice")
    assert [item["id"] for item in by_method["data"]] == [opened["id"]]
    due = await get(client, merchant, "/v1/invoices", **{"due_date[gt]": 0})
    assert [item["id"] for item in due["data"]] == [opened["id"]]
    page = await get(client, merchant, "/v1/invoices", limit=1)
    assert page["has_more"] and page["url"] == "/v1/invoices"
    found = await get(client, merchant, "/v1/invoices/search", query=f"customer:'{second['id']}'")
    assert found["object"] == "search_result" and [item["id"] for item in found["data"]] == [
        opened["id"]
    ]
    assert (await get(client, merchant, "/v1/invoices/search", query="status:'draft'"))["data"][0][
        "id"
    ] == drafted["id"]
    secret = await get(
        client, merchant, f"/v1/invoices/{opened['id']}", **{"expand[]": "confirmation_secret"}
    )
    assert secret["confirmation_secret"]["type"] == "payment_intent"
    assert "_secret_" in secret["confirmation_secret"]["client_secret"]
    lines = await get(client, merchant, f"/v1/invoices/{opened['id']}/lines", limit=1)
    assert lines["url"] == f"/v1/invoices/{opened['id']}/lines" and len(lines["data"]) == 1
    _error(
        await client.get(
            f"/v1/invoices/{opened['id']}", params={"expand[]": "customer"}, headers=merchant.auth()
        ),
        400,
        "parameter_invalid",
    )


async def test_each_merchant_sees_only_its_own_and_restricted_keys_need_the_scope(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant)
    invoice = await draft(client, merchant, buyer["id"])
    item = invoice["lines"]["data"][0]["parent"]["invoice_item_details"]["invoice_item"]
    other = await make_merchant(database, name="Other")
    for path in (f"/v1/invoices/{invoice['id']}", f"/v1/invoiceitems/{item}"):
        _error(await client.get(path, headers=other.auth()), 404, "resource_missing")
        _error(await client.get(path, headers=merchant.auth("sk_live")), 404, "resource_missing")
    _error(
        await post(client, other, f"/v1/invoices/{invoice['id']}/finalize"), 404, "resource_missing"
    )
    assert (await get(client, other, "/v1/invoices"))["data"] == []

    reader = await make_merchant(database, name="Reader", restricted_scopes=("invoices:read",))
    reader_buyer = await customer(client, reader)  # its secret key makes the objects
    drafted = await draft(client, reader, reader_buyer["id"])
    restricted = {"Authorization": f"Bearer {reader.keys['rk_test']}"}
    assert (
        await client.get(f"/v1/invoices/{drafted['id']}", headers=restricted)
    ).status_code == 200
    _error(
        await client.post(f"/v1/invoices/{drafted['id']}/finalize", headers=restricted),
        403,
        "scope_missing",
    )
    _error(await client.post("/v1/invoiceitems", headers=restricted, data={}), 403, "scope_missing")
    customers_only = await make_merchant(
        database, name="Shop", restricted_scopes=("customers:read",)
    )
    _error(
        await client.get(
            "/v1/invoices", headers={"Authorization": f"Bearer {customers_only.keys['rk_test']}"}
        ),
        403,
        "scope_missing",
    )


async def test_update_a_draft_and_its_events(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant)
    invoice = await draft(client, merchant, buyer["id"])
    path = f"/v1/invoices/{invoice['id']}"
    updated = await ok(
        await post(
            client,
            merchant,
            path,
            description="Q4",
            footer="Thank you",
            collection_method="send_invoice",
            days_until_due=7,
        )
    )
    assert updated["collection_method"] == "send_invoice"
    assert updated["due_date"] == updated["created"] + 7 * 86_400
    assert (updated["description"], updated["footer"]) == ("Q4", "Thank you")
    back = await ok(await post(client, merchant, path, collection_method="charge_automatically"))
    assert back["due_date"] is None
    method = buyer["invoice_settings"]["default_payment_method"]
    with_method = await ok(await post(client, merchant, path, default_payment_method=method))
    assert with_method["default_payment_method"] == method
    unchanged = await ok(await post(client, merchant, path, description="Q4"))
    assert unchanged["description"] == "Q4"
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text(
                "SELECT data->'previous_attributes' FROM events WHERE object_id = :id"
                " AND type = 'invoice.updated' ORDER BY inserted"
            ),
            {"id": invoice["id"]},
        )
        previous = [dict(row) for row in rows.scalars()]
    # Three changes announced; the update that changed nothing announced nothing.
    assert previous == [
        {
            "collection_method": "charge_automatically",
            "days_until_due": None,
            "due_date": None,
            "description": None,
            "footer": None,
        },
        {"collection_method": "send_invoice", "days_until_due": 7, "due_date": updated["due_date"]},
        {"default_payment_method": None},
    ]


async def test_lines_keep_the_order_they_were_added_in(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    buyer = await customer(client, merchant)
    # One frozen millisecond: ids minted in it order randomly, lines must not.
    with use_clock(FrozenClock(utcnow())):
        invoice = await draft(client, merchant, buyer["id"], (100, 200, 300, 400))
    path = f"/v1/invoices/{invoice['id']}/lines"
    every = await get(client, merchant, path)
    assert [line["amount"] for line in every["data"]] == [100, 200, 300, 400]
    ids = [line["id"] for line in every["data"]]
    after = await get(client, merchant, path, starting_after=ids[0], limit=2)
    assert [line["amount"] for line in after["data"]] == [200, 300] and after["has_more"]
    before = await get(client, merchant, path, ending_before=ids[3], limit=2)
    assert [line["amount"] for line in before["data"]] == [200, 300] and before["has_more"]
    _error(
        await client.get(path, params={"starting_after": "il_nope"}, headers=merchant.auth()),
        404,
        "resource_missing",
        "starting_after",
    )


async def test_an_invoices_payment_intent_is_canceled_or_updated_only_through_the_invoice(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    """Stripe refuses to cancel an invoice's PaymentIntent directly: the invoice would point at
    a payment that can no longer pay it. Voiding the invoice cancels it."""
    buyer = await customer(client, merchant)
    invoice = await _finalize(client, merchant, (await draft(client, merchant, buyer["id"]))["id"])
    intent = await _intent_of(client, merchant, invoice["id"])
    path = f"/v1/payment_intents/{intent['id']}"
    _error(await post(client, merchant, f"{path}/cancel"), 400, "payment_intent_unexpected_state")
    _error(await post(client, merchant, path, amount=100), 400, "payment_intent_unexpected_state")
    assert (await get(client, merchant, path))["status"] == "requires_payment_method"
    await ok(await post(client, merchant, f"/v1/invoices/{invoice['id']}/void"))
    assert (await get(client, merchant, path))["status"] == "canceled"
