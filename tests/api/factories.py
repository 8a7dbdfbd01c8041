"""How to make one object of each collection through the API, for tests generated from the
OpenAPI document (the access matrix, schemathesis). A route whose collection has no factory
fails the access matrix, so a new route cannot escape it: add its factory here.

A factory gets the :class:`Actors` who may POST (each ``post(path, params)`` returns the decoded
200 body and fails on anything else) and returns the id a route's ``{…}`` parameter names.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from beyondpay.db.session import Database
from beyondpay.db.urls import libpq_url
from beyondpay.kit.clock import utcnow
from beyondpay.rails.file_domain import business_date_of
from beyondpay.reporting.tasks import run_report_on

Post = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
# ``get(path, query)``: the decoded 200 body of a GET, for factories that find an object made
# as a side effect (an event).
Get = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Actors:
    owner: Post  # who owns the object: a merchant's secret key, or a platform-admin key
    merchant: Post  # a merchant's secret key (the owner itself on merchant routes)
    get: Get | None = None  # GET as the owner
    # The test's database, for factories whose object a background job makes (a delivery).
    database: Database | None = None


Factory = Callable[[Actors], Awaitable[str]]
Preparation = Callable[[Actors, str], Awaitable[None]]


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


async def _customer(actors: Actors) -> str:
    return str((await actors.owner("/v1/customers", {"name": "Asha"}))["id"])


async def _api_key(actors: Actors) -> str:
    created = await actors.owner("/v1/api_keys", {"scopes": ["customers:read"]})
    return str(created["id"])


async def _ledger_account(actors: Actors) -> str:
    params = {"id": _unique("wallet"), "currency": "INR", "code": "wallet"}
    return str((await actors.owner("/v1/ledger/accounts", params))["id"])


async def _ledger_transfer(actors: Actors) -> str:
    debit, credit = await _ledger_account(actors), await _ledger_account(actors)
    transfer = {
        "id": _unique("topup"),
        "debit_account": debit,
        "credit_account": credit,
        "amount": 1_500,
        "currency": "INR",
        "code": "topup",
    }
    batch = await actors.owner("/v1/ledger/transfers", {"transfers": [transfer]})
    (result,) = batch["data"]
    assert result["result"] == "ok", result
    return str(result["id"])


async def _merchant(actors: Actors) -> str:
    return str((await actors.owner("/v1/platform/merchants", {"name": "Matrix Traders"}))["id"])


async def _kyc_document(actors: Actors) -> str:
    params = {"type": "pan", "pan": {"number": "ABCPE1234F"}}
    return str((await actors.merchant("/v1/account/kyc_documents", params))["id"])


async def _webhook_endpoint(actors: Actors) -> str:
    # A public address literal: live-mode URLs must resolve to public addresses, and a literal
    # needs no DNS. Nothing is delivered to it in these tests.
    params = {"url": "https://1.1.1.1/beyondpay/webhook", "enabled_events": ["*"]}
    return str((await actors.owner("/v1/webhook_endpoints", params))["id"])


async def _event(actors: Actors) -> str:
    customer = await _customer(actors)
    if actors.get is None:
        raise AssertionError("the events factory needs Actors.get")
    listed = await actors.get("/v1/events", {"type": "customer.created", "limit": 100})
    found = [e["id"] for e in listed["data"] if e["data"]["object"]["id"] == customer]
    assert len(found) == 1, listed
    return str(found[0])


async def _webhook_delivery(actors: Actors) -> str:
    """A delivery of a customer.created event to a fresh endpoint, scheduled as the worker's
    jobs would (number the events, then schedule); it stays pending (nothing delivers it)."""
    from psycopg_pool import AsyncConnectionPool

    from beyondpay.events.tasks import sweep_on
    from beyondpay.webhooks.deliveries import schedule_sweep_on

    if actors.database is None:
        raise AssertionError("the webhook deliveries factory needs Actors.database")
    endpoint = await _webhook_endpoint(actors)
    await _customer(actors)
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        libpq_url(actors.database.url), min_size=1, max_size=1, open=False
    )
    await pool.open()
    try:
        await sweep_on(pool)
    finally:
        await pool.close()
    await schedule_sweep_on(actors.database)
    if actors.get is None:
        raise AssertionError("the webhook deliveries factory needs Actors.get")
    listed = await actors.get(f"/v1/webhook_endpoints/{endpoint}/deliveries", {})
    (delivery,) = listed["data"]
    return str(delivery["id"])


async def _payment_method(actors: Actors) -> str:
    # Not one of Stripe's test cards: the access matrix calls with live keys, which refuse them.
    params = {
        "type": "card",
        "card": {"number": "4111111111111111", "exp_month": 12, "exp_year": 2040},
    }
    return str((await actors.owner("/v1/payment_methods", params))["id"])


async def _attach_to_new_customer(actors: Actors, payment_method_id: str) -> None:
    customer = await _customer(actors)
    await actors.owner(f"/v1/payment_methods/{payment_method_id}/attach", {"customer": customer})


async def _new_customer_body(actors: Actors, _object_id: str) -> dict[str, Any]:
    return {"customer": await _customer(actors)}


async def _payment_intent(actors: Actors) -> str:
    params = {"amount": 1_000, "currency": "inr", "payment_method": await _payment_method(actors)}
    return str((await actors.owner("/v1/payment_intents", params))["id"])


async def _setup_intent(actors: Actors) -> str:
    params = {"payment_method": await _payment_method(actors)}
    return str((await actors.owner("/v1/setup_intents", params))["id"])


async def _settled_charge(actors: Actors) -> dict[str, str]:
    """A captured charge with its balance transaction and a refund, written straight to the
    tables: the matrix calls with live keys, and live mode has no rail to pay through (no
    ledger transfer is written, so the ledger stays balanced)."""
    from sqlalchemy import text

    if actors.database is None:
        raise AssertionError("the charges factory needs Actors.database")
    intent = await _payment_intent(actors)
    ids = {
        key: f"{prefix}_{uuid.uuid4().hex[:22]}"
        for key, prefix in (("charge", "ch"), ("transaction", "txn"), ("refund", "re"))
    }
    async with actors.database.unit_of_work() as session:
        row = (
            await session.execute(
                text(
                    "SELECT merchant_id, livemode, payment_method_id FROM payment_intents"
                    " WHERE id = :id"
                ),
                {"id": intent},
            )
        ).one()
        values = {"intent": intent, "merchant": row[0], "livemode": row[1], "method": row[2], **ids}
        await session.execute(
            text(
                "INSERT INTO charges (id, merchant_id, livemode, payment_intent_id,"
                " payment_method_id, payment_method_details, rail, rail_reference, amount,"
                " amount_captured, currency, status, authorized, captured, capture_requested,"
                " balance_transaction_id, created_at, updated_at) VALUES (:charge, :merchant,"
                " :livemode, :intent, :method, '{}', 'card', :charge, 1000, 1000, 'inr',"
                " 'succeeded', true, true, true, :transaction, now(), now())"
            ),
            values,
        )
        await session.execute(
            text(
                "INSERT INTO balance_transactions (id, merchant_id, livemode, amount, fee, net,"
                " currency, type, reporting_category, status, available_on, source, created_at)"
                " VALUES (:transaction, :merchant, :livemode, 1000, 20, 980, 'inr', 'charge',"
                " 'charge', 'pending', now(), :charge, now())"
            ),
            values,
        )
        await session.execute(
            text(
                "INSERT INTO refunds (id, merchant_id, livemode, charge_id, payment_intent_id,"
                " amount, currency, status, rail, created_at, updated_at) VALUES (:refund,"
                " :merchant, :livemode, :charge, :intent, 100, 'inr', 'succeeded', 'card',"
                " now(), now())"
            ),
            values,
        )
    return ids


async def _charge(actors: Actors) -> str:
    return (await _settled_charge(actors))["charge"]


async def _refund(actors: Actors) -> str:
    return (await _settled_charge(actors))["refund"]


async def _balance_transaction(actors: Actors) -> str:
    return (await _settled_charge(actors))["transaction"]


async def _dispute(actors: Actors) -> str:
    """A dispute of a settled charge, written straight to the table as the rail's report would
    open it: live mode (the matrix's keys) has no rail to report one. No money moves with it,
    so the ledger stays balanced."""
    from sqlalchemy import text

    if actors.database is None:
        raise AssertionError("the disputes factory needs Actors.database")
    charge = (await _settled_charge(actors))["charge"]
    dispute = f"dp_{uuid.uuid4().hex[:22]}"
    network = {"brand": "visa", "case_type": "chargeback", "network": "visa"}
    details = {"type": "card", "card": {**network, "network_reason_code": "10.4"}}
    async with actors.database.unit_of_work() as session:
        await session.execute(
            text(
                "INSERT INTO disputes (id, merchant_id, livemode, charge_id, payment_intent_id,"
                " amount, currency, status, reason, network_reason_code, rail, rail_reference,"
                " payment_method_details, evidence_due_by, created_at, updated_at)"
                " SELECT :dispute, merchant_id, livemode, id, payment_intent_id, amount,"
                " currency, 'needs_response', 'fraudulent', '10.4', rail, :dispute,"
                " CAST(:details AS jsonb), now() + interval '7 days', now(), now()"
                " FROM charges WHERE id = :charge"
            ),
            {"dispute": dispute, "charge": charge, "details": json.dumps(details)},
        )
    return dispute


async def _merchant_vpa(actors: Actors) -> str:
    """A merchant VPA: through the API in test mode; in live mode (the matrix's keys), which has
    no UPI connector to open its bank account, written straight to the table as the API would."""
    from sqlalchemy import text

    from tests.support import ring_for_tests

    if actors.get is None or actors.database is None:
        raise AssertionError("the merchant VPAs factory needs Actors.get and Actors.database")
    username = f"m{uuid.uuid4().hex[:12]}"
    if not (await actors.get("/v1/balance", {}))["livemode"]:
        params = {
            "username": username,
            "merchant_category_code": "5411",
            "display_name": "Matrix Stores",
        }
        return str((await actors.owner("/v1/upi/merchant_vpas", params))["id"])
    merchant_id = (await actors.get("/v1/account", {}))["id"]
    ring, vpa_id, vpa = ring_for_tests(), f"mvpa_{uuid.uuid4().hex[:22]}", f"{username}@beyondpay"
    async with actors.database.unit_of_work() as session:
        await session.execute(
            text(
                "INSERT INTO psp_vpas (id, owner_kind, merchant_id, livemode, vpa_fingerprint,"
                " vpa_sealed, vpa_masked, account_ref, display_name, merchant_category_code,"
                " status, created_at, updated_at) VALUES (:id, 'merchant', :merchant, true,"
                " :fingerprint, :sealed, :masked, :account, 'Matrix Stores', '5411', 'active',"
                " now(), now())"
            ),
            {
                "id": vpa_id,
                "merchant": merchant_id,
                "fingerprint": ring.fingerprint(f"vpa:{vpa}"),
                "sealed": ring.seal(vpa.encode(), f"psp_vpas.vpa:{vpa_id}"),
                "masked": f"{username[:2]}****@beyondpay",
                "account": f"bank:sbx1:payer:{uuid.uuid4().hex}",
            },
        )
    return vpa_id


async def _limit_policy(actors: Actors) -> str:
    params = {"kind": "cap", "subject": "payer", "period": "day", "amount_max": 100_000}
    return str((await actors.owner("/v1/limits/policies", params))["id"])


async def _risk_assessment(actors: Actors) -> str:
    params = {
        "payment": _unique("pay"),
        "amount": 499_00,
        "currency": "inr",
        "rail": "upi",
        "payer": "cus_risk",
    }
    return str((await actors.owner("/v1/risk/assessments", params))["id"])


async def _risk_rule(actors: Actors) -> str:
    params = {
        "action": "review",
        "conditions": [{"feature": "count_1h", "op": ">", "value": "3"}],
        "reason": "Busy payer",
    }
    return str((await actors.owner("/v1/risk/rules", params))["id"])


async def _risk_blocklist_item(actors: Actors) -> str:
    params = {"kind": "device", "value": _unique("dev")}
    return str((await actors.owner("/v1/risk/blocklist_items", params))["id"])


TEST_CLOCK_FROZEN_TIME: Final = 1_577_836_800  # 1 January 2020


async def _test_clock(actors: Actors) -> str:
    params = {"frozen_time": TEST_CLOCK_FROZEN_TIME, "name": "Matrix"}
    return str((await actors.owner("/v1/test_helpers/test_clocks", params))["id"])


async def _token(actors: Actors) -> str:
    """A token on a card payment method, written straight to its table: the matrix calls with
    live keys, and tokens are made in test mode only."""
    from sqlalchemy import text

    if actors.database is None:
        raise AssertionError("the tokens factory needs Actors.database")
    method = await _payment_method(actors)
    token_id, card_id = f"tok_{uuid.uuid4().hex[:22]}", f"card_{uuid.uuid4().hex[:22]}"
    async with actors.database.unit_of_work() as session:
        await session.execute(
            text(
                "INSERT INTO tokens (id, merchant_id, livemode, type, payment_method_id, card_id,"
                " created_at) SELECT :token, merchant_id, livemode, 'card', id, :card, now()"
                " FROM payment_methods WHERE id = :method"
            ),
            {"token": token_id, "card": card_id, "method": method},
        )
    return token_id


def unique_gstin() -> str:
    """A well-formed GSTIN (Maharashtra) of a random PAN: an owner holds a GSTIN once, and a
    collection may be asked for several objects of one merchant."""
    import secrets
    import string

    from beyondpay.billing.tax.domain import gstin_check_character

    letters = "".join(secrets.choice(string.ascii_uppercase) for _ in range(5))
    digits = "".join(secrets.choice(string.digits) for _ in range(4))
    body = f"27{letters}{digits}F1Z"
    return body + gstin_check_character(body)


async def _tax_rate(actors: Actors) -> str:
    params = {"display_name": "GST", "percentage": 18, "inclusive": False, "tax_type": "gst"}
    return str((await actors.owner("/v1/tax_rates", params))["id"])


async def _tax_id(actors: Actors) -> str:
    params = {"type": "in_gst", "value": unique_gstin()}
    return str((await actors.owner("/v1/tax_ids", params))["id"])


async def _billing_portal_configuration(actors: Actors) -> str:
    params = {"features": {"invoice_history": {"enabled": True}}}
    return str((await actors.owner("/v1/billing_portal/configurations", params))["id"])


async def _invoice(actors: Actors) -> str:
    """A send_invoice draft with one line, for a customer with an email (live keys: no card)."""
    customer = await actors.owner("/v1/customers", {"email": "billing@example.com"})
    invoice = await actors.owner(
        "/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice"}
    )
    await actors.owner("/v1/invoiceitems", {"invoice": invoice["id"], "amount": 1_000})
    return str(invoice["id"])


async def _invoice_item(actors: Actors) -> str:
    params = {"customer": await _customer(actors), "currency": "inr", "amount": 1_000}
    return str((await actors.owner("/v1/invoiceitems", params))["id"])


async def _new_subscription(actors: Actors) -> dict[str, Any]:
    """A send_invoice subscription to a monthly price (live keys: no card to charge)."""
    customer = await actors.owner("/v1/customers", {"email": "billing@example.com"})
    price = await actors.owner(
        "/v1/prices",
        {
            "currency": "inr",
            "unit_amount": 49_900,
            "product_data": {"name": "Gold plan"},
            "recurring": {"interval": "month"},
        },
    )
    params = {
        "customer": customer["id"],
        "items": [{"price": price["id"]}],
        "collection_method": "send_invoice",
        "days_until_due": 7,
    }
    subscription: dict[str, Any] = await actors.owner("/v1/subscriptions", params)
    return subscription


async def _subscription(actors: Actors) -> str:
    return str((await _new_subscription(actors))["id"])


async def _subscription_item(actors: Actors) -> str:
    """The second item of a trialing subscription (live keys: the trial's invoice is zero), so
    it can be changed and deleted (an incomplete subscription's items cannot; the last item is
    never deleted)."""
    customer = await actors.owner("/v1/customers", {"email": "billing@example.com"})
    prices = [
        await actors.owner(
            "/v1/prices",
            {
                "currency": "inr",
                "unit_amount": amount,
                "product_data": {"name": name},
                "recurring": {"interval": "month"},
            },
        )
        for name, amount in (("Gold plan", 49_900), ("Seat", 10_000))
    ]
    params = {
        "customer": customer["id"],
        "items": [{"price": price["id"]} for price in prices],
        "trial_period_days": 7,
    }
    subscription = await actors.owner("/v1/subscriptions", params)
    return str(subscription["items"]["data"][1]["id"])


async def _finalize_invoice(actors: Actors, invoice_id: str) -> None:
    await actors.owner(f"/v1/invoices/{invoice_id}/finalize", {})


async def _credit_note(actors: Actors) -> str:
    """A credit note of ₹1 against an open send_invoice invoice."""
    invoice_id = await _invoice(actors)
    await _finalize_invoice(actors, invoice_id)
    note = await actors.owner("/v1/credit_notes", {"invoice": invoice_id, "amount": 100})
    return str(note["id"])


# The collection path (an object route's path before its first parameter) → its factory.
async def _product(actors: Actors) -> str:
    return str((await actors.owner("/v1/products", {"name": "Gold plan"}))["id"])


async def _price(actors: Actors) -> str:
    params = {"currency": "inr", "unit_amount": 49_900, "product_data": {"name": "Gold plan"}}
    return str((await actors.owner("/v1/prices", params))["id"])


async def _coupon(actors: Actors) -> str:
    return str((await actors.owner("/v1/coupons", {"percent_off": 10}))["id"])


async def _promotion_code(actors: Actors) -> str:
    params = {"promotion": {"type": "coupon", "coupon": await _coupon(actors)}}
    return str((await actors.owner("/v1/promotion_codes", params))["id"])


async def _checkout_session(actors: Actors) -> str:
    """A payment-mode Checkout Session for one inline line of ₹10."""
    params = {
        "mode": "payment",
        "success_url": "https://shop.example/thanks",
        "line_items": [
            {
                "price_data": {
                    "currency": "inr",
                    "unit_amount": 1_000,
                    "product_data": {"name": "Tea"},
                },
                "quantity": 1,
            }
        ],
    }
    return str((await actors.owner("/v1/checkout/sessions", params))["id"])


async def _payment_link(actors: Actors) -> str:
    """A payment link selling one ₹10 price."""
    price = await actors.owner(
        "/v1/prices", {"currency": "inr", "unit_amount": 1_000, "product_data": {"name": "Tea"}}
    )
    params = {"line_items": [{"price": price["id"], "quantity": 1}]}
    return str((await actors.owner("/v1/payment_links", params))["id"])


async def _connected_account(actors: Actors) -> str:
    """A connected account of the merchant (Connect): its external accounts' routes name it
    too (the platform acts on it by the path)."""
    return str((await actors.owner("/v1/accounts", {"type": "custom"}))["id"])


async def _transfer(actors: Actors) -> str:
    """A transfer to a connected account, written straight to the table: the matrix calls
    with live keys too, and live mode has no rail to fund the platform through (no ledger
    transfer is written; a reversal's own postings balance)."""
    from sqlalchemy import text

    if actors.database is None:
        raise AssertionError("the transfers factory needs Actors.database")
    account = await _connected_account(actors)
    transfer_id = f"tr_{uuid.uuid4().hex[:22]}"
    async with actors.database.unit_of_work() as session:
        await session.execute(
            text(
                "INSERT INTO connect_transfers (id, merchant_id, livemode, destination_id, amount,"
                " currency, balance_transaction_id, destination_payment_id, created_at,"
                " updated_at) SELECT :id, platform_id, livemode, id, 1000, 'inr', :txn, :py,"
                " now(), now() FROM merchants WHERE id = :account"
            ),
            {
                "id": transfer_id,
                "account": account,
                "txn": f"txn_{uuid.uuid4().hex[:22]}",
                "py": f"py_{uuid.uuid4().hex[:22]}",
            },
        )
    return transfer_id


async def _application_fee(actors: Actors) -> str:
    """An application fee of a connected account's, written straight to the table as the
    transfers' factory does (live mode has no rail to make a destination charge through)."""
    from sqlalchemy import text

    if actors.database is None:
        raise AssertionError("the application fees factory needs Actors.database")
    account = await _connected_account(actors)
    fee_id = f"fee_{uuid.uuid4().hex[:22]}"
    async with actors.database.unit_of_work() as session:
        await session.execute(
            text(
                "INSERT INTO application_fees (id, merchant_id, livemode, account_id, amount,"
                " currency, charge_id, balance_transaction_id, created_at, updated_at)"
                " SELECT :id, platform_id, livemode, id, 100, 'inr', :charge, :txn, now(), now()"
                " FROM merchants WHERE id = :account"
            ),
            {
                "id": fee_id,
                "account": account,
                "charge": f"ch_{uuid.uuid4().hex[:22]}",
                "txn": f"txn_{uuid.uuid4().hex[:22]}",
            },
        )
    return fee_id


async def _payout(actors: Actors) -> str:
    """A paid payout, written straight to the table: live mode (the matrix's keys) has no
    payout rail. No money moves with it, so the ledger stays balanced."""
    from sqlalchemy import text

    if actors.get is None or actors.database is None:
        raise AssertionError("the payouts factory needs Actors.get and Actors.database")
    merchant_id = str((await actors.get("/v1/account", {}))["id"])
    livemode = bool((await actors.get("/v1/balance", {}))["livemode"])
    payout = f"po_{uuid.uuid4().hex[:22]}"
    async with actors.database.unit_of_work() as session:
        await session.execute(
            text(
                "INSERT INTO payouts (id, merchant_id, livemode, amount, currency, status,"
                " automatic, method, rail, destination, arrival_at, created_at, updated_at)"
                " VALUES (:payout, :merchant, :livemode, 1000, 'inr', 'paid', false,"
                " 'standard', 'imps', 'ba_matrix', now(), now(), now())"
            ),
            {"payout": payout, "merchant": merchant_id, "livemode": livemode},
        )
    return payout


async def _reconciliation_run(actors: Actors) -> str:
    today = business_date_of(utcnow()).isoformat()
    return str(
        (await actors.owner("/v1/platform/reconciliation/runs", {"business_date": today}))["id"]
    )


async def _reconciliation_exception(actors: Actors) -> str:
    """An exception of a line nobody made, in a file of a day of its own (unique by seed)."""
    today = business_date_of(utcnow()).isoformat()
    seed = uuid.uuid4().int % 2**62
    params = {
        "business_date": today,
        "fault_injection": {"seed": seed, "kinds": ["unknown_to_platform"]},
    }
    run = await actors.owner("/v1/platform/reconciliation/runs", params)
    assert actors.get is not None
    listed = await actors.get("/v1/platform/reconciliation/exceptions", {"limit": 100})
    return str(next(item["id"] for item in listed["data"] if item["run"] == run["id"]))


async def _report_run(actors: Actors) -> str:
    now = int(time.time()) - 1
    params = {
        "report_type": "balance.summary.1",
        "parameters": {"interval_start": now - 3_600, "interval_end": now},
    }
    return str((await actors.owner("/v1/reporting/report_runs", params))["id"])


async def _file(actors: Actors) -> str:
    """A report run's result, computed by its job as the worker would."""
    run_id = await _report_run(actors)
    assert actors.database is not None and actors.get is not None
    await run_report_on(actors.database, run_id)
    run = await actors.get(f"/v1/reporting/report_runs/{run_id}", {})
    return str(run["result"]["id"])


async def _report_type(_actors: Actors) -> str:
    return "balance.summary.1"


FACTORIES: Final[dict[str, Factory]] = {
    "/v1/customers": _customer,
    "/v1/events": _event,
    "/v1/api_keys": _api_key,
    "/v1/ledger/accounts": _ledger_account,
    "/v1/ledger/transfers": _ledger_transfer,
    "/v1/platform/merchants": _merchant,
    "/v1/platform/kyc_documents": _kyc_document,
    "/v1/webhook_endpoints": _webhook_endpoint,
    "/v1/webhook_deliveries": _webhook_delivery,
    "/v1/payment_methods": _payment_method,
    "/v1/payment_intents": _payment_intent,
    "/v1/charges": _charge,
    "/v1/refunds": _refund,
    "/v1/balance_transactions": _balance_transaction,
    "/v1/upi/merchant_vpas": _merchant_vpa,
    "/v1/limits/policies": _limit_policy,
    "/v1/risk/assessments": _risk_assessment,
    "/v1/risk/rules": _risk_rule,
    "/v1/risk/blocklist_items": _risk_blocklist_item,
    "/v1/test_helpers/test_clocks": _test_clock,
    "/v1/disputes": _dispute,
    "/v1/setup_intents": _setup_intent,
    "/v1/tokens": _token,
    "/v1/tax_rates": _tax_rate,
    "/v1/tax_ids": _tax_id,
    "/v1/products": _product,
    "/v1/prices": _price,
    "/v1/coupons": _coupon,
    "/v1/promotion_codes": _promotion_code,
    "/v1/billing_portal/configurations": _billing_portal_configuration,
    "/v1/invoices": _invoice,
    "/v1/invoiceitems": _invoice_item,
    "/v1/subscriptions": _subscription,
    "/v1/subscription_items": _subscription_item,
    "/v1/credit_notes": _credit_note,
    "/v1/checkout/sessions": _checkout_session,
    "/v1/payment_links": _payment_link,
    "/v1/accounts": _connected_account,
    "/v1/transfers": _transfer,
    "/v1/application_fees": _application_fee,
    "/v1/payouts": _payout,
    "/v1/platform/reconciliation/runs": _reconciliation_run,
    "/v1/platform/reconciliation/exceptions": _reconciliation_exception,
    "/v1/reporting/report_runs": _report_run,
    "/v1/reporting/report_types": _report_type,
    "/v1/files": _file,
}

# Collections that exist in test mode only (Stripe's test helpers): the access matrix makes
# their objects with test keys, and a live key gets the same refusal for any id.
TEST_MODE_ONLY: Final = frozenset({"/v1/test_helpers/test_clocks"})

# Collections whose id is the same in both modes (the merchant's own account, as Stripe's
# ``acct_…``): the owner's key of the other mode reaches the account, so the matrix does not
# expect it to be refused by id (the bank accounts under it are per mode:
# tests/settlement/bank_accounts).
MODE_SHARED: Final = frozenset[str]()

# Collections whose objects are the platform's, the same for every merchant and mode (Stripe's
# report types): any merchant's key with the scope reads them, so the matrix does not expect
# another merchant or the other mode to be refused by id.
SHARED_BY_ALL: Final = frozenset({"/v1/reporting/report_types"})

# (method, path template) → the owner's answer where it cannot be 200 with live keys: live mode
# has no rail, so a live intent can be neither confirmed nor (never authorized) captured. The
# owner still gets past authorization to the use case, which is what the matrix checks.
OWNER_ANSWERS: Final[dict[tuple[str, str], tuple[int, str]]] = {
    ("POST", "/v1/payment_intents/{intent}/confirm"): (400, "rail_unavailable"),
    ("POST", "/v1/payment_intents/{intent}/capture"): (400, "payment_intent_unexpected_state"),
    ("POST", "/v1/setup_intents/{intent}/confirm"): (400, "rail_unavailable"),
    # The matrix names one object for every path parameter: the customer is found (the owner
    # got through), and no payment method has its id.
    ("GET", "/v1/customers/{customer}/payment_methods/{payment_method}"): (404, "resource_missing"),
    # The charges factory's charge is captured already, its refund succeeded (not cancelable).
    ("POST", "/v1/charges/{charge}/capture"): (400, "charge_already_captured"),
    ("POST", "/v1/payment_intents/{intent}/increment_authorization"): (
        400,
        "payment_intent_unexpected_state",
    ),
    ("POST", "/v1/refunds/{refund}/cancel"): (400, "refund_unexpected_state"),
    # As with payment methods: the customer is found, and no tax id has its id.
    ("GET", "/v1/customers/{customer}/tax_ids/{tax_id}"): (404, "resource_missing"),
    ("DELETE", "/v1/customers/{customer}/tax_ids/{tax_id}"): (404, "resource_missing"),
    # The matrix names the merchant's account for every path parameter: the account is the
    # owner's, and no bank account has its id.
    ("GET", "/v1/accounts/{account}/external_accounts/{id}"): (404, "resource_missing"),
    ("POST", "/v1/accounts/{account}/external_accounts/{id}"): (404, "resource_missing"),
    ("DELETE", "/v1/accounts/{account}/external_accounts/{id}"): (404, "resource_missing"),
    # The invoice's customer has no payment method (a live key saves no test card).
    ("POST", "/v1/invoices/{invoice}/pay"): (400, "invoice_payment_method_missing"),
    # As with tax ids: the customer is found, and no balance transaction has its id.
    ("GET", "/v1/customers/{customer}/balance_transactions/{transaction}"): (
        404,
        "resource_missing",
    ),
    ("POST", "/v1/customers/{customer}/balance_transactions/{transaction}"): (
        404,
        "resource_missing",
    ),
    # The factory's subscription waits for its first payment (incomplete): only a paused one
    # resumes.
    ("POST", "/v1/subscriptions/{subscription}/resume"): (400, "subscription_unexpected_state"),
    # The payouts factory's payout is paid (not cancelable), and live mode has no payout rail.
    ("POST", "/v1/payouts/{payout}/cancel"): (400, "payout_unexpected_state"),
    ("POST", "/v1/payouts/{payout}/reverse"): (400, "rail_unavailable"),
    # The matrix names the transfer for every path parameter: no reversal has its id.
    ("GET", "/v1/transfers/{id}/reversals/{reversal}"): (404, "resource_missing"),
    ("POST", "/v1/transfers/{id}/reversals/{reversal}"): (404, "resource_missing"),
    # The matrix's objects are live: a live connected account is not deleted (docs/settlement.md).
    ("DELETE", "/v1/accounts/{account}"): (400, "account_delete_live_unsupported"),
    # The matrix names the fee for every path parameter: no fee refund has its id.
    ("GET", "/v1/application_fees/{id}/refunds/{refund}"): (404, "resource_missing"),
    ("POST", "/v1/application_fees/{id}/refunds/{refund}"): (404, "resource_missing"),
}

REASON: Final = "Checked by the access matrix"

# (method, path template) → a valid body for the owner's request, where {} is not one.
BODIES: Final[dict[tuple[str, str], dict[str, Any]]] = {
    ("POST", "/v1/platform/merchants/{merchant}/suspend"): {"reason": REASON},
    ("POST", "/v1/platform/kyc_documents/{document}/reject"): {"reason": REASON},
    # An hour ago: inside the window recover accepts (14 days), whenever the tests run.
    ("POST", "/v1/webhook_endpoints/{webhook_endpoint}/recover"): {
        "since": int(time.time()) - 3_600
    },
    ("POST", "/v1/test_helpers/test_clocks/{test_clock}/advance"): {
        "frozen_time": TEST_CLOCK_FROZEN_TIME + 86_400
    },
    ("POST", "/v1/payment_intents/{intent}/increment_authorization"): {"amount": 2_000},
    ("POST", "/v1/customers/{customer}/tax_ids"): {"type": "in_gst", "value": "27AAPFU0939F1ZV"},
    ("POST", "/v1/customers/{customer}/balance_transactions"): {
        "amount": -100,
        "currency": "inr",
    },
    ("POST", "/v1/platform/reconciliation/exceptions/{id}/resolve"): {"resolution_note": REASON},
    ("POST", "/v1/accounts/{account}/external_accounts"): {
        "external_account": {
            "object": "bank_account",
            "country": "IN",
            "account_number": "000123456789",
            "routing_number": "HDFC0001234",
            "account_holder_name": "Matrix Traders",
        }
    },
}


async def _suspend(actors: Actors, merchant_id: str) -> None:
    await actors.owner(f"/v1/platform/merchants/{merchant_id}/suspend", {"reason": REASON})


# (method, path template) → what must happen to a fresh object before the owner's call succeeds.
PREPARATIONS: Final[dict[tuple[str, str], Preparation]] = {
    ("POST", "/v1/platform/merchants/{merchant}/reactivate"): _suspend,
    ("POST", "/v1/payment_methods/{payment_method}/detach"): _attach_to_new_customer,
    ("POST", "/v1/invoices/{invoice}/void"): _finalize_invoice,
    ("POST", "/v1/invoices/{invoice}/mark_uncollectible"): _finalize_invoice,
}

# (method, path template) → the owner's body where it names another object made for the call.
BodyFactory = Callable[[Actors, str], Awaitable[dict[str, Any]]]
BODY_FACTORIES: Final[dict[tuple[str, str], BodyFactory]] = {
    ("POST", "/v1/payment_methods/{payment_method}/attach"): _new_customer_body,
}


def collection_of(path: str) -> str:
    """``/v1/customers/{customer}`` → ``/v1/customers``."""
    return path.split("{", 1)[0].rstrip("/")
