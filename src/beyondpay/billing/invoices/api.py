"""Invoice and invoice item routes: parse, authorize, call the service, render."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Path

from beyondpay.api.access import CustomersReader, CustomersWriter, InvoicesReader, InvoicesWriter
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Mutation, Outcome
from beyondpay.api.routing import Body, Listed, Query, RingDep, Router, listed
from beyondpay.billing.invoices.balance import customer_balance_service
from beyondpay.billing.invoices.rendering import EXPANSIONS
from beyondpay.billing.invoices.schemas import (
    CustomerBalanceTransaction,
    CustomerBalanceTransactionCreateParams,
    CustomerBalanceTransactionListParams,
    CustomerBalanceTransactionUpdateParams,
    DeletedInvoice,
    DeletedInvoiceItem,
    Invoice,
    InvoiceCreateParams,
    InvoiceFinalizeParams,
    InvoiceItem,
    InvoiceItemCreateParams,
    InvoiceItemListParams,
    InvoiceItemUpdateParams,
    InvoiceLineItem,
    InvoiceLinesParams,
    InvoiceListParams,
    InvoiceMarkUncollectibleParams,
    InvoicePayParams,
    InvoiceSearchParams,
    InvoiceSearchResult,
    InvoiceSendParams,
    InvoiceSettings,
    InvoiceSettingsUpdateParams,
    InvoiceUpdateParams,
    InvoiceVoidParams,
    customer_balance_transaction_object,
    deleted_invoice_item_object,
    deleted_invoice_object,
    invoice_item_object,
    line_object,
)
from beyondpay.billing.invoices.service import (
    collection_service,
    invoice_item_service,
    invoice_service,
    rendered,
)

# Stripe's pay answers a declined card with 402, as a PaymentIntent's confirmation does.
DECLINED: Final = (
    "The payment was declined (`card_error` with `decline_code` and the PaymentIntent), or"
    " needs the customer (`invoice_payment_intent_requires_action`)."
)

router = Router(prefix="/v1/invoices", tags=["invoices"])
items_router = Router(prefix="/v1/invoiceitems", tags=["invoices"])
settings_router = Router(prefix="/v1/billing/invoice_settings", tags=["invoices"])
balance_router = Router(prefix="/v1/customers", tags=["customers"])

InvoiceId = Annotated[str, Path(max_length=255, description="The invoice's id (`in_…`).")]
ItemId = Annotated[str, Path(max_length=255, description="The invoice item's id (`ii_…`).")]


@router.post("", returns=Invoice, expand=EXPANSIONS)
async def create_invoice(
    session: SessionDep,
    caller: InvoicesWriter,
    params: Body[InvoiceCreateParams],
    expand: list[str],
) -> Outcome:
    """Create a draft invoice for a customer.

    With ``pending_invoice_items_behavior=include`` the customer's pending invoice items become
    its lines. With ``auto_advance=true`` it is finalized about an hour later, then collected
    (``charge_automatically``) or emailed (``send_invoice``).
    """
    invoice = await invoice_service.create(session, caller, params)
    return Outcome(await rendered(session, invoice, expand))


# Declared before /{invoice}, which would otherwise take "search" for an id.
@router.get("/search", returns=InvoiceSearchResult, expand=EXPANSIONS, listing=True)
async def search_invoices(
    session: SessionDep,
    caller: InvoicesReader,
    params: Query[InvoiceSearchParams],
    expand: list[str],
) -> Listed:
    """Search invoices with Stripe's search query language."""
    rows, has_more, next_page = await invoice_service.search(session, caller, params)
    data = [await rendered(session, row, expand) for row in rows]
    return Listed(data, has_more, object="search_result", extra={"next_page": next_page})


@router.get("/{invoice}", returns=Invoice, expand=EXPANSIONS)
async def retrieve_invoice(
    invoice: InvoiceId,
    session: SessionDep,
    caller: InvoicesReader,
    expand: list[str],
) -> dict[str, Any]:
    """Retrieve an invoice."""
    return await rendered(session, await invoice_service.get(session, caller, invoice), expand)


@router.post("/{invoice}", returns=Invoice, expand=EXPANSIONS)
async def update_invoice(
    invoice: InvoiceId,
    session: SessionDep,
    caller: InvoicesWriter,
    params: Body[InvoiceUpdateParams],
    expand: list[str],
) -> Outcome:
    """Update an invoice: a draft's fields; once finalized, its metadata and collection settings."""
    row = await invoice_service.update(session, caller, invoice, params)
    return Outcome(await rendered(session, row, expand))


