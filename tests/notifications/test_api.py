"""Receipt emails over HTTP: a paid charge with ``receipt_email`` queues one in the payment's
transaction, the job sends it after commit to the test-mode SMTP sink, and the charge gets its
receipt number; ``POST /v1/charges/{id}`` with ``receipt_email`` sends again."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from tests.notifications.support import queued_sends, sandbox_emails, send_queued
from tests.payments.support import get, pay, post
from tests.support import TestMerchant, make_merchant

RECEIPT_URL = re.compile(r"^http://127\.0\.0\.1:8000/receipts/[A-Za-z0-9_-]{40,}$")


async def _charge(client: httpx.AsyncClient, merchant: TestMerchant, intent: dict) -> dict:
    charge: dict = await get(client, merchant, f"/v1/charges/{intent['latest_charge']}")
    return charge


async def test_a_paid_charge_with_receipt_email_sends_its_receipt_after_commit(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    intent = await pay(
        client,
        merchant,
        amount="10000000",
        payment_method="pm_card_visa",
        receipt_email="asha@example.com",
        description="Annual plan",
    )
    charge = await _charge(client, merchant, intent)
    assert charge["receipt_email"] == "asha@example.com"
    assert RECEIPT_URL.match(charge["receipt_url"]), charge["receipt_url"]
    assert charge["id"] not in charge["receipt_url"]  # the link is opaque
    # Queued in the payment's transaction; nothing sent, no number yet (Stripe: null until
    # a receipt is sent).
    assert len(await queued_sends(database)) == 1
    assert charge["receipt_number"] is None
    assert await sandbox_emails(client, merchant) == []

    await send_queued(database)
    [email] = await sandbox_emails(client, merchant)
    charge = await _charge(client, merchant, intent)
    assert charge["receipt_number"] == "0000-0001"
    assert email["object"] == "notification_sandbox_email"
    assert email["kind"] == "receipt" and email["related"] == charge["id"]
    assert email["recipients"] == ["asha@example.com"]
    assert email["subject"] == "Your receipt from Acme #0000-0001"
    assert charge["receipt_url"] in email["text"]
    assert "₹1,00,000.00" in email["text"] and "Visa •••• 4242" in email["text"]
    assert "4242424242424242" not in email["text"] + (email["html"] or "")
    assert email["html"] is not None and "View your receipt" in email["html"]
    assert email["message_id"] == f"<{email['id']}@beyondpay.localhost>"


async def test_receipt_numbers_are_consecutive_per_merchant_and_kept_on_a_resend(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    other = await make_merchant(database, name="Other")
    first = await pay(client, merchant, payment_method="pm_card_visa", receipt_email="a@x.in")
    second = await pay(client, merchant, payment_method="pm_card_visa", receipt_email="b@x.in")
    theirs = await pay(client, other, payment_method="pm_card_visa", receipt_email="c@x.in")
    await send_queued(database)
    numbers = [
        (await _charge(client, who, intent))["receipt_number"]
        for who, intent in ((merchant, first), (merchant, second), (other, theirs))
    ]
    assert numbers == ["0000-0001", "0000-0002", "0000-0001"]
    # Each merchant sees only its own email.
    assert {e["recipients"][0] for e in await sandbox_emails(client, other)} == {"c@x.in"}

    # Stripe: setting receipt_email on a paid charge sends the receipt (again).
    updated = await post(
        client,
        merchant,
        f"/v1/charges/{first['latest_charge']}",
        receipt_email="asha@example.com",
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["receipt_email"] == "asha@example.com"
    await send_queued(database)
    resent = await sandbox_emails(client, merchant, to="asha@example.com")
    assert [email["subject"] for email in resent] == ["Your receipt from Acme #0000-0001"]
    assert (await _charge(client, merchant, first))["receipt_number"] == "0000-0001"


async def test_no_receipt_without_an_address_and_none_before_capture(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    await pay(client, merchant, payment_method="pm_card_visa")
    held = await pay(
        client,
        merchant,
        payment_method="pm_card_visa",
        capture_method="manual",
        receipt_email="asha@example.com",
    )
    charge = await _charge(client, merchant, held)
    assert charge["status"] == "succeeded" and not charge["captured"]
    assert charge["receipt_url"] is not None
    assert await queued_sends(database) == []
    captured = await post(client, merchant, f"/v1/payment_intents/{held['id']}/capture")
    assert captured.status_code == 200, captured.text
    assert len(await queued_sends(database)) == 1


async def test_a_declined_charge_has_no_receipt(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    declined = await pay(
        client,
        merchant,
        status=402,
        payment_method="pm_card_chargeDeclined",
        receipt_email="asha@example.com",
    )
    charge = await get(client, merchant, f"/v1/charges/{declined['error']['charge']}")
    assert charge["status"] == "failed"
    assert charge["receipt_url"] is None and charge["receipt_number"] is None
    assert await queued_sends(database) == []


async def test_a_bad_receipt_email_is_refused_naming_it(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    refused = await post(
        client,
        merchant,
        "/v1/payment_intents",
        amount="1000",
        currency="inr",
        receipt_email="not an address",
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "receipt_email"
    intent = await pay(client, merchant, payment_method="pm_card_visa")
    refused = await post(
        client, merchant, f"/v1/charges/{intent['latest_charge']}", receipt_email="nope"
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "receipt_email"
    async with database.unit_of_work() as session:
        count = (await session.execute(text("SELECT count(*) FROM notifications"))).scalar()
    assert count == 0


async def test_the_sink_is_not_readable_with_a_live_key(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    response = await client.get(
        "/v1/notifications/sandbox/emails", headers=merchant.auth("sk_live")
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "route_not_found"
    refused = await client.get("/v1/notifications/sandbox/emails", headers=merchant.auth("pk_test"))
    assert refused.status_code in (401, 403)
