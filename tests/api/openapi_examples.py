"""Real answers of every documented route, for the OpenAPI field test (test_openapi_fields.py).

:func:`make_examples` drives the API in this process through one story of a merchant and of
two payers: each object is made through the API in the states that render differently (a
payment succeeded, held, canceled, declined, waiting for the payer; a delivery attempted; a
deleted customer), then read, listed, updated and deleted. The client it is given records every
answer (:class:`Recorder`), so the test compares each with what the document declares.
"""

from __future__ import annotations

import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.events.tasks import number_events_on
from beyondpay.kit.clock import utcnow
from beyondpay.merchants.domain import KeyKind
from beyondpay.merchants.service import api_key_service
from beyondpay.rails.file_domain import business_date_of
from beyondpay.reporting.tasks import run_report_on
from beyondpay.webhooks.deliveries import deliver_due_on, schedule_on
from tests.events.support import numbering_pool
from tests.notifications.support import send_queued
from tests.payments.support import deliver_callbacks
from tests.psp.authenticator import SoftwareAuthenticator
from tests.psp.support import attest_sim, bind_device, log_in, new_device_id, sign_up
from tests.psp.transfers_support import PIN, ReadyPayer, card, pay, ready_payer
from tests.support import TestMerchant, ring_for_tests
from tests.test_clocks.support import run_advances

AMOUNT_MINOR: Final = 1_500  # ₹15: under every PSP limit
NEW_PIN: Final = "8147"
PAN: Final = "ABCPE1234F"
BANK: Final = {
    "account_number": "000123456789012",
    "ifsc": "HDFC0001234",
    "account_holder_name": "Acme",
}


@dataclass(frozen=True)
class Example:
    method: str
    path: str
    status: int
    body: Any


@dataclass
class Recorder:
    """An httpx response hook keeping every answer with a JSON body."""

    examples: list[Example] = field(default_factory=list)

    async def __call__(self, response: httpx.Response) -> None:
        await response.aread()
        if not response.headers.get("content-type", "").startswith("application/json"):
            return
        request = response.request
        self.examples.append(
            Example(request.method, request.url.path, response.status_code, response.json())
        )