@router.delete("/{invoice}", returns=DeletedInvoice)
async def delete_invoice(
    invoice: InvoiceId, session: SessionDep, caller: InvoicesWriter
) -> Outcome:
    """Delete a draft invoice; its items become pending again."""
    return Outcome(deleted_invoice_object(await invoice_service.delete(session, caller, invoice)))


@router.get("", returns=Invoice, expand=EXPANSIONS)
async def list_invoices(
    session: SessionDep,
    caller: InvoicesReader,
    params: Query[InvoiceListParams],
    expand: list[str],
) -> Listed:
    """List invoices."""
    rows, has_more = await invoice_service.list(session, caller, params)
    return Listed([await rendered(session, row, expand) for row in rows], has_more)


@router.get("/{invoice}/lines", returns=InvoiceLineItem)
async def list_invoice_lines(
    invoice: InvoiceId,
    session: SessionDep,
    caller: InvoicesReader,
    params: Query[InvoiceLinesParams],
) -> Listed:
    """List an invoice's line items, in the invoice's order."""
    return listed(line_object, await invoice_service.lines(session, caller, invoice, params))


@router.post("/{invoice}/finalize", returns=Invoice, expand=EXPANSIONS)
async def finalize_invoice(
    invoice: InvoiceId,
    session: SessionDep,
    caller: InvoicesWriter,
    params: Body[InvoiceFinalizeParams],
    expand: list[str],
) -> Outcome:
    """Finalize a draft invoice: it takes its number, links and PaymentIntent, and is open.

    With ``auto_advance`` its collection is attempted (or it is emailed) at once.
    """
    row = await invoice_service.finalize(session, caller, invoice, params)
    return Outcome(await rendered(session, row, expand))


@router.post("/{invoice}/pay", returns=Invoice, expand=EXPANSIONS, responses={402: DECLINED})
async def pay_invoice(
    invoice: InvoiceId,
    session: SessionDep,
    caller: InvoicesWriter,
    ring: RingDep,
    params: Body[InvoicePayParams],
    mutation: Mutation,
    expand: list[str],
) -> Outcome:
    """Pay an invoice now: its PaymentIntent confirmed with ``payment_method`` or the default.

    A draft is finalized first. ``paid_out_of_band=true`` marks it paid with no money moved.
    """
    result = await collection_service.pay(session, caller, ring, invoice, params, mutation)
    if result.failure is not None:
        return Outcome(result.failure, status=result.failure_status)
    return Outcome(await rendered(session, result.invoice, expand))


@router.post("/{invoice}/send", returns=Invoice, expand=EXPANSIONS)
async def send_invoice(
    invoice: InvoiceId,
    session: SessionDep,
    caller: InvoicesWriter,
    params: Body[InvoiceSendParams],
    expand: list[str],
) -> Outcome:
    """Email a send_invoice invoice to its customer, with its hosted link."""
    row = await invoice_service.send(session, caller, invoice)
    return Outcome(await rendered(session, row, expand))


@router.post("/{invoice}/void", returns=Invoice, expand=EXPANSIONS)
async def void_invoice(
    invoice: InvoiceId,
    session: SessionDep,
    caller: InvoicesWriter,
    params: Body[InvoiceVoidParams],
    expand: list[str],
) -> Outcome:
    """Void an open or uncollectible invoice: it can no longer be paid."""
    row = await invoice_service.void(session, caller, invoice)
    return Outcome(await rendered(session, row, expand))


@router.post("/{invoice}/mark_uncollectible", returns=Invoice, expand=EXPANSIONS)
async def mark_invoice_uncollectible(
    invoice: InvoiceId,
    session: SessionDep,
    caller: InvoicesWriter,
    params: Body[InvoiceMarkUncollectibleParams],
    expand: list[str],
) -> Outcome:
    """Mark an open invoice uncollectible: it may still be paid or voided."""
    row = await invoice_service.mark_uncollectible(session, caller, invoice)
    return Outcome(await rendered(session, row, expand))


# ---- invoice items -----------------------------------------------------------------------------


@items_router.post("", returns=InvoiceItem)
async def create_invoice_item(
    session: SessionDep, caller: InvoicesWriter, params: Body[InvoiceItemCreateParams]
) -> Outcome:
    """Create an invoice item: pending for the customer, or on a draft invoice (``invoice``)."""
    return Outcome(invoice_item_object(await invoice_item_service.create(session, caller, params)))


