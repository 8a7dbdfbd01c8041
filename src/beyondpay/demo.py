"""``beyondpay demo``: a walkthrough of test payments against a running server, over HTTP.

It speaks to the server only as an integration would (``httpx``, a secret test key, an
``Idempotency-Key`` on every POST): a card payment, a UPI collect approved by the sandbox payer
in the worker, a partial refund and the balance; then a subscription on a test clock (a monthly
price with GST, a 7-day trial, the clock advanced through the trial and a renewal, each invoice's
number, total, status and hosted page, then cancellation at the period's end). Each step is
printed with the ``curl`` command that reads the object back, so everything can be inspected
without a dashboard.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from beyondpay.kit.money import Money

DEMO_MERCHANT_NAME: Final = "Demo merchant"
REQUEST_TIMEOUT_S: Final = 15.0
UPI_APPROVAL_TIMEOUT_S_DEFAULT: Final = 30.0
UPI_POLL_INTERVAL_S: Final = 0.5
CARD_AMOUNT_MINOR: Final = 49_900
UPI_AMOUNT_MINOR: Final = 20_000
REFUND_AMOUNT_MINOR: Final = 10_000
CURRENCY: Final = "inr"
UPI_TEST_VPA: Final = "success@sandbox"
TEST_CARD: Final = "pm_card_visa"
PLAN_AMOUNT_MINOR: Final = 99_900
GST_PERCENTAGE: Final = "18"
# A GSTIN whose check character is right (Maharashtra, state code 27): the demo's sample
# registration when the merchant has none.
DEMO_GSTIN: Final = "27AAPFU0939F1ZV"
TRIAL_PERIOD_DAYS: Final = 7
# Past a period's end by more than the hour a renewal's draft waits before it is finalized.
PAST_PERIOD_END_S: Final = 2 * 3_600
CLOCK_READY_TIMEOUT_S_DEFAULT: Final = 60.0


class DemoError(Exception):
    """A step could not be done; the message says what and what to do about it."""


@dataclass
class DemoResult:
    card_intent: dict[str, Any]
    upi_intent: dict[str, Any]
    refund: dict[str, Any]
    balance: dict[str, Any]
    steps: list[tuple[str, str, str, str]] = field(default_factory=list)
    subscription: dict[str, Any] = field(default_factory=dict)
    # The subscription's invoices in order: the trial's, then the renewal's.
    invoices: list[dict[str, Any]] = field(default_factory=list)


def check_reachable(url: str) -> None:
    """Raises ``DemoError`` unless a beyondpay server answers at ``url``."""
    try:
        response = httpx.get(f"{url}/readyz", timeout=REQUEST_TIMEOUT_S)
    except httpx.HTTPError as error:
        raise DemoError(
            f"no beyondpay server answers at {url} ({type(error).__name__}): start one with "
            "`make run` (or `beyondpay serve`), or pass --url"
        ) from None
    if response.status_code != 200:
        raise DemoError(
            f"the server at {url} is not ready: GET /readyz answered {response.status_code}"
        )


def create_merchant_as_admin(url: str, admin_key: str, name: str = DEMO_MERCHANT_NAME) -> str:
    """A fresh merchant made with ``POST /v1/platform/merchants``; its secret test key."""
    with _client(url, admin_key) as client:
        merchant = _call(client, "POST", "/v1/platform/merchants", {"name": name})
    for key in merchant["api_keys"]:
        if key["type"] == "secret" and not key["livemode"]:
            return str(key["secret"])
    raise DemoError(f"POST /v1/platform/merchants answered no secret test key for {merchant['id']}")


def run_demo(
    url: str,
    key: str,
    console: Console,
    *,
    upi_timeout_s: float = UPI_APPROVAL_TIMEOUT_S_DEFAULT,
    clock_timeout_s: float = CLOCK_READY_TIMEOUT_S_DEFAULT,
) -> DemoResult:
    """Card payment, UPI collect, partial refund, balance, then the subscription walkthrough;
    each printed as it is done."""
    with _client(url, key) as client:
        card = _create_intent(client, {"payment_method": TEST_CARD}, amount_minor=CARD_AMOUNT_MINOR)
        _expect(card, "succeeded", "the card payment")
        _show(console, url, key, "1. Card payment (pm_card_visa)", card, "/v1/payment_intents")

        upi = _create_intent(
            client,
            {
                "payment_method_types[0]": "upi",
                "payment_method_data[type]": "upi",
                "payment_method_data[upi][vpa]": UPI_TEST_VPA,
            },
            amount_minor=UPI_AMOUNT_MINOR,
        )
        next_action = (upi.get("next_action") or {}).get("type")
        console.print(
            f"UPI collect sent to {UPI_TEST_VPA}: {upi['id']} is {upi['status']}"
            f" (next_action {next_action}); waiting for the sandbox payer…"
        )
        upi = _wait_for_upi(client, upi, upi_timeout_s)
        _show(console, url, key, f"2. UPI collect ({UPI_TEST_VPA})", upi, "/v1/payment_intents")

        refund = _call(
            client,
            "POST",
            "/v1/refunds",
            {"payment_intent": card["id"], "amount": str(REFUND_AMOUNT_MINOR)},
        )
        _expect(refund, "succeeded", "the refund")
        _show(console, url, key, "3. Partial refund of the card payment", refund, "/v1/refunds")

        balance = _call(client, "GET", "/v1/balance")
        _show_balance(console, url, key, balance)
        result = DemoResult(card, upi, refund, balance)
        _subscription_walkthrough(client, console, url, key, result, clock_timeout_s)
    result.steps = [
        (_label(obj), obj["id"], obj["status"], _amount(obj)) for obj in (card, upi, refund)
    ]
    subscription = result.subscription
    result.steps.append(
        (
            "subscription",
            subscription["id"],
            subscription["status"],
            f"{_money(PLAN_AMOUNT_MINOR)} / month",
        )
    )
    _summary(console, result)
    return result


# ---- the subscription walkthrough ---------------------------------------------------------------


def _subscription_walkthrough(
    client: httpx.Client,
    console: Console,
    url: str,
    key: str,
    result: DemoResult,
    timeout_s: float,
) -> None:
    """A monthly plan with GST, a customer on a test clock with a card, a 7-day trial; the
    clock advanced through the trial and one renewal (the worker charges each invoice), then
    the subscription set to cancel at its period's end."""
    product = _call(client, "POST", "/v1/products", {"name": "Pro plan"})
    price = _call(
        client,
        "POST",
        "/v1/prices",
        {
            "product": product["id"],
            "currency": CURRENCY,
            "unit_amount": str(PLAN_AMOUNT_MINOR),
            "recurring[interval]": "month",
        },
    )
    gst = _call(
        client,
        "POST",
        "/v1/tax_rates",
        {
            "display_name": "GST",
            "percentage": GST_PERCENTAGE,
            "inclusive": "false",
            "country": "IN",
            "tax_type": "gst",
        },
    )
    gstin = _registered_gstin(client)
    console.print(
        f"5. Plan: {product['id']} at {_money(PLAN_AMOUNT_MINOR)} a month ({price['id']}),"
        f" GST {gst['percentage']}% ({gst['id']}) charged under GSTIN {gstin}"
    )
    clock = _call(
        client, "POST", "/v1/test_helpers/test_clocks", {"frozen_time": str(int(time.time()))}
    )
    customer = _call(
        client,
        "POST",
        "/v1/customers",
        {
            "name": "Asha Rao",
            "email": "asha@example.com",
            "test_clock": clock["id"],
            # In the supplier's state: CGST + SGST (another state's customer pays IGST).
            "address[line1]": "12 MG Road",
            "address[city]": "Pune",
            "address[state]": "MH",
            "address[country]": "IN",
            "payment_method": TEST_CARD,
            "invoice_settings[default_payment_method]": TEST_CARD,
        },
    )
    subscription = _subscribe(client, customer["id"], price["id"], gst["id"])
    console.print(
        f"6. Subscription {subscription['id']} for {customer['id']} (test clock {clock['id']}):"
        f" {subscription['status']} until the trial ends"
    )
    _inspect(console, _curl(url, key, f"/v1/subscriptions/{subscription['id']}"))
    result.invoices.append(_invoice_paid(client, subscription["latest_invoice"], timeout_s))
    for step, what in ((7, "the trial's end"), (8, "the first renewal")):
        period_end = int(subscription["items"]["data"][0]["current_period_end"])
        _advance(client, clock["id"], period_end + PAST_PERIOD_END_S, timeout_s)
        subscription = _call(client, "GET", f"/v1/subscriptions/{subscription['id']}")
        result.invoices.append(_invoice_paid(client, subscription["latest_invoice"], timeout_s))
        console.print(f"{step}. Test clock advanced past {what}: {subscription['status']}")
    _show_invoices(console, url, key, result.invoices)
    subscription = _call(
        client,
        "POST",
        f"/v1/subscriptions/{subscription['id']}",
        {"cancel_at_period_end": "true"},
    )
    period_end = int(subscription["items"]["data"][0]["current_period_end"])
    ends = time.strftime("%d %b %Y", time.gmtime(period_end))
    console.print(
        f"10. Set to cancel at the period's end ({ends}"
        f" UTC): status {subscription['status']}, cancel_at_period_end"
        f" {str(subscription['cancel_at_period_end']).lower()}"
    )
    result.subscription = subscription


