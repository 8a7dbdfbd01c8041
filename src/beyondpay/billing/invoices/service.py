"""Invoices' use cases, as other parts of billing, the pages and the composition root reach
them. Never commits, except where a use case asks a rail (``collection``: payments' phases
commit at their recovery point): the request or job owns the transaction.

The part is split by noun, each file short enough to hold in mind:

- ``invoices``: invoices (create, read, update, delete, list, search, lines; finalize, send,
  void, mark uncollectible) and the merchant's invoice settings (the number prefix);
- ``items``: invoice items, pending or on a draft;
- ``lifecycle``: finalization (numbering, the PaymentIntent), settlement, sending, the jobs of
  the timers;
- ``collection``: paying (the API's pay, the automatic collection job, the hosted page) and
  hearing the PaymentIntent's outcomes (:func:`hear_payment`);
- ``timers``: auto-advance and overdue, in real time and on test clocks;
- ``rendering``: the object, its events, links, the hosted page's view, the PDF and the email;
- ``store``: rows, locks (the PaymentIntent before the invoice, the invoice before its items),
  the invoice's time, a draft's recomputation (discounts, GST, totals);
- ``taxing``: tax rates and GST through billing/tax; ``discounting``: coupons and promotion
  codes through billing/catalog;
- ``balance``: the customer balance (a ledger account) and its transactions, which invoices
  spend at finalization; ``crediting``: what a credit note (the part above) does to its invoice.

:class:`InvoiceService` and :class:`InvoiceItemService` are what subscriptions call to bill a
period; ``tax_invoice`` is an invoice as billing/documents' GST tax invoice (its PDF, its
email with the PDF attached).
"""

from __future__ import annotations

from beyondpay.billing.invoices import crediting
from beyondpay.billing.invoices.balance import CustomerBalanceService, customer_balance_service
from beyondpay.billing.invoices.collection import (
    CollectionService,
    PayResult,
    collection_service,
    hear_payment,
)
from beyondpay.billing.invoices.events import InvoiceEvent, on_invoice_event
from beyondpay.billing.invoices.invoices import (
    InvoiceService,
    SubscriptionBilling,
    invoice_service,
)
from beyondpay.billing.invoices.items import (
    InvoiceItemService,
    SubscriptionLine,
    invoice_item_service,
)
from beyondpay.billing.invoices.lifecycle import on_first_collection
from beyondpay.billing.invoices.models import (
    CustomerBalanceTransactionRow,
    InvoiceItemRow,
    InvoiceRow,
)
from beyondpay.billing.invoices.rendering import (
    InvoiceDocument,
    InvoicePage,
    compose_invoice_email,
    hosted_invoice_url,
    invoice_document,
    invoice_id_of_token,
    invoice_page,
    invoice_pdf,
    invoice_pdf_bytes,
    invoice_pdf_url,
    pdf_of_token,
    rendered,
    signed_link,
    tax_invoice,
    text_pdf,
)
from beyondpay.billing.invoices.settings import configure
from beyondpay.billing.invoices.taxing import upcoming_taxes
from beyondpay.billing.invoices.timers import advance_invoices_on_clock

__all__ = [
    "CollectionService",
    "CustomerBalanceService",
    "CustomerBalanceTransactionRow",
    "InvoiceDocument",
    "InvoiceEvent",
    "InvoiceItemRow",
    "InvoiceItemService",
    "InvoicePage",
    "InvoiceRow",
    "InvoiceService",
    "PayResult",
    "SubscriptionBilling",
    "SubscriptionLine",
    "advance_invoices_on_clock",
    "collection_service",
    "compose_invoice_email",
    "configure",
    "crediting",
    "customer_balance_service",
    "hear_payment",
    "hosted_invoice_url",
    "invoice_document",
    "invoice_id_of_token",
    "invoice_item_service",
    "invoice_page",
    "invoice_pdf",
    "invoice_pdf_bytes",
    "invoice_pdf_url",
    "invoice_service",
    "on_first_collection",
    "on_invoice_event",
    "pdf_of_token",
    "rendered",
    "signed_link",
    "tax_invoice",
    "text_pdf",
    "upcoming_taxes",
]