class Api:
    """JSON calls that must answer 200, as a merchant (``key``), an admin or a payer."""

    def __init__(self, http: httpx.AsyncClient, merchant: TestMerchant, admin_key: str) -> None:
        self.http = http
        self.merchant = merchant
        self.admin = {"Authorization": f"Bearer {admin_key}"}

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        """``headers`` None: the merchant's secret test key; ``{}``: no key (public routes)."""
        chosen = self.merchant.auth() if headers is None else headers
        return {"Idempotency-Key": uuid.uuid4().hex, **chosen}

    async def post(
        self, path: str, data: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> Any:
        answer = await self.http.post(path, json=data or {}, headers=self._headers(headers))
        assert answer.status_code == 200, f"POST {path}: {answer.status_code} {answer.text}"
        return answer.json()

    async def get(
        self, path: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> Any:
        chosen = self.merchant.auth() if headers is None else headers
        answer = await self.http.get(path, params=params, headers=chosen)
        assert answer.status_code == 200, f"GET {path}: {answer.status_code} {answer.text}"
        return answer.json()

    async def delete(self, path: str, headers: dict[str, str] | None = None) -> Any:
        answer = await self.http.delete(path, headers=self._headers(headers))
        assert answer.status_code == 200, f"DELETE {path}: {answer.status_code} {answer.text}"
        return answer.json()


def unreachable_url() -> str:
    """A loopback URL nothing listens on (a port bound, then let go): a delivery attempt to it
    fails at once with a connection error, and is recorded."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


async def admin_key(database: Database) -> str:
    async with database.unit_of_work() as session:
        issued = await api_key_service.issue(
            session, ring_for_tests(), merchant_id=None, kind=KeyKind.admin, livemode=True
        )
    return str(issued.secret)


async def make_examples(
    http: httpx.AsyncClient, database: Database, merchant: TestMerchant
) -> None:
    """Calls every documented route at least once with a 200 answer (``http`` records them)."""
    api = Api(http, merchant, await admin_key(database))
    await _accounts(api)
    await _platform(api)
    customer = await _customers(api)
    await _payment_methods(api, customer)
    await _payments(api, database, customer)
    await _setup_intents(api)
    await _payment_parameters(api)
    await _refunds_and_balance(api)
    await _disputes(api, database)
    await _legacy(api, database)
    await _webhooks(api, database)
    await _ledger(api)
    await _limits_and_risk(api)
    await _test_clocks(api, database)
    await _merchant_vpas(api)
    await _tax(api, customer)
    payer, peer = await ready_payer(http), await ready_payer(http, name="Ravi Kumar")
    await _psp_identity(api, payer)
    await _psp_passkeys(api, payer)
    await _psp_banking(api, payer)
    await _psp_addresses(api, payer, peer)
    await _psp_transfers(api, payer, peer)
    await _psp_collects(api, payer, peer)
    await _psp_sessions(api)
    await _events(api)
    await _notifications(api, database)
    await _catalog(api)
    await _billing_portal(api)
    await _invoices(api)
    await _subscriptions(api)
    await _credit_notes(api)
    await _subscription_resume(api, database)
    await _checkout_sessions(api)
    await _payment_links(api)
    await _settlement(api)
    await _external_accounts(api)
    await _payouts(api, database)
    await _connect(api, database)
    await _reconciliation(api)
    await _reporting(api, database)


async def _accounts(api: Api) -> None:
    await api.get("/v1/account")
    await api.post("/v1/account/kyc_documents", {"type": "pan", "pan": {"number": PAN}})
    await api.post("/v1/account/kyc_documents", {"type": "bank_account", "bank_account": BANK})
    await api.get("/v1/account/kyc_documents")
    key = await api.post(
        "/v1/api_keys", {"scopes": ["customers:read"], "name": "Reports", "allowed_ips": []}
    )
    await api.get("/v1/api_keys")
    rolled = await api.post(f"/v1/api_keys/{key['id']}/roll", {"expires_in": 3_600})
    await api.post(f"/v1/api_keys/{rolled['id']}/revoke")
    await api.get("/v1/api_keys")  # a revoked key, a rolled one with its expiry
    await api.get("/v1/audit_events")


async def _platform(api: Api) -> None:
    admin = api.admin
    account = await api.post("/v1/platform/merchants", {"name": "Matrix Traders"}, admin)
    keys = {key["secret"][:7]: key["secret"] for key in account["api_keys"]}
    owner = {"Authorization": f"Bearer {keys['sk_test']}"}
    pan = await api.post(
        "/v1/account/kyc_documents", {"type": "pan", "pan": {"number": PAN}}, owner
    )
    bank = await api.post(
        "/v1/account/kyc_documents", {"type": "bank_account", "bank_account": BANK}, owner
    )
    await api.get("/v1/platform/merchants", headers=admin)
    await api.get(f"/v1/platform/merchants/{account['id']}", headers=admin)
    await api.get(f"/v1/platform/merchants/{account['id']}/kyc_documents", headers=admin)
    await api.get("/v1/platform/kyc_documents", headers=admin)
    await api.get(f"/v1/platform/kyc_documents/{pan['id']}/reveal", headers=admin)
    await api.post(f"/v1/platform/kyc_documents/{pan['id']}/approve", headers=admin)
    await api.post(f"/v1/platform/kyc_documents/{bank['id']}/reject", {"reason": "Blurred"}, admin)
    await api.get("/v1/platform/kyc_documents", headers=admin)  # reviewed, with reasons
    await api.post(
        f"/v1/platform/merchants/{account['id']}/suspend", {"reason": "Chargebacks"}, admin
    )
    await api.post(f"/v1/platform/merchants/{account['id']}/reactivate", headers=admin)
    await api.get("/v1/platform/audit_events", headers=admin)


async def _customers(api: Api) -> str:
    address = {"line1": "12 MG Road", "city": "Bengaluru", "postal_code": "560001", "country": "IN"}
    customer = await api.post(
        "/v1/customers",
        {
            "name": "Asha Rao",
            "email": "asha@example.com",
            "phone": "+919800000001",
            "description": "Regular",
            "address": address,
            "metadata": {"tier": "gold"},
        },
    )
    await api.post("/v1/customers", {})  # every field null
    await api.get("/v1/customers")
    await api.get("/v1/customers/search", {"query": "name:'Asha Rao'"})
    await api.get(f"/v1/customers/{customer['id']}")
    await api.post(f"/v1/customers/{customer['id']}", {"description": "Loyal"})
    gone = await api.post("/v1/customers", {"name": "Gone"})
    await api.delete(f"/v1/customers/{gone['id']}")
    await api.get(f"/v1/customers/{gone['id']}")  # the deleted shape
    return str(customer["id"])


async def _payment_methods(api: Api, customer: str) -> None:
    billing = {"name": "Asha Rao", "email": "asha@example.com", "address": {"city": "Pune"}}
    card_method = await api.post(
        "/v1/payment_methods",
        {
            "type": "card",
            "billing_details": billing,
            "metadata": {"k": "v"},
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"},
        },
    )
    upi = await api.post("/v1/payment_methods", {"type": "upi", "upi": {"vpa": "asha@sandbox"}})
    bank = await api.post(
        "/v1/payment_methods", {"type": "netbanking", "netbanking": {"bank": "HDFC"}}
    )
    for method in (card_method, upi, bank):
        await api.post(f"/v1/payment_methods/{method['id']}/attach", {"customer": customer})
        await api.get(f"/v1/payment_methods/{method['id']}")
    await api.get("/v1/payment_methods", {"customer": customer})
    await api.get(f"/v1/customers/{customer}/payment_methods")
    await api.post(f"/v1/payment_methods/{card_method['id']}", {"card": {"exp_month": 11}})
    await api.post(f"/v1/payment_methods/{bank['id']}/detach")


async def _setup_intents(api: Api) -> None:
    """Saving cards: a customer made with one (its default), SetupIntents succeeded, waiting
    for 3-D Secure, canceled and declined, and a payment saving its card."""
    customer = await api.post(
        "/v1/customers",
        {"payment_method": "pm_card_visa", "invoice_settings": {"default_payment_method": ""}},
    )
    saved = await api.post("/v1/payment_methods/pm_card_visa/attach", {"customer": customer["id"]})
    await api.post(
        f"/v1/customers/{customer['id']}",
        {"invoice_settings": {"default_payment_method": saved["id"]}},
    )
    await api.get(f"/v1/customers/{customer['id']}/payment_methods/{saved['id']}")
    setups = "/v1/setup_intents"
    created = await api.post(setups, {"customer": customer["id"], "metadata": {"k": "v"}})
    await api.post(f"{setups}/{created['id']}", {"payment_method": "pm_card_mastercard"})
    await api.post(f"{setups}/{created['id']}/confirm", {"return_url": "https://shop.example/"})
    challenged = await api.post(
        setups, {"payment_method": "pm_card_authenticationRequiredOnSetup", "confirm": True}
    )
    await api.get(f"{setups}/{challenged['id']}")
    await api.post(f"{setups}/{challenged['id']}/cancel", {"cancellation_reason": "abandoned"})
    declined = await api.http.post(
        setups,
        json={"payment_method": "pm_card_chargeDeclined", "confirm": True},
        headers=api.merchant.auth(),
    )
    assert declined.status_code == 402, declined.text
    await api.get(f"{setups}/{declined.json()['error']['setup_intent']['id']}")
    await api.get(setups, {"expand[]": ["data.payment_method"], "customer": customer["id"]})
    await api.post(
        "/v1/payment_intents",
        {
            "amount": AMOUNT_MINOR,
            "currency": "inr",
            "customer": customer["id"],
            "payment_method": "pm_card_visa",
            "setup_future_usage": "off_session",
            "confirm": True,
        },
    )


async def _payments(api: Api, database: Database, customer: str) -> None:
    """Card payments: paid (and read expanded), held then captured, canceled, declined."""
    intents = "/v1/payment_intents"
    paid = await api.post(
        intents,
        {
            "amount": 10_000,
            "currency": "inr",
            "customer": customer,
            "confirm": True,
            "payment_method": "pm_card_visa",
            "receipt_email": "asha@example.com",
            "statement_descriptor": "ACME",
            "description": "Order 7",
            "metadata": {"order": "7"},
        },
    )
    expand_charge = {"expand[]": ["balance_transaction", "payment_intent"]}
    await api.get(f"/v1/charges/{paid['latest_charge']}", expand_charge)
    expand_intent = {"expand[]": ["latest_charge.balance_transaction", "payment_method"]}
    await api.get(f"{intents}/{paid['id']}", expand_intent)
    await api.get(intents, {"expand[]": ["data.latest_charge", "data.payment_method"]})
    await api.get("/v1/charges", {"expand[]": ["data.balance_transaction"]})
    await api.post(f"/v1/charges/{paid['latest_charge']}", {"description": "Seven", "metadata": {}})
    held = await api.post(intents, {"amount": 5_000, "currency": "inr", "capture_method": "manual"})
    await api.post(f"{intents}/{held['id']}", {"description": "Held", "metadata": {"a": "b"}})
    await api.post(f"{intents}/{held['id']}/confirm", {"payment_method": "pm_card_visa"})
    await api.post(f"{intents}/{held['id']}/capture", {"amount_to_capture": 4_000})
    canceled = await api.post(intents, {"amount": 2_000, "currency": "inr"})
    await api.post(
        f"{intents}/{canceled['id']}/cancel", {"cancellation_reason": "requested_by_customer"}
    )
    declined = await api.http.post(
        intents,
        json={
            "amount": 3_000,
            "currency": "inr",
            "confirm": True,
            "payment_method": "pm_card_chargeDeclinedInsufficientFunds",
        },
        headers=api.merchant.auth(),
    )
    assert declined.status_code == 402, declined.text
    await api.get(f"{intents}/{declined.json()['error']['payment_intent']['id']}")
    await api.get(f"/v1/charges/{declined.json()['error']['charge']}")
    await _payments_with_actions(api, database)


async def _payment_parameters(api: Api) -> None:
    """Issue 17's current parameters: types chosen (automatic, allowed, excluded), options of
    cards and UPI, shipping on an intent, its charge and a customer, a descriptor suffix."""
    intents = "/v1/payment_intents"
    address = {"line1": "12 MG Road", "city": "Bengaluru", "postal_code": "560001", "country": "IN"}
    shipping = {"name": "Asha Rao", "phone": "+919800000001", "address": address}
    parcel = {**shipping, "carrier": "India Post", "tracking_number": "EE123456789IN"}
    paid = await api.post(
        intents,
        {
            "amount": 4_000,
            "currency": "inr",
            "confirm": True,
            "payment_method": "pm_card_visa",
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            "excluded_payment_method_types": ["netbanking"],
            "payment_method_options": {
                "card": {"request_three_d_secure": "automatic", "capture_method": "manual"},
                "upi": {"setup_future_usage": "none"},
            },
            "shipping": parcel,
            "statement_descriptor_suffix": "Order 8",
            "receipt_email": "asha@example.com",
        },
    )
    await api.get(f"/v1/charges/{paid['latest_charge']}")
    await api.post(f"/v1/charges/{paid['latest_charge']}", {"shipping": parcel})
    await api.post(
        intents, {"amount": 1_000, "currency": "inr", "allowed_payment_method_types": ["upi"]}
    )
    await api.post("/v1/customers", {"name": "Asha Rao", "shipping": shipping})


async def _payments_with_actions(api: Api, database: Database) -> None:
    """Payments waiting for the payer, one of each ``next_action``: 3-D Secure and net banking
    (redirect_to_url), a UPI collect, a UPI intent (no VPA: the payer's app pays a link)."""
    intents = "/v1/payment_intents"
    secured = await api.post(
        intents,
        {
            "amount": 3_000,
            "currency": "inr",
            "confirm": True,
            "return_url": "https://shop.example",
            "payment_method": "pm_card_threeDSecure2Required",
        },
    )
    await api.get(f"{intents}/{secured['id']}")
    methods = (
        {"type": "upi", "upi": {"vpa": "success@sandbox"}},
        {"type": "upi", "upi": {}},
        {"type": "netbanking", "netbanking": {"bank": "HDFC"}},
    )
    waiting = []
    for method in methods:
        params = {
            "amount": 2_500,
            "currency": "inr",
            "confirm": True,
            "payment_method_types": [method["type"]],
            "payment_method_data": method,
            "return_url": "https://shop.example",
        }
        waiting.append(await api.post(intents, params))
    await deliver_callbacks(database)
    collected = await api.get(f"{intents}/{waiting[0]['id']}")
    await api.get(f"/v1/charges/{collected['latest_charge']}")
    await api.get(intents)
    await api.get("/v1/charges")


async def _legacy(api: Api, database: Database) -> None:
    """Tokens, charges with a source and their capture, searches, a refund canceled."""
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}
    token = await api.post("/v1/tokens", {"card": {**card, "name": "Asha", "address_zip": "1"}})
    await api.get(f"/v1/tokens/{token['id']}")
    held = await api.post(
        "/v1/charges",
        {"amount": 4_000, "currency": "inr", "source": token["id"], "capture": False},
    )
    incrementable = await api.post(
        "/v1/payment_intents",
        {
            "amount": 4_000,
            "currency": "inr",
            "payment_method": "pm_card_visa",
            "capture_method": "manual",
            "confirm": True,
            "payment_method_options": {
                "card": {"request_incremental_authorization": "if_available"}
            },
        },
    )
    await api.post(
        f"/v1/payment_intents/{incrementable['id']}/increment_authorization",
        {"amount": 4_500, "description": "With a tip", "metadata": {"tip": "500"}},
    )
    await api.post(f"/v1/charges/{held['id']}/capture", {"amount": 3_000})
    await api.post(
        "/v1/charges",
        {"amount": 2_000, "currency": "inr", "source": "tok_refundFail", "metadata": {"o": "1"}},
    )
    await api.get("/v1/payment_intents/search", {"query": "amount>0", "limit": 2})
    await api.get(
        "/v1/charges/search",
        {"query": "metadata['o']:'1'", "expand[]": ["data.balance_transaction"]},
    )
    failing = await api.post(
        "/v1/charges", {"amount": 1_000, "currency": "inr", "source": "tok_refundFail"}
    )
    refund = await api.post("/v1/refunds", {"charge": failing["id"]})
    async with database.unit_of_work() as session:  # as if it waited for the customer
        await session.execute(
            text("UPDATE refunds SET status = 'requires_action' WHERE id = :id"),
            {"id": refund["id"]},
        )
    await api.post(f"/v1/refunds/{refund['id']}/cancel")


async def _refunds_and_balance(api: Api) -> None:
    intent = await api.post(
        "/v1/payment_intents",
        {"amount": 10_000, "currency": "inr", "confirm": True, "payment_method": "pm_card_visa"},
    )
    refund = await api.post(
        "/v1/refunds",
        {
            "payment_intent": intent["id"],
            "amount": 3_000,
            "reason": "requested_by_customer",
            "metadata": {"ticket": "T-1"},
        },
    )
    await api.post("/v1/refunds", {"charge": intent["latest_charge"]})  # the rest
    await api.get("/v1/refunds", {"expand[]": ["data.balance_transaction"]})
    await api.get(f"/v1/refunds/{refund['id']}", {"expand[]": "balance_transaction"})
    await api.post(f"/v1/refunds/{refund['id']}", {"metadata": {"ticket": "T-2"}})
    await api.get("/v1/balance")
    transactions = await api.get("/v1/balance_transactions", {"limit": 100})
    await api.get(f"/v1/balance_transactions/{transactions['data'][0]['id']}")


async def _disputes(api: Api, database: Database) -> None:
    """A card dispute won, one closed, and a UPI chargeback: each rendering of the object."""
    intents = "/v1/payment_intents"
    card = {"amount": 10_000, "currency": "inr", "confirm": True}
    won = await api.post(intents, {**card, "payment_method": "pm_card_createDispute"})
    closed = await api.post(intents, {**card, "payment_method": "pm_card_createDispute"})
    upi = {"type": "upi", "upi": {"vpa": "dispute@sandbox"}}
    await api.post(
        intents,
        {**card, "payment_method_types": ["upi"], "payment_method_data": upi},
    )
    await deliver_callbacks(database)  # the disputes, and the UPI payer's approval
    # The UPI chargeback, 10 s after an approval delivered as if 5 minutes had passed.
    await deliver_callbacks(database, after=timedelta(minutes=10))
    listed = await api.get("/v1/disputes", {"limit": 100})
    assert {item["payment_method_details"]["type"] for item in listed["data"]} == {"card", "upi"}
    by_charge = {item["charge"]: item["id"] for item in listed["data"]}
    dispute = by_charge[won["latest_charge"]]
    await api.get(f"/v1/disputes/{dispute}")
    evidence = {"uncategorized_text": "winning_evidence", "customer_name": "Asha"}
    await api.post(f"/v1/disputes/{dispute}", {"evidence": evidence, "submit": False})
    await api.post(f"/v1/disputes/{dispute}", {"submit": True, "metadata": {"case": "C-1"}})
    await api.post(f"/v1/disputes/{by_charge[closed['latest_charge']]}/close")
    await api.get("/v1/disputes", {"payment_intent": won["id"]})


async def _webhooks(api: Api, database: Database) -> None:
    endpoints = "/v1/webhook_endpoints"
    endpoint = await api.post(
        endpoints,
        {
            "url": unreachable_url(),
            "enabled_events": ["customer.created"],
            "description": "Orders",
            "metadata": {"team": "ops"},
        },
    )
    await api.get(endpoints)
    await api.get(f"{endpoints}/{endpoint['id']}")
    await api.post(f"{endpoints}/{endpoint['id']}", {"description": "All orders"})
    await api.post(f"{endpoints}/{endpoint['id']}/roll_secret", {"expires_in": 60})
    await api.post("/v1/customers", {"name": "Delivered"})
    async with numbering_pool(database) as pool:
        await number_events_on(pool, api.merchant.id, False)
    await schedule_on(database, api.merchant.id, False)
    await deliver_due_on(database, ring_for_tests(), allow_private_test_urls=True)
    deliveries = await api.get(f"{endpoints}/{endpoint['id']}/deliveries")
    delivery = deliveries["data"][0]["id"]
    await api.get(f"/v1/webhook_deliveries/{delivery}")  # with its failed attempt
    await api.post(f"/v1/webhook_deliveries/{delivery}/retry")
    await api.post(f"{endpoints}/{endpoint['id']}/recover", {"since": int(time.time()) - 3_600})
    await api.delete(f"{endpoints}/{endpoint['id']}")
    await api.get(f"{endpoints}/{endpoint['id']}")  # the deleted shape


async def _ledger(api: Api) -> None:
    accounts = []
    for name in ("wallet", "float"):
        accounts.append(
            await api.post(
                "/v1/ledger/accounts",
                {
                    "id": f"{name}-{uuid.uuid4().hex[:12]}",
                    "currency": "INR",
                    "code": name,
                    "metadata": {"owner": "asha"},
                },
            )
        )
    debit, credit = accounts[0]["id"], accounts[1]["id"]
    move = {"debit_account": debit, "credit_account": credit, "currency": "INR", "code": "topup"}
    hold_id = f"hold-{uuid.uuid4().hex[:12]}"
    batch = await api.post(
        "/v1/ledger/transfers",
        {
            "transfers": [
                {"id": f"topup-{uuid.uuid4().hex[:12]}", "amount": 1_500, **move},
                {"id": hold_id, "amount": 500, "pending": True, "timeout_s": 3_600, **move},
            ]
        },
    )
    await api.post(
        "/v1/ledger/transfers",
        {
            "transfers": [
                {
                    "id": f"post-{uuid.uuid4().hex[:12]}",
                    "post_pending": True,
                    "pending_id": hold_id,
                    "amount": 400,
                }
            ]
        },
    )
    await api.get("/v1/ledger/accounts")
    await api.get(f"/v1/ledger/accounts/{debit}")
    await api.get(f"/v1/ledger/accounts/{debit}/balance_history")
    await api.get("/v1/ledger/transfers", {"expand[]": ["data.debit_account"]})
    transfer = batch["data"][1]["id"]
    await api.get(f"/v1/ledger/transfers/{transfer}", {"expand[]": ["credit_account"]})


async def _limits_and_risk(api: Api) -> None:
    policy = await api.post(
        "/v1/limits/policies",
        {
            "kind": "cap",
            "subject": "payer",
            "period": "day",
            "amount_max": 100_000,
            "description": "Daily cap",
            "metadata": {"k": "v"},
        },
    )
    await api.get("/v1/limits/policies")
    await api.get(f"/v1/limits/policies/{policy['id']}")
    await api.post(f"/v1/limits/policies/{policy['id']}", {"amount_max": 90_000})
    await api.delete(f"/v1/limits/policies/{policy['id']}")
    await api.get("/v1/limits/policies")
    assessment = await api.post(
        "/v1/risk/assessments",
        {
            "payment": f"pay-{uuid.uuid4().hex[:12]}",
            "amount": 499_00,
            "currency": "inr",
            "rail": "upi",
            "payer": "cus_risk",
        },
    )
    await api.get("/v1/risk/assessments")
    await api.get(f"/v1/risk/assessments/{assessment['id']}")
    rule = await api.post(
        "/v1/risk/rules",
        {
            "action": "review",
            "reason": "Busy payer",
            "conditions": [{"feature": "count_1h", "op": ">", "value": "3"}],
        },
    )
    await api.get("/v1/risk/rules")
    await api.get(f"/v1/risk/rules/{rule['id']}")
    await api.post(f"/v1/risk/rules/{rule['id']}", {"enabled": False})
    await api.delete(f"/v1/risk/rules/{rule['id']}")
    item = await api.post(
        "/v1/risk/blocklist_items", {"kind": "device", "value": "dev-1", "reason": "Stolen"}
    )
    await api.get("/v1/risk/blocklist_items")
    await api.get(f"/v1/risk/blocklist_items/{item['id']}")
    await api.delete(f"/v1/risk/blocklist_items/{item['id']}")


async def _test_clocks(api: Api, database: Database) -> None:
    path = "/v1/test_helpers/test_clocks"
    clock = await api.post(path, {"frozen_time": 1_577_836_800, "name": "Renewals"})
    await api.post("/v1/customers", {"name": "Asha", "test_clock": clock["id"]})
    await api.get(path)
    await api.post(f"{path}/{clock['id']}/advance", {"frozen_time": 1_577_836_800 + 86_400})
    await api.get(f"{path}/{clock['id']}")  # advancing, with its status_details
    await run_advances(database)
    await api.get(f"{path}/{clock['id']}")
    await api.delete(f"{path}/{clock['id']}")
    await api.get(f"{path}/{clock['id']}")


async def _merchant_vpas(api: Api) -> None:
    vpa = await api.post(
        "/v1/upi/merchant_vpas",
        {
            "username": f"m{uuid.uuid4().hex[:12]}",
            "merchant_category_code": "5411",
            "display_name": "Acme Stores",
        },
    )
    await api.get("/v1/upi/merchant_vpas")
    await api.get(f"/v1/upi/merchant_vpas/{vpa['id']}")


async def _psp_identity(api: Api, ready: ReadyPayer) -> None:
    payer = ready.payer
    await api.get("/v1/psp/me", headers=payer.headers)
    await api.get("/v1/psp/devices", headers=payer.headers)
    first = payer.device_id
    second = await bind_device(api.http, payer)  # linked, approved by the first device
    await api.get("/v1/psp/device_links", headers=payer.headers)
    await api.post(f"/v1/psp/devices/{first}/revoke", headers=payer.headers)
    await api.get("/v1/psp/devices", headers=payer.headers)  # a revoked one
    session = await log_in(api.http, payer)
    device_id = new_device_id()
    token = await attest_sim(api.http, payer.mobile, device_id)
    link = await api.post(
        "/v1/psp/device_links",
        {"device_id": device_id, "binding_token": token, "name": "Tablet", "platform": "android"},
        {"Authorization": f"Bearer {session['access_token']}"},
    )
    await api.post(f"/v1/psp/device_links/{link['id']}/decline", headers=payer.headers)
    handoff = await api.post("/v1/psp/handoffs", headers=payer.headers)
    await api.post("/v1/psp/handoffs/redeem", {"qr_payload": handoff["qr_payload"]}, {})
    assert payer.device_id == second


async def _psp_passkeys(api: Api, ready: ReadyPayer) -> None:
    payer, authenticator = ready.payer, SoftwareAuthenticator()
    options = await api.post("/v1/psp/passkeys/registration_options", headers=payer.headers)
    credential = authenticator.create(options["public_key"])
    await api.post(
        "/v1/psp/passkeys",
        {"challenge_id": options["id"], "credential": credential, "name": "Phone"},
        payer.headers,
    )
    await api.get("/v1/psp/passkeys", headers=payer.headers)
    login = await api.post("/v1/psp/passkeys/login/options", {"mobile": payer.mobile}, {})
    await api.post(
        "/v1/psp/passkeys/login",
        {
            "challenge_id": login["id"],
            "credential": authenticator.get(login["public_key"]),
            "device_id": payer.device_id,
        },
        {},
    )
    await api.get("/v1/psp/passkeys", headers=payer.headers)  # last used
    await api.post("/v1/psp/freeze", headers=payer.headers)
    step_up = await api.post("/v1/psp/passkeys/step_up/options", headers=payer.headers)
    await api.post(
        "/v1/psp/unfreeze",
        {"challenge_id": step_up["id"], "credential": authenticator.get(step_up["public_key"])},
        payer.headers,
    )


async def _psp_banking(api: Api, ready: ReadyPayer) -> None:
    headers, accounts = ready.headers, "/v1/psp/bank_accounts"
    await api.post(f"{accounts}/discover", headers=headers)
    second = await api.post(accounts, {"bank": "sbx2", **card(ready.payer)}, headers)
    await api.get(accounts, headers=headers)
    await api.get(f"{accounts}/{second['id']}", headers=headers)
    await api.post(f"{accounts}/{second['id']}/pin", {"pin": PIN, **card(ready.payer)}, headers)
    await api.post(
        f"{accounts}/{second['id']}/pin/change", {"old_pin": PIN, "new_pin": NEW_PIN}, headers
    )
    await api.post(f"{accounts}/{second['id']}/balance", {"pin": NEW_PIN}, headers)
    await api.post(f"{accounts}/{second['id']}/primary", headers=headers)
    await api.post(f"{accounts}/{ready.bank_account}/primary", headers=headers)
    await api.delete(f"{accounts}/{second['id']}", headers)


async def _psp_addresses(api: Api, ready: ReadyPayer, peer: ReadyPayer) -> None:
    headers = ready.headers
    second = await api.post(
        "/v1/psp/vpas",
        {"username": f"q{uuid.uuid4().hex[:10]}", "bank_account": ready.bank_account},
        headers,
    )
    await api.get("/v1/psp/vpas", headers=headers)
    await api.get(f"/v1/psp/vpas/{second['id']}", headers=headers)
    await api.post(f"/v1/psp/vpas/{second['id']}", {"bank_account": ready.bank_account}, headers)
    await api.post(f"/v1/psp/vpas/{second['id']}/primary", headers=headers)
    await api.post(f"/v1/psp/vpas/{ready.vpa_id}/primary", headers=headers)
    await api.post(f"/v1/psp/vpas/{second['id']}/deactivate", headers=headers)
    await api.post("/v1/psp/resolve", {"vpa": peer.vpa}, headers)
    alias = await api.post(
        "/v1/psp/aliases",
        {
            "vpa": ready.vpa_id,
            "counterparty": peer.vpa,
            "one_time": True,
            "expires_at": int(time.time()) + 86_400,
        },
        headers,
    )
    await api.get("/v1/psp/aliases", headers=headers)
    await api.get(f"/v1/psp/aliases/{alias['id']}", headers=headers)
    await api.post(f"/v1/psp/aliases/{alias['id']}/rotate", headers=headers)
    await api.post(f"/v1/psp/aliases/{alias['id']}/revoke", headers=headers)
    saved = await api.post("/v1/psp/beneficiaries", {"nickname": "Ravi", "vpa": peer.vpa}, headers)
    await api.get("/v1/psp/beneficiaries", headers=headers)
    await api.delete(f"/v1/psp/beneficiaries/{saved['id']}", headers)
    await api.get("/v1/psp/beneficiaries", headers=headers)


async def _psp_transfers(api: Api, ready: ReadyPayer, peer: ReadyPayer) -> None:
    headers = ready.headers
    await api.post(
        "/v1/psp/payments/review", {"vpa": peer.vpa, "amount": AMOUNT_MINOR, "note": "Tea"}, headers
    )
    sent = await pay(api.http, ready, AMOUNT_MINOR, vpa=peer.vpa, note="Tea")
    assert sent.status_code == 200, sent.text
    received = await pay(api.http, peer, AMOUNT_MINOR, vpa=ready.vpa)
    assert received.status_code == 200, received.text
    await api.get("/v1/psp/transactions", headers=headers)
    await api.get(f"/v1/psp/transactions/{sent.json()['id']}", headers=headers)
    await api.get(f"/v1/psp/transactions/{received.json()['id']}", headers=headers)


async def _psp_collects(api: Api, ready: ReadyPayer, peer: ReadyPayer) -> None:
    collects = "/v1/psp/collect_requests"
    asked = {"vpa": ready.vpa, "amount": AMOUNT_MINOR, "note": "Dinner"}
    first = await api.post(collects, asked, peer.headers)
    second = await api.post(collects, asked, peer.headers)
    await api.get(collects, headers=ready.headers)
    await api.get(collects, {"role": "requester"}, headers=peer.headers)
    await api.get(f"{collects}/{first['id']}", headers=ready.headers)
    await api.post(f"{collects}/{first['id']}/approve", {"pin": PIN}, ready.headers)
    await api.post(f"{collects}/{second['id']}/decline", headers=ready.headers)
    await api.post(
        "/v1/payment_intents",
        {
            "amount": AMOUNT_MINOR,
            "currency": "inr",
            "confirm": True,
            "payment_method_types": ["upi"],
            "payment_method_data": {"type": "upi", "upi": {"vpa": ready.vpa}},
        },
    )
    await api.get(collects, {"status": "pending"}, headers=ready.headers)  # a merchant's


async def _psp_sessions(api: Api) -> None:
    payer = await sign_up(api.http)
    await api.post("/v1/psp/sessions/refresh", {"refresh_token": payer.refresh_token}, {})
    await api.get("/v1/psp/sandbox/sms", {"mobile": payer.mobile})
    session = await log_in(api.http, payer)
    await api.post("/v1/psp/logout", headers={"Authorization": f"Bearer {session['access_token']}"})
    session = await log_in(api.http, payer)
    await api.post(
        "/v1/psp/logout_everywhere",
        headers={"Authorization": f"Bearer {session['access_token']}"},
    )


async def _tax(api: Api, customer: str) -> None:
    """Tax rates, and tax ids: a customer's GSTIN and the merchant's own."""
    rate = await api.post(
        "/v1/tax_rates",
        {"display_name": "GST", "percentage": 18, "inclusive": False, "country": "IN",
         "state": "KA", "tax_type": "gst", "metadata": {"hsn": "9983"}},
    )  # fmt: skip
    await api.get(f"/v1/tax_rates/{rate['id']}")
    await api.post(f"/v1/tax_rates/{rate['id']}", {"active": False, "description": "Archived"})
    await api.get("/v1/tax_rates", {"active": "false"})
    owned = f"/v1/customers/{customer}/tax_ids"
    theirs = await api.post(owned, {"type": "in_gst", "value": "27AAPFU0939F1ZV"})
    await api.get(f"{owned}/{theirs['id']}")
    await api.get(owned)
    await api.get("/v1/tax_ids", {"owner[type]": "customer", "owner[customer]": customer})
    await api.delete(f"{owned}/{theirs['id']}")
    own = await api.post("/v1/tax_ids", {"type": "in_gst", "value": "29AAPFU0939F1ZR"})
    await api.get(f"/v1/tax_ids/{own['id']}")
    await api.get("/v1/tax_ids")
    await api.delete(f"/v1/tax_ids/{own['id']}")


async def _events(api: Api) -> None:
    listed = await api.get("/v1/events", {"limit": 100})
    for event in listed["data"][:20]:
        await api.get(f"/v1/events/{event['id']}")


async def _notifications(api: Api, database: Database) -> None:
    """A receipt sent (the paid intent of ``_payments`` had ``receipt_email``) and sent again;
    the charge with its receipt number, and the sink's emails."""
    await send_queued(database)
    [charge] = (await api.get("/v1/charges", {"limit": 1}))["data"]
    await api.post(f"/v1/charges/{charge['id']}", {"receipt_email": "ravi@example.com"})
    await send_queued(database)
    await api.get(f"/v1/charges/{charge['id']}")
    await api.get("/v1/notifications/sandbox/emails", {"limit": 5})


async def _catalog(api: Api) -> None:
    """Products (with every field, with a default price expanded, deleted), prices (one-time,
    recurring, with their product expanded), coupons (percent and amount off, limited to
    products, deleted) and promotion codes (restricted, with their coupon expanded)."""
    product = await api.post(
        "/v1/products",
        {
            "name": "Gold plan",
            "description": "Priority support",
            "hsn_sac": "998314",
            "images": ["https://shop.example/gold.png"],
            "marketing_features": [{"name": "Priority"}],
            "package_dimensions": {"height": 1, "length": 2, "weight": 3, "width": 4},
            "shippable": False,
            "statement_descriptor": "GOLD PLAN",
            "tax_code": "txcd_10000000",
            "unit_label": "seat",
            "url": "https://shop.example/gold",
            "metadata": {"tier": "gold"},
            "default_price_data": {
                "currency": "inr",
                "unit_amount": 49_900,
                "recurring": {"interval": "month"},
            },
            "expand": ["default_price"],
        },
    )
    path = f"/v1/products/{product['id']}"
    await api.get(path)
    await api.get(path, {"expand[]": "default_price"})
    await api.post(path, {"name": "Gold", "active": True})
    await api.get("/v1/products", {"expand[]": "data.default_price"})
    await api.get("/v1/products/search", {"query": "name:'Gold'", "expand[]": "data.default_price"})
    bare = await api.post("/v1/products", {"name": "Unpriced"})
    await api.delete(f"/v1/products/{bare['id']}")

    once = await api.post(
        "/v1/prices",
        {
            "currency": "inr",
            "unit_amount": 1_500,
            "lookup_key": "setup_fee",
            "product_data": {"name": "Setup fee", "hsn_sac": "998311"},
            "expand": ["product"],
        },
    )
    await api.get(f"/v1/prices/{once['id']}", {"expand[]": "product"})
    await api.post(f"/v1/prices/{once['id']}", {"nickname": "Setup", "tax_behavior": "inclusive"})
    await api.get("/v1/prices", {"expand[]": "data.product"})
    await api.get("/v1/prices/search", {"query": "type:'recurring'"})

    percent = await api.post(
        "/v1/coupons",
        {
            "percent_off": 12.5,
            "duration": "repeating",
            "duration_in_months": 3,
            "max_redemptions": 10,
            "redeem_by": int(time.time()) + 86_400,
            "name": "Launch",
            "applies_to": {"products": [product["id"]]},
        },
    )
    amount = await api.post(
        "/v1/coupons",
        {"amount_off": 10_000, "currency": "inr", "currency_options": {"usd": {"amount_off": 120}}},
    )
    await api.get(f"/v1/coupons/{percent['id']}")
    await api.post(f"/v1/coupons/{percent['id']}", {"metadata": {"k": "v"}})
    await api.get("/v1/coupons")
    code = await api.post(
        "/v1/promotion_codes",
        {
            "promotion": {"type": "coupon", "coupon": amount["id"]},
            "code": "LAUNCH",
            "expires_at": int(time.time()) + 3_600,
            "max_redemptions": 5,
            "restrictions": {
                "first_time_transaction": True,
                "minimum_amount": 50_000,
                "minimum_amount_currency": "inr",
                "currency_options": {"usd": {"minimum_amount": 600}},
            },
            "expand": ["promotion.coupon"],
        },
    )
    await api.post("/v1/promotion_codes", {"coupon": percent["id"]})
    await api.get(f"/v1/promotion_codes/{code['id']}")
    await api.post(f"/v1/promotion_codes/{code['id']}", {"active": False})
    await api.get("/v1/promotion_codes", {"expand[]": "data.promotion.coupon"})
    await api.delete(f"/v1/coupons/{amount['id']}")


async def _billing_portal(api: Api) -> None:
    """The customer portal: a configuration with every feature's settings, updated, read and
    listed (with the default the list makes), and sessions with the default and expanded."""
    features = {
        "invoice_history": {"enabled": True},
        "payment_method_update": {"enabled": True},
        "subscription_cancel": {
            "enabled": True,
            "mode": "immediately",
            "proration_behavior": "create_prorations",
            "cancellation_reason": {"enabled": True, "options": ["too_expensive"]},
        },
        "subscription_update": {
            "enabled": True,
            "default_allowed_updates": ["price", "quantity"],
            "products": [
                {
                    "product": "prod_basic",
                    "prices": ["price_monthly"],
                    "adjustable_quantity": {"enabled": True, "maximum": 10},
                }
            ],
            "schedule_at_period_end": {"conditions": [{"type": "shortening_interval"}]},
        },
    }
    configurations = "/v1/billing_portal/configurations"
    made = await api.post(
        configurations,
        {
            "features": features,
            "business_profile": {"headline": "Acme billing"},
            "default_return_url": "https://shop.example/account",
            "name": "Plans",
            "metadata": {"k": "v"},
        },
    )
    await api.post(f"{configurations}/{made['id']}", {"active": False})
    await api.get(f"{configurations}/{made['id']}")
    await api.get(configurations)
    customer = await api.post("/v1/customers", {"name": "Asha Rao"})
    await api.post(
        "/v1/billing_portal/sessions",
        {"customer": customer["id"], "return_url": "https://shop.example/", "locale": "en-IN"},
    )
    await api.post(
        "/v1/billing_portal/sessions",
        {"customer": customer["id"], "expand": ["configuration"]},
    )


async def _invoices(api: Api) -> None:
    """Invoices and their items: pending and on drafts, finalized, paid (its payment and secret
    expanded), sent, voided, uncollectible, deleted; lines, lists, search, settings."""
    customer = await api.post(
        "/v1/customers",
        {
            "email": "asha@example.com",
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        },
    )
    items, invoices = "/v1/invoiceitems", "/v1/invoices"
    pending = await api.post(
        items,
        {
            "customer": customer["id"],
            "currency": "inr",
            "unit_amount_decimal": "500",
            "quantity": 2,
        },
    )
    await api.post(
        f"{items}/{pending['id']}", {"metadata": {"k": "v"}, "period": {"start": 1, "end": 2}}
    )
    await api.get(f"{items}/{pending['id']}")
    await api.get(items, {"pending": "true"})
    invoice = await api.post(
        invoices,
        {
            "customer": customer["id"],
            "pending_invoice_items_behavior": "include",
            "metadata": {"k": "v"},
        },
    )
    extra = await api.post(items, {"invoice": invoice["id"], "amount": 1_000})
    await api.delete(f"{items}/{extra['id']}")
    await api.post(f"{invoices}/{invoice['id']}", {"description": "Q4", "footer": "Thanks"})
    await api.get(f"{invoices}/{invoice['id']}/lines")
    await api.post(f"{invoices}/{invoice['id']}/finalize", {"auto_advance": False})
    await api.get(f"{invoices}/{invoice['id']}", {"expand[]": ["payments", "confirmation_secret"]})
    await api.post(f"{invoices}/{invoice['id']}/pay", {"expand": ["payments"]})
    await api.get(invoices, {"customer": customer["id"], "expand[]": ["data.payments"]})
    await api.get(f"{invoices}/search", {"query": "status:'paid'"})
    sent = await api.post(
        invoices,
        {"customer": customer["id"], "collection_method": "send_invoice", "days_until_due": 5},
    )
    await api.post(items, {"invoice": sent["id"], "amount": 2_000})
    await api.post(f"{invoices}/{sent['id']}/send")
    await api.post(f"{invoices}/{sent['id']}/mark_uncollectible")
    await api.post(f"{invoices}/{sent['id']}/void")
    dropped = await api.post(invoices, {"customer": customer["id"]})
    await api.delete(f"{invoices}/{dropped['id']}")
    await api.get("/v1/billing/invoice_settings")
    await api.post("/v1/billing/invoice_settings", {"number_prefix": "ACME"})


async def _subscriptions(api: Api) -> None:
    """Subscriptions: created (its first invoice charged later by a job), read, listed with
    their items, canceled."""
    customer = await api.post(
        "/v1/customers",
        {
            "email": "asha@example.com",
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        },
    )
    price = await api.post(
        "/v1/prices",
        {
            "currency": "inr",
            "unit_amount": 99_900,
            "product_data": {"name": "Pro"},
            "recurring": {"interval": "month"},
        },
    )
    subscription = await api.post(
        "/v1/subscriptions",
        {"customer": customer["id"], "items": [{"price": price["id"], "quantity": 2}]},
    )
    await api.get(f"/v1/subscriptions/{subscription['id']}")
    await api.get("/v1/subscriptions", {"customer": customer["id"], "status": "all"})
    items = await api.get("/v1/subscription_items", {"subscription": subscription["id"]})
    await api.get(f"/v1/subscription_items/{items['data'][0]['id']}")
    await api.post(
        f"/v1/subscriptions/{subscription['id']}",
        {"metadata": {"k": "v"}, "proration_behavior": "none"},
    )
    await api.delete(f"/v1/subscriptions/{subscription['id']}")
    await api.get("/v1/billing/dunning_settings")
    await api.post(
        "/v1/billing/dunning_settings",
        {"retry_offsets_days": [1, 3, 5], "final_action": "mark_unpaid"},
    )

    await _subscription_items_and_search(api, customer["id"], price["id"])


async def _subscription_items_and_search(api: Api, customer_id: str, price_id: str) -> None:
    """Subscription items written one at a time (on a trialing subscription: nothing to
    prorate), and subscriptions searched."""
    subscription = await api.post(
        "/v1/subscriptions",
        {"customer": customer_id, "items": [{"price": price_id}], "trial_period_days": 7},
    )
    seats = await api.post(
        "/v1/prices",
        {
            "currency": "inr",
            "unit_amount": 10_000,
            "product_data": {"name": "Seat"},
            "recurring": {"interval": "month"},
        },
    )
    item = await api.post(
        "/v1/subscription_items",
        {"subscription": subscription["id"], "price": seats["id"], "quantity": 2},
    )
    await api.post(f"/v1/subscription_items/{item['id']}", {"quantity": 3})
    await api.delete(f"/v1/subscription_items/{item['id']}")
    await api.get("/v1/subscriptions/search", {"query": "status:'trialing'"})


async def _subscription_resume(api: Api, database: Database) -> None:
    """A trial that ends without a payment method pauses the subscription; it resumes."""
    start = 1_767_225_600  # 2026-01-01
    clock = await api.post("/v1/test_helpers/test_clocks", {"frozen_time": start})
    customer = await api.post("/v1/customers", {"name": "Asha", "test_clock": clock["id"]})
    price = await api.post(
        "/v1/prices",
        {
            "currency": "inr",
            "unit_amount": 99_900,
            "product_data": {"name": "Pro"},
            "recurring": {"interval": "month"},
        },
    )
    subscription = await api.post(
        "/v1/subscriptions",
        {
            "customer": customer["id"],
            "items": [{"price": price["id"]}],
            "trial_period_days": 1,
            "trial_settings": {"end_behavior": {"missing_payment_method": "pause"}},
        },
    )
    advance = f"/v1/test_helpers/test_clocks/{clock['id']}/advance"
    await api.post(advance, {"frozen_time": start + 2 * 86_400})
    await run_advances(database)
    await api.post(f"/v1/subscriptions/{subscription['id']}/resume", {})


async def _credit_notes(api: Api) -> None:
    """The customer balance (an adjustment, read, listed, updated) and credit notes: previewed,
    issued against an open invoice and a paid one (credit to the balance, a refund), read,
    listed, their lines, updated, voided."""
    customer = await api.post(
        "/v1/customers",
        {
            "email": "asha@example.com",
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        },
    )
    balance = f"/v1/customers/{customer['id']}/balance_transactions"
    adjustment = await api.post(balance, {"amount": -500, "currency": "inr"})
    await api.get(f"{balance}/{adjustment['id']}")
    await api.post(f"{balance}/{adjustment['id']}", {"description": "Goodwill"})
    await api.get(balance)
    invoice = await api.post("/v1/invoices", {"customer": customer["id"]})
    await api.post("/v1/invoiceitems", {"invoice": invoice["id"], "amount": 10_000})
    invoice = await api.post(f"/v1/invoices/{invoice['id']}/finalize", {"auto_advance": False})
    line = invoice["lines"]["data"][0]["id"]
    asked = {
        "invoice": invoice["id"],
        "lines[0][type]": "invoice_line_item",
        "lines[0][invoice_line_item]": line,
        "lines[0][amount]": 1_000,
    }
    await api.get("/v1/credit_notes/preview", asked)
    await api.get("/v1/credit_notes/preview/lines", asked)
    before = await api.post(
        "/v1/credit_notes",
        {
            "invoice": invoice["id"],
            "lines": [{"type": "invoice_line_item", "invoice_line_item": line, "amount": 1_000}],
            "reason": "order_change",
        },
    )
    await api.post(f"/v1/credit_notes/{before['id']}", {"memo": "One seat fewer"})
    await api.post(f"/v1/credit_notes/{before['id']}/void")
    await api.post(f"/v1/invoices/{invoice['id']}/pay")
    after = await api.post(
        "/v1/credit_notes",
        {"invoice": invoice["id"], "amount": 2_000, "refund_amount": 1_000},
    )
    await api.get(f"/v1/credit_notes/{after['id']}")
    await api.get(f"/v1/credit_notes/{after['id']}/lines")
    await api.get("/v1/credit_notes", {"invoice": invoice["id"]})


async def _checkout_sessions(api: Api) -> None:
    """A payment-mode Checkout Session: made with an inline price, read, listed, its line
    items, expired."""
    made = await api.post(
        "/v1/checkout/sessions",
        {
            "mode": "payment",
            "success_url": "https://shop.example/thanks?session={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://shop.example/cart",
            "client_reference_id": "order-42",
            "line_items": [
                {
                    "price_data": {
                        "currency": "inr",
                        "unit_amount": 149_900,
                        "product_data": {"name": "Cotton kurta"},
                    },
                    "quantity": 2,
                }
            ],
        },
    )
    await api.get(f"/v1/checkout/sessions/{made['id']}")
    await api.get(f"/v1/checkout/sessions/{made['id']}/line_items")
    await api.get("/v1/checkout/sessions", {"status": "open"})
    await api.post(f"/v1/checkout/sessions/{made['id']}/expire")


async def _payment_links(api: Api) -> None:
    """A payment link: made with a catalog price and a limit, read, updated, listed, its line
    items."""
    price = await api.post(
        "/v1/prices",
        {"currency": "inr", "unit_amount": 149_900, "product_data": {"name": "Cotton kurta"}},
    )
    made = await api.post(
        "/v1/payment_links",
        {
            "line_items": [{"price": price["id"], "quantity": 2}],
            "restrictions": {"completed_sessions": {"limit": 100}},
            "after_completion": {
                "type": "redirect",
                "redirect": {"url": "https://shop.example/thanks?session={CHECKOUT_SESSION_ID}"},
            },
            "metadata": {"campaign": "diwali"},
        },
    )
    await api.get(f"/v1/payment_links/{made['id']}")
    await api.get(f"/v1/payment_links/{made['id']}/line_items")
    await api.post(f"/v1/payment_links/{made['id']}", {"active": False})
    await api.get("/v1/payment_links", {"active": False})


async def _settlement(api: Api) -> None:
    """The settlement schedule (default, then T+0 with chosen cut-offs) and the next window."""
    await api.get("/v1/settlement/schedule")
    await api.get("/v1/settlement/windows/next")
    await api.post("/v1/settlement/schedule", {"speed": "t0", "cutoffs": ["10:30", "14:00"]})
    await api.get("/v1/settlement/windows/next")


async def _external_accounts(api: Api) -> None:
    """The merchant's payout bank accounts: one verified by the penny drop, one whose bank
    holds another name; the second made the default, the first deleted."""
    base = f"/v1/accounts/{api.merchant.id}/external_accounts"
    bank = {
        "object": "bank_account",
        "country": "IN",
        "currency": "inr",
        "routing_number": "HDFC0001234",
        "account_holder_name": "Asha Rao",
        "account_holder_type": "individual",
    }
    first = await api.post(base, {"external_account": {**bank, "account_number": "000123456789"}})
    second = await api.post(
        base,
        {
            "external_account": {**bank, "account_number": "000222222227"},
            "metadata": {"branch": "Pune"},
        },
    )
    await api.get(f"{base}/{first['id']}")
    await api.post(f"{base}/{second['id']}", {"default_for_currency": True})
    await api.get(base, {"object": "bank_account"})
    await api.delete(f"{base}/{first['id']}")


async def _payouts(api: Api, database: Database) -> None:
    """Payouts: one paid (read, updated, listed, reversed) and one held by the cooling period
    of a new default account, canceled."""
    from tests.settlement.payouts.support import end_hold, fund, manual

    # The story's disputes left the balance negative: a payment that more than covers them.
    await fund(api.http, api.merchant, database, amount=1_00_000_00)
    await manual(database, api.merchant)
    base = f"/v1/accounts/{api.merchant.id}/external_accounts"
    bank = {
        "object": "bank_account",
        "country": "IN",
        "currency": "inr",
        "routing_number": "HDFC0001234",
        "account_holder_name": "Asha Rao",
        "account_number": "000123456780",
    }
    await api.post(base, {"external_account": bank, "default_for_currency": True})
    await end_hold(database, api.merchant)
    paid = await api.post("/v1/payouts", {"amount": 1_000, "currency": "inr"})
    await api.get(f"/v1/payouts/{paid['id']}")
    await api.post(f"/v1/payouts/{paid['id']}", {"metadata": {"run": "1"}})
    await api.get("/v1/payouts", {"status": "paid"})
    await api.post(f"/v1/payouts/{paid['id']}/reverse")
    other = {**bank, "account_number": "000123456781"}
    await api.post(base, {"external_account": other, "default_for_currency": True})
    held = await api.post("/v1/payouts", {"amount": 1_000, "currency": "inr"})
    await api.post(f"/v1/payouts/{held['id']}/cancel")


async def _connect(api: Api, database: Database) -> None:
    """Connect: a connected account (created, read, updated, listed, deleted), a transfer to
    it from the platform's available funds, partly reversed. The platform is a merchant of its
    own: the story's merchant has limits and disputes that leave no funds to send."""
    from datetime import UTC, datetime

    from beyondpay.kit.clock import FrozenClock, use_clock
    from beyondpay.payments.tasks import release_funds
    from tests.support import make_merchant

    api = Api(api.http, await make_merchant(database, name="Platform"), "")
    clock = FrozenClock(datetime.now(UTC))
    with use_clock(clock):
        await api.post(
            "/v1/payment_intents",
            {
                "amount": 10_000,
                "currency": "inr",
                "confirm": True,
                "payment_method": "pm_card_visa",
            },
        )
        # Past the two days the payment waits for (a margin for a slow machine).
        clock.advance(timedelta(days=2, hours=1))
        await release_funds(database)
    account = await api.post(
        "/v1/accounts",
        {
            "type": "custom",
            "country": "IN",
            "email": "shop@example.com",
            "business_profile": {"name": "Chai Point", "mcc": "5812"},
            "capabilities": {"transfers": {"requested": True}},
        },
    )
    await api.get(f"/v1/accounts/{account['id']}")
    await api.post(f"/v1/accounts/{account['id']}", {"metadata": {"shop": "7"}})
    await api.get("/v1/accounts")
    transfer = await api.post(
        "/v1/transfers",
        {"amount": 1_000, "currency": "inr", "destination": account["id"], "transfer_group": "o1"},
    )
    await api.get(f"/v1/transfers/{transfer['id']}")
    await api.post(f"/v1/transfers/{transfer['id']}", {"description": "Order 1"})
    await api.get("/v1/transfers", {"destination": account["id"]})
    reversal = await api.post(f"/v1/transfers/{transfer['id']}/reversals", {"amount": 400})
    await api.get(f"/v1/transfers/{transfer['id']}/reversals/{reversal['id']}")
    await api.post(
        f"/v1/transfers/{transfer['id']}/reversals/{reversal['id']}", {"metadata": {"r": "1"}}
    )
    await api.get(f"/v1/transfers/{transfer['id']}/reversals")
    await api.get(f"/v1/transfers/{transfer['id']}")  # a transfer with a reversal shown
    other = await api.post("/v1/accounts", {"type": "express"})
    await api.delete(f"/v1/accounts/{other['id']}")
    # A destination charge with an application fee, the fee's routes, and a refund that takes
    # back the transfer and the fee in proportion.
    intent = await api.post(
        "/v1/payment_intents",
        {
            "amount": 5_000,
            "currency": "inr",
            "confirm": True,
            "payment_method": "pm_card_visa",
            "transfer_data": {"destination": account["id"]},
            "application_fee_amount": 500,
            "transfer_group": "o2",
        },
    )
    charge = await api.get(f"/v1/charges/{intent['latest_charge']}")
    fee_id = charge["application_fee"]
    await api.get(f"/v1/application_fees/{fee_id}")
    await api.get("/v1/application_fees", {"charge": charge["id"]})
    fee_refund = await api.post(f"/v1/application_fees/{fee_id}/refunds", {"amount": 100})
    await api.get(f"/v1/application_fees/{fee_id}/refunds/{fee_refund['id']}")
    await api.post(
        f"/v1/application_fees/{fee_id}/refunds/{fee_refund['id']}", {"metadata": {"why": "1"}}
    )
    await api.get(f"/v1/application_fees/{fee_id}/refunds")
    await api.post(
        "/v1/refunds",
        {
            "charge": charge["id"],
            "amount": 2_000,
            "reverse_transfer": True,
            "refund_application_fee": True,
        },
    )


async def _reconciliation(api: Api) -> None:
    """An operator reconciles today's sandbox files, one with a line the platform never saw,
    and resolves the exception it opened."""
    admin = api.admin
    today = business_date_of(utcnow()).isoformat()
    run = await api.post(
        "/v1/platform/reconciliation/runs",
        {"business_date": today, "fault_injection": {"seed": 7, "kinds": ["unknown_to_platform"]}},
        admin,
    )
    await api.get(f"/v1/platform/reconciliation/runs/{run['id']}", headers=admin)
    await api.get("/v1/platform/reconciliation/runs", headers=admin)
    opened = await api.get(
        "/v1/platform/reconciliation/exceptions", {"status": "open"}, headers=admin
    )
    exception = opened["data"][0]
    await api.get(f"/v1/platform/reconciliation/exceptions/{exception['id']}", headers=admin)
    await api.post(
        f"/v1/platform/reconciliation/exceptions/{exception['id']}/resolve",
        {"resolution_note": "A test line of the sandbox's card network: nothing to collect."},
        admin,
    )


async def _reporting(api: Api, database: Database) -> None:
    """The report types, a balance summary run computed by its job, and its result file."""
    await api.get("/v1/reporting/report_types")
    await api.get("/v1/reporting/report_types/balance.summary.1")
    now = int(time.time()) - 1
    run = await api.post(
        "/v1/reporting/report_runs",
        {
            "report_type": "balance.summary.1",
            "parameters": {"interval_start": now - 86_400, "interval_end": now},
        },
    )
    await run_report_on(database, run["id"])
    done = await api.get(f"/v1/reporting/report_runs/{run['id']}")
    await api.get("/v1/reporting/report_runs")
    await api.get(f"/v1/files/{done['result']['id']}")
    await api.get("/v1/files", {"purpose": "finance_report_run"})
    contents = await api.http.get(done["result"]["url"], headers=api.merchant.auth())
    assert contents.status_code == 200, contents.text