def _subscribe(client: httpx.Client, customer_id: str, price_id: str, tax_rate_id: str) -> Any:
    return _call(
        client,
        "POST",
        "/v1/subscriptions",
        {
            "customer": customer_id,
            "items[0][price]": price_id,
            "trial_period_days": str(TRIAL_PERIOD_DAYS),
            "default_tax_rates[0]": tax_rate_id,
            "metadata[source]": "beyondpay demo",
        },
    )


def _registered_gstin(client: httpx.Client) -> str:
    """The merchant's GSTIN (a supplier without one may not charge GST): its own if it has
    one, else the demo's sample registration in Maharashtra."""
    for tax_id in _call(client, "GET", "/v1/tax_ids", {"limit": "100"})["data"]:
        if tax_id["type"] == "in_gst" and tax_id.get("customer") is None:
            return str(tax_id["value"])
    created = _call(client, "POST", "/v1/tax_ids", {"type": "in_gst", "value": DEMO_GSTIN})
    return str(created["value"])


def _advance(client: httpx.Client, clock_id: str, frozen_time: int, timeout_s: float) -> None:
    """Advances the test clock and waits for the worker to finish the advance."""
    path = f"/v1/test_helpers/test_clocks/{clock_id}"
    clock = _call(client, "POST", f"{path}/advance", {"frozen_time": str(frozen_time)})
    deadline = time.monotonic() + timeout_s
    while clock["status"] != "ready":
        if clock["status"] == "internal_failure" or time.monotonic() > deadline:
            raise DemoError(
                f"the test clock {clock_id} is {clock['status']} after {timeout_s:g} s: is the"
                " worker running? `beyondpay serve` runs it in-process unless"
                " BEYONDPAY_RUN_WORKER_IN_API=false; then start `beyondpay worker`"
            )
        time.sleep(UPI_POLL_INTERVAL_S)
        clock = _call(client, "GET", path)


