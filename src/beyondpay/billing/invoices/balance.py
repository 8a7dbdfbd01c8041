"""The customer balance (Stripe's ``customer.balance`` and its CustomerBalanceTransactions).
Never commits.

**Where it lives.** The balance is a ledger account per merchant, mode, customer and currency
(``customer_balance``, named by ``payments.domain.Chart`` beside the merchant's own accounts,
moved by ``payments.postings``), and each change is a balance transaction here. It is billing's
and not the customers module's: the ledger's chart of accounts is payments', which sits above
customers, and the balance is spent by invoices and filled by credit notes, both billing's.
The customer row keeps a copy (``customers.balance``, what ``customer.balance`` renders), set by
``customer_service.set_balance`` in the same transaction and asserted equal to the ledger.

**What moves.** A change of ``amount`` (negative: credit to the customer) is one transfer between
the merchant's available balance and the customer's account, ``<cbtxn>:balance``:

- a credit note's ``credit_amount`` and an API ``adjustment`` granting credit move money from
  available to the customer's account: the merchant owes it and cannot pay it out;
- an ``adjustment`` the customer owes (positive) moves it the other way: the merchant's
  available balance shows it before it is collected (Stripe books it with no money behind it
  either); the invoice that collects it hands it back (``applied_to_invoice``), so once it is
  paid, what the merchant received through the payment is counted once;
- ``applied_to_invoice`` at finalization: the credit the invoice consumes goes back to the
  merchant as that invoice's payment share (or the debt it collects leaves available, since
  the payment brings it); ``unapplied_from_invoice`` when that invoice is voided.

**Concurrency.** Every change locks the customer's row first (after the invoice, where there is
one), so the running ``ending_balance`` is consecutive and two changes never read the same
balance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.invoices.domain import balance_applied
from beyondpay.billing.invoices.models import CustomerBalanceTransactionRow, InvoiceRow
from beyondpay.billing.invoices.schemas import (
    CustomerBalanceTransactionCreateParams,
    CustomerBalanceTransactionListParams,
    CustomerBalanceTransactionUpdateParams,
)
from beyondpay.billing.invoices.store import acting_for
from beyondpay.customers.service import customer_service
from beyondpay.db.pagination import created_conditions, owned_page
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.params import merge_metadata
from beyondpay.merchants.domain import Caller
from beyondpay.payments.service import balance_service

OBJECT: Final = "customer_balance_transaction"
APPLIED_TO_INVOICE: Final = "applied_to_invoice"
UNAPPLIED_FROM_INVOICE: Final = "unapplied_from_invoice"
CREDIT_NOTE: Final = "credit_note"
ADJUSTMENT: Final = "adjustment"


class CustomerBalanceCurrencyError(InvalidRequestError):
    """A balance change in another currency than the customer's balance (Stripe keeps one)."""

    code = "customer_balance_currency_mismatch"