@items_router.get("/{invoiceitem}", returns=InvoiceItem)
async def retrieve_invoice_item(
    invoiceitem: ItemId, session: SessionDep, caller: InvoicesReader
) -> dict[str, Any]:
    """Retrieve an invoice item."""
    return invoice_item_object(await invoice_item_service.get(session, caller, invoiceitem))


@items_router.post("/{invoiceitem}", returns=InvoiceItem)
async def update_invoice_item(
    invoiceitem: ItemId,
    session: SessionDep,
    caller: InvoicesWriter,
    params: Body[InvoiceItemUpdateParams],
) -> Outcome:
    """Update an invoice item that is pending or on a draft invoice."""
    row = await invoice_item_service.update(session, caller, invoiceitem, params)
    return Outcome(invoice_item_object(row))


@items_router.delete("/{invoiceitem}", returns=DeletedInvoiceItem)
async def delete_invoice_item(
    invoiceitem: ItemId, session: SessionDep, caller: InvoicesWriter
) -> Outcome:
    """Delete an invoice item that is pending or on a draft invoice."""
    deleted = await invoice_item_service.delete(session, caller, invoiceitem)
    return Outcome(deleted_invoice_item_object(deleted))


@items_router.get("", returns=InvoiceItem)
async def list_invoice_items(
    session: SessionDep, caller: InvoicesReader, params: Query[InvoiceItemListParams]
) -> Listed:
    """List invoice items (``pending=true``: those on no invoice yet)."""
    return listed(invoice_item_object, await invoice_item_service.list(session, caller, params))


# ---- the merchant's invoice settings -----------------------------------------------------------


@settings_router.get("", returns=InvoiceSettings)
async def retrieve_invoice_settings(session: SessionDep, caller: InvoicesReader) -> dict[str, Any]:
    """Retrieve the invoice number prefix and the next number an invoice would take."""
    return await invoice_service.settings(session, caller)


@settings_router.post("", returns=InvoiceSettings)
async def update_invoice_settings(
    session: SessionDep, caller: InvoicesWriter, params: Body[InvoiceSettingsUpdateParams]
) -> Outcome:
    """Set the invoice number prefix (1 to 4 letters or digits: `INV/2627/000001`).

    Numbers stay consecutive per financial year whatever the prefix.
    """
    return Outcome(await invoice_service.update_settings(session, caller, params))


# ---- the customer balance ----------------------------------------------------------------------

CustomerId = Annotated[str, Path(max_length=255, description="The customer's id (`cus_…`).")]
BalanceTransactionId = Annotated[
    str, Path(max_length=255, description="The balance transaction's id (`cbtxn_…`).")
]


@balance_router.post("/{customer}/balance_transactions", returns=CustomerBalanceTransaction)
async def create_customer_balance_transaction(
    customer: CustomerId,
    session: SessionDep,
    caller: CustomersWriter,
    params: Body[CustomerBalanceTransactionCreateParams],
) -> Outcome:
    """Adjust a customer's balance (negative: credit their next invoices spend)."""
    row = await customer_balance_service.create(session, caller, customer, params)
    return Outcome(customer_balance_transaction_object(row))


@balance_router.get("/{customer}/balance_transactions", returns=CustomerBalanceTransaction)
async def list_customer_balance_transactions(
    customer: CustomerId,
    session: SessionDep,
    caller: CustomersReader,
    params: Query[CustomerBalanceTransactionListParams],
) -> Listed:
    """List a customer's balance transactions, newest first."""
    page = await customer_balance_service.list(session, caller, customer, params)
    return listed(customer_balance_transaction_object, page)


@balance_router.get(
    "/{customer}/balance_transactions/{transaction}", returns=CustomerBalanceTransaction
)
async def retrieve_customer_balance_transaction(
    customer: CustomerId,
    transaction: BalanceTransactionId,
    session: SessionDep,
    caller: CustomersReader,
) -> dict[str, Any]:
    """Retrieve a customer balance transaction."""
    row = await customer_balance_service.get(session, caller, customer, transaction)
    return customer_balance_transaction_object(row)


@balance_router.post(
    "/{customer}/balance_transactions/{transaction}", returns=CustomerBalanceTransaction
)
async def update_customer_balance_transaction(
    customer: CustomerId,
    transaction: BalanceTransactionId,
    session: SessionDep,
    caller: CustomersWriter,
    params: Body[CustomerBalanceTransactionUpdateParams],
) -> Outcome:
    """Update a balance transaction's description and metadata."""
    row = await customer_balance_service.update(session, caller, customer, transaction, params)
    return Outcome(customer_balance_transaction_object(row))