def _invoice_paid(client: httpx.Client, invoice_id: str, timeout_s: float) -> dict[str, Any]:
    """The invoice once the worker has charged it (a trial's zero invoice is paid at once)."""
    deadline = time.monotonic() + timeout_s
    invoice = _call(client, "GET", f"/v1/invoices/{invoice_id}")
    while invoice["status"] != "paid":
        if invoice["status"] not in {"draft", "open"} or time.monotonic() > deadline:
            raise DemoError(
                f"the invoice {invoice_id} is {invoice['status']}, not paid: is the worker running?"
            )
        time.sleep(UPI_POLL_INTERVAL_S)
        invoice = _call(client, "GET", f"/v1/invoices/{invoice_id}")
    return invoice


def _show_invoices(console: Console, url: str, key: str, invoices: list[dict[str, Any]]) -> None:
    table = Table(title="9. The subscription's invoices", title_justify="left")
    for column in ("number", "reason", "total", "status"):
        table.add_column(column, no_wrap=True)
    for invoice in invoices:
        table.add_row(
            str(invoice["number"]),
            str(invoice["billing_reason"]),
            Money(int(invoice["total"]), invoice["currency"].upper()).format(),
            invoice["status"],
        )
    console.print(table)
    console.print("hosted invoice pages:", style="dim")
    for invoice in invoices:
        console.print(
            str(invoice["hosted_invoice_url"]), soft_wrap=True, markup=False, highlight=False
        )
    _inspect(console, *(_curl(url, key, f"/v1/invoices/{invoice['id']}") for invoice in invoices))


def _money(amount_minor: int) -> str:
    return Money(amount_minor, CURRENCY.upper()).format()


# ---- HTTP ----------------------------------------------------------------------------------------


def _client(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, auth=(key, ""), timeout=REQUEST_TIMEOUT_S)