class CustomerBalanceService:
    async def change(
        self,
        session: AsyncSession,
        caller: Caller,
        customer_id: str,
        *,
        amount: int,
        currency: str,
        type: str,
        invoice_id: str | None = None,
        credit_note_id: str | None = None,
        description: str | None = None,
        metadata: dict[str, str] | None = None,
        param: str = "currency",
    ) -> CustomerBalanceTransactionRow:
        """``amount`` (negative: credit to the customer) added to the customer's balance: the
        ledger transfer, the balance transaction, the customer's copy and ``customer.updated``."""
        invariant(amount != 0, "a balance transaction changes the balance")
        customer = await customer_service.get(session, caller, customer_id, for_update=True)
        if customer.currency not in (None, currency):
            raise CustomerBalanceCurrencyError(
                f"The customer's balance is in {customer.currency}: a change in {currency}"
                " cannot be added to it.",
                param=param,
            )
        row = CustomerBalanceTransactionRow(
            id=new_id("cbtxn"),
            merchant_id=caller.merchant,
            livemode=caller.livemode,
            customer_id=customer.id,
            type=type,
            amount=amount,
            currency=currency,
            ending_balance=customer.balance + amount,
            description=description,
            invoice_id=invoice_id,
            credit_note_id=credit_note_id,
            metadata_=merge_metadata({}, metadata),
            created_at=utcnow(),
        )
        ledger_balance = await balance_service.move_customer_balance(
            session, caller, customer.id, row.id, amount, currency
        )
        invariant(
            ledger_balance == row.ending_balance,
            "the customer's balance equals their ledger account",
        )
        session.add(row)
        await customer_service.set_balance(session, customer, row.ending_balance, currency)
        return row

    async def create(
        self,
        session: AsyncSession,
        caller: Caller,
        customer_id: str,
        params: CustomerBalanceTransactionCreateParams,
    ) -> CustomerBalanceTransactionRow:
        """An ``adjustment`` made through the API (``POST …/balance_transactions``)."""
        customer = await customer_service.live(session, caller, customer_id)
        if params.amount == 0:
            raise InvalidRequestError(
                "The amount of a balance transaction cannot be zero.", param="amount"
            )
        metadata = params.metadata if isinstance(params.metadata, dict) else None
        return await self.change(
            session,
            caller,
            customer.id,
            amount=params.amount,
            currency=params.currency,
            type=ADJUSTMENT,
            description=params.description or None,
            metadata=metadata,
        )

    async def get(
        self, session: AsyncSession, caller: Caller, customer_id: str, transaction_id: str
    ) -> CustomerBalanceTransactionRow:
        row = (
            await session.execute(
                select(CustomerBalanceTransactionRow).where(
                    CustomerBalanceTransactionRow.id == transaction_id,
                    CustomerBalanceTransactionRow.customer_id == customer_id,
                    CustomerBalanceTransactionRow.merchant_id == caller.merchant,
                    CustomerBalanceTransactionRow.livemode == caller.livemode,
                )
            )
        ).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object(OBJECT, transaction_id)
        return row

    async def update(
        self,
        session: AsyncSession,
        caller: Caller,
        customer_id: str,
        transaction_id: str,
        params: CustomerBalanceTransactionUpdateParams,
    ) -> CustomerBalanceTransactionRow:
        """Only its description and metadata change (Stripe's rule): the amount is history."""
        row = await self.get(session, caller, customer_id, transaction_id)
        sent = params.model_fields_set
        if "description" in sent:
            row.description = params.description or None
        if "metadata" in sent:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            row.metadata_ = merge_metadata(row.metadata_, metadata)
        await session.flush()
        return row

    async def list(
        self,
        session: AsyncSession,
        caller: Caller,
        customer_id: str,
        params: CustomerBalanceTransactionListParams,
    ) -> tuple[Sequence[CustomerBalanceTransactionRow], bool]:
        customer = await customer_service.get(session, caller, customer_id)
        filters: list[Any] = list(
            created_conditions(CustomerBalanceTransactionRow.created_at, params.created)
        )
        if params.invoice is not None:
            filters.append(CustomerBalanceTransactionRow.invoice_id == params.invoice)
        return await owned_page(
            session,
            CustomerBalanceTransactionRow,
            params,
            owner=[
                CustomerBalanceTransactionRow.merchant_id == caller.merchant,
                CustomerBalanceTransactionRow.livemode == caller.livemode,
                CustomerBalanceTransactionRow.customer_id == customer.id,
            ],
            filters=filters,
            object_name=OBJECT,
        )

    async def apply_to_invoice(self, session: AsyncSession, invoice: InvoiceRow) -> None:
        """At finalization of the locked invoice: the customer's balance in its currency is
        its ``starting_balance``; a negative total is credit added to it first (Stripe
        finalizes such an invoice, nothing due, and credits the customer); then credit pays
        what it can of ``amount_due`` and a debt is added to it; ``ending_balance`` is what is
        left (Stripe's arithmetic). One ``applied_to_invoice`` transaction for the change."""
        caller = acting_for(invoice.merchant_id, invoice.livemode)
        customer = await customer_service.get(session, caller, invoice.customer_id, for_update=True)
        starting = customer.balance if customer.currency == invoice.currency else 0
        if starting != 0:
            # Checked where it is read as where it is written: the copy is the ledger's.
            ledger_balance = await balance_service.customer_balance(
                session, caller, customer.id, invoice.currency
            )
            invariant(
                ledger_balance == starting, "the customer's balance equals their ledger account"
            )
        credited = min(invoice.total, 0)
        invariant(credited == 0 or invoice.amount_due == 0, "a negative invoice has nothing due")
        applied = balance_applied(starting + credited, invoice.amount_due)
        invoice.starting_balance = starting
        invoice.ending_balance = starting + credited + applied
        invoice.amount_due -= applied
        invariant(invoice.amount_due >= 0, "credit never takes an invoice below nothing due")
        if credited + applied != 0:
            await self.change(
                session,
                caller,
                customer.id,
                amount=credited + applied,
                currency=invoice.currency,
                type=APPLIED_TO_INVOICE,
                invoice_id=invoice.id,
            )

    async def unapply_from_invoice(self, session: AsyncSession, invoice: InvoiceRow) -> None:
        """A voided invoice gives back the balance it took (Stripe's
        ``unapplied_from_invoice``)."""
        if invoice.ending_balance is None or invoice.ending_balance == invoice.starting_balance:
            return
        await self.change(
            session,
            acting_for(invoice.merchant_id, invoice.livemode),
            invoice.customer_id,
            amount=invoice.starting_balance - invoice.ending_balance,
            currency=invoice.currency,
            type=UNAPPLIED_FROM_INVOICE,
            invoice_id=invoice.id,
        )


customer_balance_service = CustomerBalanceService()
