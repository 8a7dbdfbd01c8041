"""Payments' use cases, as other modules and the composition root reach them. Never commits,
except at the recovery points a use case is handed (``db.phases``): the request or job owns
the transaction.

The module is split by noun, each file short enough to hold in mind:

- ``intents``: payment intents (create, update, confirm, capture, cancel, read);
- ``charges``: charges (read, update, the locks, the refunds' side of a charge);
- ``operations``: what a charge asks of its rail (authorize, capture), in phases around the
  network (docs/development.md, "The money path");
- ``outcomes``: a charge's answers applied — the rail's (idempotent: a charge already final
  ignores a repeat) and the screening gate's refusal;
- ``reconciliation``: charges the job finishes (an operation never applied, a status check);
- ``legacy``: the Charges API (``POST /v1/charges``, its capture) made on top of intents;
- ``upi_credits``: a UPI push to a merchant's VPA (its QR paid) recorded as the merchant's
  succeeded payment, once per UPI transaction id;
- ``balance``: the merchant's balance and balance transactions;
- ``clocks``: payments for customers on test clocks (their time, their funds on an advance);
- ``receipts``: a charge's hosted receipt (its link, its number, what it shows) and who is told
  when one is due;
- ``screening``: the shared risk-and-limits gate (``beyondpay.screening``) asked of a charge;
- ``settings``: fees, availability, the rail's answer wait, the key ring;
- ``events``: who hears an intent's events in their transaction (``on_intent_event``: an
  invoice paid through its PaymentIntent).
"""

from __future__ import annotations

from beyondpay.payments.balance import (
    BalanceService,
    available_balance,
    available_totals,
    balance_service,
    move_between_merchants,
    release_due_funds,
)
from beyondpay.payments.charges import ChargeService, charge_service
from beyondpay.payments.clocks import expire_payer_actions_on_clock, release_funds_on_clock
from beyondpay.payments.destinations import DestinationCharge, on_destination_charge
from beyondpay.payments.events import (
    IntentChange,
    PaymentIntentEvent,
    off_intent_event,
    on_intent_event,
)
from beyondpay.payments.intents import PaymentIntentService, payment_intent_service
from beyondpay.payments.legacy import ChargeResult, LegacyChargeService, legacy_charge_service
from beyondpay.payments.models import ChargeRow, PaymentIntentRow
from beyondpay.payments.operations import ConfirmResult
from beyondpay.payments.outcomes import apply_outcome, handle_rail_outcome, waits_for_payer
from beyondpay.payments.payouts import PayoutFundsService, PayoutStep, payout_funds_service
from beyondpay.payments.rail_records import PlatformRecord, captured_charges
from beyondpay.payments.receipts import (
    ReceiptView,
    assign_receipt_number,
    on_receipt_due,
    receipt_of_token,
    receipt_view,
)
from beyondpay.payments.reconciliation import check_charge, due_charges
from beyondpay.payments.report_rows import (
    ReportedTransaction,
    balance_before,
    balance_transactions_between,
)
from beyondpay.payments.settings import configure, rail_answer_wait
from beyondpay.payments.upi_credits import UpiCredit, record_upi_credit

__all__ = [
    "BalanceService",
    "ChargeResult",
    "ChargeRow",
    "ChargeService",
    "ConfirmResult",
    "DestinationCharge",
    "IntentChange",
    "LegacyChargeService",
    "PaymentIntentEvent",
    "PaymentIntentRow",
    "PaymentIntentService",
    "PayoutFundsService",
    "PayoutStep",
    "PlatformRecord",
    "ReceiptView",
    "ReportedTransaction",
    "UpiCredit",
    "apply_outcome",
    "assign_receipt_number",
    "available_balance",
    "available_totals",
    "balance_before",
    "balance_service",
    "balance_transactions_between",
    "captured_charges",
    "charge_service",
    "check_charge",
    "configure",
    "due_charges",
    "expire_payer_actions_on_clock",
    "handle_rail_outcome",
    "legacy_charge_service",
    "move_between_merchants",
    "off_intent_event",
    "on_destination_charge",
    "on_intent_event",
    "on_receipt_due",
    "payment_intent_service",
    "payout_funds_service",
    "rail_answer_wait",
    "receipt_of_token",
    "receipt_view",
    "record_upi_credit",
    "release_due_funds",
    "release_funds_on_clock",
    "waits_for_payer",
]
