"""Issue 18's subscription flow with the official ``stripe`` SDK (stripe-python 16) over real
HTTP, the way a merchant's integration drives it in test mode: a merchant registered for GST in
Maharashtra, a customer in Maharashtra on a test clock with a saved card, a monthly ₹999 price,
an 18% GST rate, and a subscription with a 7-day trial. The clock is advanced through the trial
(the first paid invoice) and three renewals; the next renewal is declined (the customer's card
attaches but fails on charge), retried after the card is fixed, and paid; the plan changes to
₹1,999 with ``always_invoice`` proration; ``cancel_at_period_end`` ends it. Every invoice's
subtotal, tax, total, amount paid, status, GST (CGST 9% + SGST 9%) and number are checked, and
the prorations are computed here, independently, from the period's seconds. Another customer,
in Karnataka, renews with IGST 18%. At the end the ledger verifies clean.

The server runs the worker (as ``beyondpay serve`` does), so each clock advance, each invoice's
collection and each retry run as background jobs; the test only polls through the SDK, as an
integration would. Clock advances are whole days past each period's end, and outcomes (not the
exact second of a retry) are asserted, so the rails' notice rules may move a charge within the
day."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any, Final, TypeVar

import pytest
import stripe

from beyondpay.kit.settings import Settings
from beyondpay.ledger.journal import verify_database
from tests.compat.server import new_merchant, sdk_client, serving
from tests.support import TEST_RING_TEXT

WAIT_S: Final = 30.0
POLL_S: Final = 0.1
HOUR_S: Final = 3_600
DAY_S: Final = 86_400
# How far past a period's end the clock goes for its renewal to be invoiced and charged: days,
# so that a pre-debit notice (RBI's 24 hours before a card is charged) fits in.
RENEWAL_WAIT_S: Final = 2 * DAY_S
# And past a declined renewal for its first retry (a day after the failure, plus the notice).
RETRY_WAIT_S: Final = 6 * DAY_S
MONTHLY_MINOR: Final = 99_900  # ₹999
UPGRADED_MINOR: Final = 199_900  # ₹1,999
GST_BASIS_POINTS: Final = 1_800  # 18%
# 1 May 2026 12:00 IST: the whole flow falls in the financial year 2026-27.
START_S: Final = int(datetime(2026, 5, 1, 6, 30, tzinfo=UTC).timestamp())
NUMBER: Final = re.compile(r"^INV/2627/(\d{7})$")
MAHARASHTRA_GSTIN: Final = "27AAPFU0939F1ZV"

T = TypeVar("T")


@pytest.fixture(scope="module")
def flow_server_url(compat_database_url: str) -> Iterator[str]:
    settings = Settings(secret_keys=TEST_RING_TEXT, rate_limit_test_per_key="1000/second")
    with serving(settings, compat_database_url, run_worker=True) as url:
        yield url


@pytest.fixture
async def client(flow_server_url: str, compat_database_url: str) -> stripe.StripeClient:
    merchant = await new_merchant(compat_database_url)
    client = sdk_client(flow_server_url, merchant.keys["sk_test"])
    client.v1.tax_ids.create({"type": "in_gst", "value": MAHARASHTRA_GSTIN})
    return client


def _until(fetch: Callable[[], T], done: Callable[[T], bool], what: str) -> T:
    deadline = time.monotonic() + WAIT_S
    while True:
        found = fetch()
        if done(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {found!r}")
        time.sleep(POLL_S)


def _advance(client: stripe.StripeClient, clock_id: str, to_s: int) -> None:
    client.v1.test_helpers.test_clocks.advance(clock_id, {"frozen_time": to_s})
    ready = _until(
        lambda: client.v1.test_helpers.test_clocks.retrieve(clock_id),
        lambda clock: clock.status == "ready",
        "the clock's advance",
    )
    assert ready.frozen_time == to_s


def _half_up(numerator: Fraction) -> int:
    """Rounded to the nearest paisa, halves away from zero (a credit mirrors its charge)."""
    magnitude = int(abs(numerator) + Fraction(1, 2))
    return magnitude if numerator >= 0 else -magnitude


def _gst(amount_minor: int) -> int:
    return _half_up(Fraction(amount_minor * GST_BASIS_POINTS, 10_000))


def _cgst_sgst(tax_minor: int) -> tuple[int, int]:
    """Halves, an odd paisa to CGST (a credit's mirrored)."""
    larger = (abs(tax_minor) + 1) // 2
    sign = -1 if tax_minor < 0 else 1
    return sign * larger, sign * (abs(tax_minor) - larger)


def _customer(client: stripe.StripeClient, clock_id: str, state: str) -> stripe.Customer:
    return client.v1.customers.create(
        {
            "name": "Asha Rao",
            "email": "asha@example.com",
            "test_clock": clock_id,
            "address": {"line1": "12 MG Road", "city": "Pune", "state": state, "country": "IN"},
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )


def _default_card(client: stripe.StripeClient, customer_id: str, token: str) -> None:
    """A new card attached and made the customer's default for invoices."""
    card = client.v1.payment_methods.attach(token, {"customer": customer_id})
    client.v1.customers.update(
        customer_id, {"invoice_settings": {"default_payment_method": card.id}}
    )


def _price(client: stripe.StripeClient, product_id: str, amount_minor: int) -> stripe.Price:
    return client.v1.prices.create(
        {
            "product": product_id,
            "currency": "inr",
            "unit_amount": amount_minor,
            "recurring": {"interval": "month"},
        }
    )


class InvoiceChecks:
    """Every invoice of the flow, to check their numbers at the end."""

    def __init__(self) -> None:
        self.numbers: list[str] = []

    def check(
        self,
        invoice: stripe.Invoice,
        lines: list[tuple[int, str]],
        *,
        status: str,
        paid: bool,
        supply: str = "intra_state",
    ) -> None:
        """``invoice`` as Stripe would render it: its lines (amount, price) each taxed 18%
        on its own, CGST + SGST (or IGST) of their sum, and its number the next in the year."""
        taxes = [_gst(amount) for amount, _ in lines]
        subtotal, tax = sum(amount for amount, _ in lines), sum(taxes)
        assert (invoice.subtotal, invoice.total_excluding_tax) == (subtotal, subtotal)
        assert invoice.total == subtotal + tax and invoice.status == status
        assert invoice.amount_paid == (invoice.total if paid else 0)
        assert invoice.amount_remaining == (0 if paid else invoice.total)
        assert invoice.total_taxes is not None
        assert sum(found.amount for found in invoice.total_taxes) == tax
        gst = invoice["gst"]
        assert gst["supply_type"] == supply and gst["supplier_gstin"] == MAHARASHTRA_GSTIN
        if supply == "intra_state":
            halves = [_cgst_sgst(one) for one in taxes]
            expected = (sum(c for c, _ in halves), sum(s for _, s in halves), 0)
            # CGST 9% and SGST 9%: each half the 18%, within a paisa of 9% of the taxable value.
            nine_percent = _half_up(Fraction(subtotal * 9, 100))
            assert abs(expected[0] - nine_percent) <= 1 and abs(expected[1] - nine_percent) <= 1
        else:
            expected = (0, 0, tax)
        assert (gst["cgst"], gst["sgst"], gst["igst"]) == expected
        rendered = list(invoice.lines.auto_paging_iter())
        assert [(line.amount, _price_of(line)) for line in rendered] == lines
        for line, line_tax in zip(rendered, taxes, strict=True):
            assert [(found.amount, found.taxable_amount) for found in line.taxes or []] == [
                (line_tax, line.amount)
            ]
        assert invoice.number is not None
        match = NUMBER.match(invoice.number)
        assert match is not None and len(invoice.number) == 16, invoice.number
        self.numbers.append(invoice.number)
        serials = [int(str(NUMBER.match(number).group(1))) for number in self.numbers]  # type: ignore[union-attr]
        assert serials == list(range(1, len(serials) + 1)), self.numbers


def _price_of(line: Any) -> str | None:
    details = line.pricing.price_details if line.pricing is not None else None
    return None if details is None else details.price


def _latest(client: stripe.StripeClient, subscription_id: str) -> tuple[Any, stripe.Invoice]:
    subscription = client.v1.subscriptions.retrieve(subscription_id)
    return subscription, client.v1.invoices.retrieve(str(subscription.latest_invoice))


def _settled(client: stripe.StripeClient, subscription_id: str, after: str | None) -> Any:
    """The subscription once its latest invoice (a new one, not ``after``) is collected."""

    def fetch() -> tuple[Any, stripe.Invoice]:
        return _latest(client, subscription_id)

    def done(found: tuple[Any, stripe.Invoice]) -> bool:
        # Paid, or declined: the failure makes the subscription past_due in its transaction.
        subscription, invoice = found
        return invoice.id != after and (
            invoice.status == "paid" or subscription.status == "past_due"
        )

    return _until(fetch, done, "the latest invoice's collection")


def _proration(amount_minor: int, period: tuple[int, int], at_s: int) -> int:
    """The share of ``amount_minor`` for the period's seconds left after ``at_s``."""
    start_s, end_s = period
    return _half_up(Fraction(amount_minor * (end_s - at_s), end_s - start_s))


def test_a_trial_renewals_a_declined_renewal_an_upgrade_and_cancellation_with_gst(
    client: stripe.StripeClient, compat_database_url: str
) -> None:
    checks = InvoiceChecks()
    clock = client.v1.test_helpers.test_clocks.create({"frozen_time": START_S})
    customer = _customer(client, clock.id, "MH")
    rate = client.v1.tax_rates.create(
        {"display_name": "GST", "percentage": 18, "inclusive": False, "tax_type": "gst"}
    )
    product = client.v1.products.create({"name": "Pro", "hsn_sac": "998314"})  # type: ignore[typeddict-unknown-key]
    monthly = _price(client, product.id, MONTHLY_MINOR)
    subscription = client.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [{"price": monthly.id}],
            "trial_period_days": 7,
            "default_tax_rates": [rate.id],
        }
    )
    assert subscription.status == "trialing"
    assert [found.id for found in subscription.default_tax_rates or []] == [rate.id]
    item = subscription["items"].data[0]
    trial = client.v1.invoices.retrieve(str(subscription.latest_invoice))
    checks.check(trial, [(0, monthly.id)], status="paid", paid=True)
    assert trial.billing_reason == "subscription_create"

    # Through the trial: the first paid invoice, then three renewals, each a month apart.
    period_end_s = START_S + 7 * DAY_S
    latest_id: str | None = trial.id
    for _ in range(4):
        _advance(client, clock.id, period_end_s + RENEWAL_WAIT_S)
        renewed, invoice = _settled(client, subscription.id, latest_id)
        assert renewed.status == "active" and invoice.billing_reason == "subscription_cycle"
        checks.check(invoice, [(MONTHLY_MINOR, monthly.id)], status="paid", paid=True)
        assert invoice.attempt_count == 1
        [line] = invoice.lines.data
        assert line.description == "1 \N{MULTIPLICATION SIGN} Pro"
        assert line.parent.type == "subscription_item_details"
        assert line.parent.subscription_item_details.subscription_item == item.id
        assert line.parent.subscription_item_details.subscription == subscription.id
        assert line.parent.subscription_item_details.proration is False
        latest_id = invoice.id
        period_end_s = renewed["items"].data[0].current_period_end

    # The next renewal is declined: the customer's new card attaches but fails on charge.
    _default_card(client, customer.id, "pm_card_chargeCustomerFail")
    _advance(client, clock.id, period_end_s + RENEWAL_WAIT_S)
    past_due, declined = _settled(client, subscription.id, latest_id)
    assert past_due.status == "past_due"
    assert declined.status == "open" and declined.attempt_count == 1
    checks.check(declined, [(MONTHLY_MINOR, monthly.id)], status="open", paid=False)
    # Fixed, and retried (days later, whatever notice rule spaces the retry): paid.
    _default_card(client, customer.id, "pm_card_visa")
    _advance(client, clock.id, period_end_s + RETRY_WAIT_S)
    active, retried = _until(
        lambda: _latest(client, subscription.id),
        lambda found: found[1].status == "paid" and found[0].status == "active",
        "the retry",
    )
    assert retried.id == declined.id and active.status == "active"
    assert retried.attempt_count == 2 and retried.amount_paid == retried.total

    # The upgrade, mid-period: unused time on ₹999 credited, remaining time on ₹1,999 charged,
    # each to the second and taxed on its own, invoiced and collected at once.
    period = (
        active["items"].data[0].current_period_start,
        active["items"].data[0].current_period_end,
    )
    change_s = period[0] + 12 * DAY_S + 6 * HOUR_S + 47 * 60 + 29
    _advance(client, clock.id, change_s)
    upgraded_price = _price(client, product.id, UPGRADED_MINOR)
    upgraded = client.v1.subscriptions.update(
        subscription.id,
        {
            "items": [{"id": item.id, "price": upgraded_price.id}],
            "proration_behavior": "always_invoice",
        },
    )
    assert upgraded["items"].data[0].price.id == upgraded_price.id
    credit = -_proration(MONTHLY_MINOR, period, change_s)
    charge = _proration(UPGRADED_MINOR, period, change_s)
    # Days later, still in the period: whatever notice its charge waits for has gone.
    _advance(client, clock.id, change_s + RENEWAL_WAIT_S)
    _, prorated = _settled(client, subscription.id, retried.id)
    assert prorated.billing_reason == "subscription_update"
    checks.check(
        prorated, [(credit, monthly.id), (charge, upgraded_price.id)], status="paid", paid=True
    )
    prorations = list(prorated.lines.auto_paging_iter())
    assert prorations[0].description.startswith("Unused time on Pro after ")
    assert prorations[1].description.startswith("Remaining time on Pro after ")
    for line in prorations:
        assert line.parent.type == "invoice_item_details"
        details = line.parent.invoice_item_details
        assert details.proration is True and details.subscription == subscription.id
        invoice_item = client.v1.invoice_items.retrieve(details.invoice_item)
        assert invoice_item.proration is True and invoice_item.discountable is False
        assert invoice_item.parent.subscription_details.subscription == subscription.id
        assert invoice_item.parent.subscription_details.subscription_item == item.id

    # Canceled at the period's end: no more invoices.
    scheduled = client.v1.subscriptions.update(subscription.id, {"cancel_at_period_end": True})
    assert scheduled.cancel_at_period_end is True and scheduled.status == "active"
    _advance(client, clock.id, period[1] + RENEWAL_WAIT_S)
    canceled = _until(
        lambda: client.v1.subscriptions.retrieve(subscription.id),
        lambda found: found.status == "canceled",
        "the cancellation",
    )
    assert canceled.ended_at == period[1] and canceled.latest_invoice == prorated.id
    every = client.v1.invoices.list({"customer": customer.id, "limit": 100}).data
    assert len(every) == len(checks.numbers) == 7
    assert {invoice.status for invoice in every} == {"paid"}

    report = _verified(compat_database_url)
    assert report.ok, report.problems


