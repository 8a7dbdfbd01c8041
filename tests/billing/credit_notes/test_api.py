"""Credit notes over HTTP: against an open invoice (less due, its PaymentIntent charged the
rest), against a paid one (credit to the balance the next invoice spends, a refund through the
original card payment, out of band), GST reversed in proportion within a state (CGST + SGST)
and across states (IGST) with shares that sum exactly, consecutive numbers, previews, lines,
list filters, updates, voids, events, and refusals naming the parameter. The ledger is
verified after each test (tests/conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from beyondpay.db.session import Database
from tests.billing.credit_notes.support import credit_note, gst_invoice, plain_invoice
from tests.billing.credit_notes.test_balance import ledger_balance
from tests.billing.invoices.support import customer, draft, events_of, ok
from tests.payments.support import get, post
from tests.support import TestMerchant
from tests.test_clocks.support import advance, new_clock, run_advances


def _refused(response: httpx.Response, param: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param, response.text


async def test_a_credit_note_lowers_what_an_open_invoice_asks(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    invoice = await plain_invoice(client, merchant, (60_000, 40_000), pay=False)
    first_line = invoice["lines"]["data"][0]["id"]
    note = await ok(
        await credit_note(
            client,
            merchant,
            invoice["id"],
            reason="order_change",
            memo="One seat fewer",
            **{
                "lines[0][type]": "invoice_line_item",
                "lines[0][invoice_line_item]": first_line,
                "lines[0][amount]": 25_000,
                "metadata[order]": "42",
            },
        )
    )
    assert note["id"].startswith("cn_") and note["object"] == "credit_note"
    assert (note["type"], note["status"], note["amount"], note["total"]) == (
        "pre_payment",
        "issued",
        25_000,
        25_000,
    )
    assert (note["pre_payment_amount"], note["post_payment_amount"]) == (25_000, 0)
    assert note["number"].startswith("CN/") and len(note["number"]) == 16
    assert note["memo"] == "One seat fewer" and note["metadata"] == {"order": "42"}
    [line] = note["lines"]["data"]
    assert (line["type"], line["invoice_line_item"], line["amount"]) == (
        "invoice_line_item",
        first_line,
        25_000,
    )
    found = await get(client, merchant, f"/v1/invoices/{invoice['id']}", **{"expand[]": "payments"})
    assert (found["amount_due"], found["pre_payment_credit_notes_amount"]) == (75_000, 25_000)
    intent = found["payments"]["data"][0]["payment"]["payment_intent"]
    assert (await get(client, merchant, f"/v1/payment_intents/{intent}"))["amount"] == 75_000
    paid = await ok(await post(client, merchant, f"/v1/invoices/{invoice['id']}/pay"))
    assert (paid["status"], paid["amount_paid"]) == ("paid", 75_000)
    assert "credit_note.created" in await events_of(database, note["id"])
    assert "invoice.updated" in await events_of(database, invoice["id"])


async def test_crediting_all_an_open_invoice_asks_marks_it_paid(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    invoice = await plain_invoice(client, merchant, (30_000,), pay=False)
    note = await ok(await credit_note(client, merchant, invoice["id"], amount=30_000))
    assert note["lines"]["data"] == [] and note["amount"] == 30_000
    found = await get(client, merchant, f"/v1/invoices/{invoice['id']}")
    assert (found["status"], found["amount_due"], found["amount_paid"]) == ("paid", 0, 0)


async def test_gst_within_a_state_is_reversed_as_cgst_and_sgst_credited_to_the_balance(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    invoice = await gst_invoice(client, merchant, "27")
    assert (invoice["status"], invoice["total"]) == ("paid", 118_000)
    line = invoice["lines"]["data"][0]["id"]
    body = {
        "lines[0][type]": "invoice_line_item",
        "lines[0][invoice_line_item]": line,
        "lines[0][amount]": 33_333,
    }
    preview = await get(client, merchant, "/v1/credit_notes/preview", invoice=invoice["id"], **body)
    note = await ok(await credit_note(client, merchant, invoice["id"], **body))
    # 18% of 33,333 is 5,999.94: the floor of the share, split 2,999 + 3,000 (CGST's floor).
    assert (note["subtotal"], note["total_excluding_tax"], note["total"]) == (
        33_333,
        33_333,
        39_332,
    )
    assert (note["gst"]["cgst"], note["gst"]["sgst"], note["gst"]["igst"]) == (2_999, 3_000, 0)
    assert note["gst"]["supply_type"] == "intra_state"
    [tax] = note["total_taxes"]
    assert (tax["amount"], tax["taxable_amount"]) == (5_999, 33_333)
    assert note["lines"]["data"][0]["taxes"] == [tax]
    assert (preview["total"], preview["gst"]) == (note["total"], note["gst"])
    assert (note["type"], note["post_payment_amount"]) == ("post_payment", 39_332)
    # Nothing named: the total is credited to the customer's balance.
    transaction = note["customer_balance_transaction"]
    assert transaction is not None and note["refunds"] == []
    customer_id = invoice["customer"]
    assert (await get(client, merchant, f"/v1/customers/{customer_id}"))["balance"] == -39_332
    assert await ledger_balance(database, customer_id) == -39_332
    history = await get(client, merchant, f"/v1/customers/{customer_id}/balance_transactions")
    assert [(row["type"], row["amount"], row["credit_note"]) for row in history["data"]] == [
        ("credit_note", -39_332, note["id"])
    ]

    # The rest of the line credited: the two notes' taxes add up to the invoice's exactly.
    rest = await ok(
        await credit_note(
            client,
            merchant,
            invoice["id"],
            **{**body, "lines[0][amount]": 66_667},
            refund_amount=0,
            out_of_band_amount=78_668,
        )
    )
    assert (rest["gst"]["cgst"], rest["gst"]["sgst"]) == (6_001, 6_000)
    assert rest["total"] + note["total"] == 118_000
    assert rest["out_of_band_amount"] == 78_668 and rest["customer_balance_transaction"] is None
    found = await get(client, merchant, f"/v1/invoices/{invoice['id']}")
    assert found["post_payment_credit_notes_amount"] == 118_000
    _refused(await credit_note(client, merchant, invoice["id"], amount=1), "amount")

    # The next invoice spends the credit.
    nextdraft = await draft(client, merchant, customer_id, (20_000,))
    nextpaid = await ok(await post(client, merchant, f"/v1/invoices/{nextdraft['id']}/finalize"))
    assert (nextpaid["status"], nextpaid["amount_due"], nextpaid["starting_balance"]) == (
        "paid",
        0,
        -39_332,
    )
    assert nextpaid["ending_balance"] == -19_332
    assert await ledger_balance(database, customer_id) == -19_332


async def test_gst_across_states_is_reversed_as_igst(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    invoice = await gst_invoice(client, merchant, "29")
    line = invoice["lines"]["data"][0]["id"]
    note = await ok(
        await credit_note(
            client,
            merchant,
            invoice["id"],
            **{
                "lines[0][type]": "invoice_line_item",
                "lines[0][invoice_line_item]": line,
                "lines[0][quantity]": 1,
            },
        )
    )
    assert note["total"] == 118_000 and note["lines"]["data"][0]["quantity"] == 1
    assert (note["gst"]["cgst"], note["gst"]["sgst"], note["gst"]["igst"]) == (0, 0, 18_000)
    assert note["gst"]["supply_type"] == "inter_state"


async def test_a_refund_goes_back_through_the_original_card_payment(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    invoice = await plain_invoice(client, merchant, (50_000,))
    note = await ok(
        await credit_note(
            client, merchant, invoice["id"], amount=20_000, refund_amount=20_000, reason="duplicate"
        )
    )
    [refunded] = note["refunds"]
    assert refunded["amount_refunded"] == 20_000 and refunded["refund"].startswith("re_")
    refund = await get(client, merchant, f"/v1/refunds/{refunded['refund']}")
    assert (refund["amount"], refund["status"], refund["reason"]) == (
        20_000,
        "succeeded",
        "duplicate",
    )
    assert refund["metadata"] == {"credit_note": note["id"]}
    paid = await get(client, merchant, f"/v1/invoices/{invoice['id']}", **{"expand[]": "payments"})
    intent = paid["payments"]["data"][0]["payment"]["payment_intent"]
    assert refund["payment_intent"] == intent
    _refused(
        await credit_note(client, merchant, invoice["id"], amount=30_001, refund_amount=30_001),
        "amount",
    )
    # Refund, credit and out of band must add up to the total.
    _refused(
        await credit_note(
            client, merchant, invoice["id"], amount=10_000, refund_amount=10_000, credit_amount=1
        ),
        "refund_amount",
    )
    voided = await post(client, merchant, f"/v1/credit_notes/{note['id']}/void")
    assert (
        voided.status_code == 400
        and voided.json()["error"]["code"] == "credit_note_unexpected_state"
    )


async def test_refusals_name_the_parameter(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    invoice = await plain_invoice(client, merchant, (10_000,))
    line = invoice["lines"]["data"][0]["id"]
    _refused(await credit_note(client, merchant, invoice["id"]), "lines")
    _refused(await credit_note(client, merchant, invoice["id"], amount=10_001), "amount")
    _refused(
        await credit_note(
            client,
            merchant,
            invoice["id"],
            **{
                "lines[0][type]": "invoice_line_item",
                "lines[0][invoice_line_item]": line,
                "lines[0][quantity]": 2,
            },
        ),
        "lines[0][quantity]",
    )
    _refused(
        await credit_note(
            client,
            merchant,
            invoice["id"],
            **{
                "lines[0][type]": "invoice_line_item",
                "lines[0][invoice_line_item]": "il_nothing",
                "lines[0][amount]": 1,
            },
        ),
        "lines[0][invoice_line_item]",
    )
    _refused(
        await credit_note(
            client,
            merchant,
            invoice["id"],
            **{"lines[0][type]": "custom_line_item", "lines[0][unit_amount]": 100},
        ),
        "lines[0][description]",
    )
    _refused(
        await credit_note(client, merchant, invoice["id"], amount=5_000, refund_amount=6_000),
        "refund_amount",
    )
    _refused(
        await credit_note(client, merchant, invoice["id"], amount=5_000, refund_amount=20_000),
        "refund_amount",
    )
    open_invoice = await plain_invoice(client, merchant, (10_000,), pay=False)
    _refused(
        await credit_note(client, merchant, open_invoice["id"], amount=100, credit_amount=100),
        "credit_amount",
    )
    missing = await credit_note(client, merchant, "in_nothing", amount=1)
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "invoice"
    buyer = invoice["customer"]
    drafted = await draft(client, merchant, buyer, (5_000,))
    _refused(await credit_note(client, merchant, drafted["id"], amount=100), "invoice")


async def test_numbers_lists_lines_updates_and_voids(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    invoice = await plain_invoice(client, merchant, (10_000, 20_000), pay=False)
    lines = [line["id"] for line in invoice["lines"]["data"]]
    body = {
        "lines[0][type]": "invoice_line_item",
        "lines[0][invoice_line_item]": lines[0],
        "lines[0][amount]": 1_000,
        "lines[1][type]": "invoice_line_item",
        "lines[1][invoice_line_item]": lines[1],
        "lines[1][amount]": 2_000,
        "lines[2][type]": "custom_line_item",
        "lines[2][unit_amount]": 500,
        "lines[2][quantity]": 2,
        "lines[2][description]": "Delivery fee",
    }
    previewed = await get(
        client, merchant, "/v1/credit_notes/preview/lines", invoice=invoice["id"], limit=2, **body
    )
    assert [line["amount"] for line in previewed["data"]] == [1_000, 2_000]
    assert previewed["has_more"] is True
    first = await ok(await credit_note(client, merchant, invoice["id"], **body))
    second = await ok(await credit_note(client, merchant, invoice["id"], amount=1_000))
    assert first["total"] == 4_000
    serial = [int(note["number"].rsplit("/", 1)[1]) for note in (first, second)]
    assert serial[1] == serial[0] + 1
    page = await get(client, merchant, f"/v1/credit_notes/{first['id']}/lines", limit=2)
    assert page["has_more"] is True and len(page["data"]) == 2
    after = await get(
        client,
        merchant,
        f"/v1/credit_notes/{first['id']}/lines",
        starting_after=page["data"][1]["id"],
    )
    assert [line["type"] for line in after["data"]] == ["custom_line_item"]
    listed = await get(client, merchant, "/v1/credit_notes", invoice=invoice["id"])
    assert [note["id"] for note in listed["data"]] == [second["id"], first["id"]]
    by_customer = await get(client, merchant, "/v1/credit_notes", customer=invoice["customer"])
    assert len(by_customer["data"]) == 2
    updated = await ok(await post(client, merchant, f"/v1/credit_notes/{first['id']}", memo="Hi"))
    assert updated["memo"] == "Hi"
    assert (await get(client, merchant, f"/v1/invoices/{invoice['id']}"))["amount_due"] == 25_000
    voided = await ok(await post(client, merchant, f"/v1/credit_notes/{first['id']}/void"))
    assert voided["status"] == "void" and voided["voided_at"] is not None
    assert (await get(client, merchant, f"/v1/invoices/{invoice['id']}"))["amount_due"] == 29_000
    again = await post(client, merchant, f"/v1/credit_notes/{first['id']}/void")
    assert again.status_code == 400
    assert await events_of(database, first["id"]) == [
        "credit_note.created",
        "credit_note.updated",
        "credit_note.voided",
    ]
    missing = await client.get("/v1/credit_notes/cn_nothing", headers=merchant.auth())
    assert missing.status_code == 404


async def test_voiding_a_credit_to_the_balance_takes_it_back(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    invoice = await plain_invoice(client, merchant, (10_000,))
    note = await ok(await credit_note(client, merchant, invoice["id"], amount=4_000))
    customer_id = invoice["customer"]
    assert await ledger_balance(database, customer_id) == -4_000
    await ok(await post(client, merchant, f"/v1/credit_notes/{note['id']}/void"))
    assert (await get(client, merchant, f"/v1/customers/{customer_id}"))["balance"] == 0
    assert await ledger_balance(database, customer_id) == 0
    found = await get(client, merchant, f"/v1/invoices/{invoice['id']}")
    assert found["post_payment_credit_notes_amount"] == 0


async def test_numbers_roll_over_on_1_april_on_the_customers_clock(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    start = int(datetime(2027, 3, 31, 12, 0, tzinfo=UTC).timestamp())  # 17:30 IST
    clock = await new_clock(client, merchant, start)
    buyer = await customer(client, merchant, test_clock=clock["id"])
    drafted = await draft(client, merchant, buyer["id"], (10_000,))
    await ok(await post(client, merchant, f"/v1/invoices/{drafted['id']}/finalize"))
    await ok(await post(client, merchant, f"/v1/invoices/{drafted['id']}/pay"))
    march = await ok(await credit_note(client, merchant, drafted["id"], amount=1_000))
    assert march["number"] == "CN/2627/00000001" and march["effective_at"] == start
    assert (await advance(client, merchant, clock["id"], start + 86_400)).status_code == 200
    await run_advances(database)
    april = await ok(await credit_note(client, merchant, drafted["id"], amount=1_000))
    assert april["number"] == "CN/2728/00000001" and april["effective_at"] == start + 86_400