def _call(
    client: httpx.Client, method: str, path: str, form: dict[str, str] | None = None
) -> dict[str, Any]:
    headers = {"Idempotency-Key": str(uuid.uuid4())} if method == "POST" else {}
    try:
        response = client.request(method, path, data=form, headers=headers)
    except httpx.HTTPError as error:
        raise DemoError(
            f"{method} {path}: the server stopped answering ({type(error).__name__})"
        ) from None
    body: Any = response.json() if response.content else {}
    if response.status_code >= 400:
        envelope = body.get("error", {}) if isinstance(body, dict) else {}
        hint = " (is the key from this server's database?)" if response.status_code == 401 else ""
        raise DemoError(
            f"{method} {path} answered {response.status_code} {envelope.get('code') or ''}:"
            f" {envelope.get('message') or response.text[:200]}{hint}"
        )
    if not isinstance(body, dict):
        raise DemoError(f"{method} {path} answered something that is not an object")
    return body


def _create_intent(
    client: httpx.Client, payment: dict[str, str], *, amount_minor: int
) -> dict[str, Any]:
    form = {"amount": str(amount_minor), "currency": CURRENCY, "confirm": "true", **payment}
    form["metadata[source]"] = "beyondpay demo"
    return _call(client, "POST", "/v1/payment_intents", form)


def _wait_for_upi(client: httpx.Client, intent: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while intent["status"] in {"requires_action", "processing"}:
        if time.monotonic() > deadline:
            raise DemoError(
                f"the UPI payment {intent['id']} is still {intent['status']} after"
                f" {timeout_s:g} s: is the worker running? `beyondpay serve` runs it in-process"
                " unless BEYONDPAY_RUN_WORKER_IN_API=false; then start `beyondpay worker`"
            )
        time.sleep(UPI_POLL_INTERVAL_S)
        intent = _call(client, "GET", f"/v1/payment_intents/{intent['id']}")
    _expect(intent, "succeeded", "the UPI payment")
    return intent


def _expect(obj: dict[str, Any], status: str, what: str) -> None:
    if obj.get("status") != status:
        problem = obj.get("last_payment_error") or obj.get("failure_reason")
        raise DemoError(f"{what} {obj.get('id')} is {obj.get('status')}, not {status}: {problem}")


# ---- output --------------------------------------------------------------------------------------


def _curl(url: str, key: str, path: str) -> str:
    target = f"{url}{path}"
    return f'curl "{target}" -u {key}:' if "?" in target else f"curl {target} -u {key}:"


def _amount(obj: dict[str, Any]) -> str:
    return Money(int(obj["amount"]), obj["currency"].upper()).format()


def _label(obj: dict[str, Any]) -> str:
    return str(obj["object"]).replace("_", " ")


def _show(
    console: Console, url: str, key: str, title: str, obj: dict[str, Any], collection: str
) -> None:
    charge = obj["charge"] if "charge" in obj else obj.get("latest_charge")
    lines = [f"[bold]{obj['id']}[/bold]  {obj['status']}  {_amount(obj)}", f"charge {charge}"]
    console.print(Panel("\n".join(lines), title=title, title_align="left", expand=False))
    _inspect(console, _curl(url, key, f"{collection}/{obj['id']}"))


def _inspect(console: Console, *commands: str) -> None:
    """Printed unwrapped and without markup, so each command can be copied as it is."""
    console.print("inspect it:", style="dim")
    for command in commands:
        console.print(command, soft_wrap=True, markup=False, highlight=False)


def _show_balance(console: Console, url: str, key: str, balance: dict[str, Any]) -> None:
    table = Table(title="4. Balance (net of fees and refunds)", title_justify="left")
    for column in ("currency", "available", "pending"):
        table.add_column(column)
    pending = {entry["currency"]: entry["amount"] for entry in balance.get("pending", [])}
    for entry in balance.get("available", []):
        currency = entry["currency"].upper()
        table.add_row(
            currency,
            Money(int(entry["amount"]), currency).format(),
            Money(int(pending.get(entry["currency"], 0)), currency).format(),
        )
    console.print(table)
    _inspect(
        console,
        _curl(url, key, "/v1/balance"),
        _curl(url, key, "/v1/balance_transactions?limit=5"),
    )


def _summary(console: Console, result: DemoResult) -> None:
    table = Table(title="Done", title_justify="left")
    for column in ("object", "id", "status", "amount"):
        table.add_column(column, no_wrap=True)
    for row in result.steps:
        table.add_row(*row)
    console.print(table)