def test_an_inter_state_customers_renewal_is_igst(client: stripe.StripeClient) -> None:
    checks = InvoiceChecks()
    clock = client.v1.test_helpers.test_clocks.create({"frozen_time": START_S})
    customer = _customer(client, clock.id, "KA")
    rate = client.v1.tax_rates.create(
        {"display_name": "GST", "percentage": 18, "inclusive": False, "tax_type": "gst"}
    )
    product = client.v1.products.create({"name": "Pro"})
    monthly = _price(client, product.id, MONTHLY_MINOR)
    # The rate on the item this time (items[][tax_rates]), not as the subscription's default.
    subscription = client.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": monthly.id, "tax_rates": [rate.id]}]}
    )
    assert [found.id for found in subscription["items"].data[0].tax_rates] == [rate.id]
    started, first = _settled(client, subscription.id, None)
    assert started.status == "active"
    checks.check(
        first, [(MONTHLY_MINOR, monthly.id)], status="paid", paid=True, supply="inter_state"
    )
    _advance(client, clock.id, started["items"].data[0].current_period_end + RENEWAL_WAIT_S)
    renewed, renewal = _settled(client, subscription.id, first.id)
    assert renewed.status == "active" and renewal.billing_reason == "subscription_cycle"
    checks.check(
        renewal, [(MONTHLY_MINOR, monthly.id)], status="paid", paid=True, supply="inter_state"
    )
    assert renewal["gst"]["place_of_supply"] == "29"


def _verified(database_url: str) -> Any:
    import asyncio

    return asyncio.run(verify_database(database_url, seal_first=True))
