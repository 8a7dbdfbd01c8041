"""Billing: the customer balance and credit notes (issue 18, item 4).

- ``customers`` gains ``balance`` (Stripe's sign: negative is credit the customer can spend) and
  ``currency`` (the balance's, set by its first transaction). The balance always equals the
  customer's ``customer_balance`` ledger account (``payments.postings``): both change in one
  transaction, and the service asserts it.
- ``customer_balance_transactions``: Stripe's CustomerBalanceTransaction, one per change.
- ``invoices`` gains the balance it started and ended with and what credit notes took off it
  before and after payment.
- ``credit_notes`` and ``credit_note_lines``: Stripe's CreditNote and its lines, each line with
  its share of the invoice line's GST.
- ``credit_note_number_counters``: a credit note's own GST serial number per merchant, mode and
  financial year (consecutive: the counter row is locked until the issuing transaction ends).

Revision ID: 0041
Revises: 0044
Create Date: 2027-01-27
"""

from __future__ import annotations

from alembic import op

revision = "0041"
down_revision = "0044"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE customers ADD COLUMN balance bigint NOT NULL DEFAULT 0;
        ALTER TABLE customers ADD COLUMN currency text;

        CREATE TABLE customer_balance_transactions (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            customer_id text NOT NULL REFERENCES customers (id),
            type text NOT NULL CHECK (type IN ('adjustment', 'applied_to_invoice',
                'credit_note', 'initial', 'invoice_overpaid', 'invoice_too_large',
                'invoice_too_small', 'unapplied_from_invoice', 'unspent_receiver_credit')),
            amount bigint NOT NULL CHECK (amount <> 0),
            currency text NOT NULL,
            ending_balance bigint NOT NULL,
            description text,
            invoice_id text,
            credit_note_id text,
            metadata jsonb NOT NULL DEFAULT '{}',
            created_at timestamptz NOT NULL
        );
        CREATE INDEX ix_customer_balance_transactions_customer
            ON customer_balance_transactions (customer_id, id DESC);

        ALTER TABLE invoices ADD COLUMN starting_balance bigint NOT NULL DEFAULT 0;
        ALTER TABLE invoices ADD COLUMN ending_balance bigint;
        ALTER TABLE invoices ADD COLUMN pre_payment_credit_notes_amount bigint NOT NULL DEFAULT 0
            CHECK (pre_payment_credit_notes_amount >= 0);
        ALTER TABLE invoices ADD COLUMN post_payment_credit_notes_amount bigint NOT NULL DEFAULT 0
            CHECK (post_payment_credit_notes_amount >= 0);

        CREATE TABLE credit_notes (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            invoice_id text NOT NULL REFERENCES invoices (id),
            customer_id text NOT NULL,
            number text NOT NULL,
            status text NOT NULL CHECK (status IN ('issued', 'void')),
            type text NOT NULL CHECK (type IN ('pre_payment', 'post_payment')),
            currency text NOT NULL,
            subtotal bigint NOT NULL,
            total bigint NOT NULL CHECK (total > 0),
            refund_amount bigint NOT NULL DEFAULT 0 CHECK (refund_amount >= 0),
            credit_amount bigint NOT NULL DEFAULT 0 CHECK (credit_amount >= 0),
            out_of_band_amount bigint NOT NULL DEFAULT 0 CHECK (out_of_band_amount >= 0),
            refund_id text,
            customer_balance_transaction_id text,
            reason text CHECK (reason IN ('duplicate', 'fraudulent', 'order_change',
                'product_unsatisfactory')),
            memo text,
            metadata jsonb NOT NULL DEFAULT '{}',
            gst jsonb,
            effective_at timestamptz NOT NULL,
            voided_at timestamptz,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            UNIQUE (merchant_id, livemode, number)
        );
        CREATE INDEX ix_credit_notes_scope ON credit_notes (merchant_id, livemode, id DESC);
        CREATE INDEX ix_credit_notes_invoice ON credit_notes (invoice_id);
        CREATE INDEX ix_credit_notes_refund ON credit_notes (refund_id)
            WHERE refund_id IS NOT NULL;

        CREATE TABLE credit_note_lines (
            id text PRIMARY KEY,
            credit_note_id text NOT NULL REFERENCES credit_notes (id),
            position integer NOT NULL,
            type text NOT NULL CHECK (type IN ('invoice_line_item', 'custom_line_item')),
            invoice_line_item text,
            description text,
            quantity bigint,
            unit_amount bigint,
            amount bigint NOT NULL CHECK (amount > 0),
            taxes jsonb NOT NULL DEFAULT '{"discount": 0, "taxes": []}',
            UNIQUE (credit_note_id, position)
        );

        CREATE TABLE credit_note_number_counters (
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            financial_year integer NOT NULL,
            last_number bigint NOT NULL,
            PRIMARY KEY (merchant_id, livemode, financial_year)
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE credit_note_number_counters;
        DROP TABLE credit_note_lines;
        DROP TABLE credit_notes;
        ALTER TABLE invoices DROP COLUMN post_payment_credit_notes_amount;
        ALTER TABLE invoices DROP COLUMN pre_payment_credit_notes_amount;
        ALTER TABLE invoices DROP COLUMN ending_balance;
        ALTER TABLE invoices DROP COLUMN starting_balance;
        DROP TABLE customer_balance_transactions;
        ALTER TABLE customers DROP COLUMN currency;
        ALTER TABLE customers DROP COLUMN balance;
        """
    )
