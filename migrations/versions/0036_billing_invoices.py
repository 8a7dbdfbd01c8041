"""Billing: invoices and invoice items (issue 18, item 2).

- ``invoices``: Stripe's Invoice. ``status`` moves ``draft → open → paid | void |
  uncollectible`` (``billing.invoices.domain``). A draft's totals are kept up to date as its
  items change; ``number`` is given at finalization (unique per merchant and mode),
  ``payment_intent_id`` is the PaymentIntent the invoice is paid through (one per invoice, made
  at finalization), ``test_clock`` the clock of its customer (its timers follow the clock).
  The customer and the merchant are copied as they were at finalization.
- ``invoice_items``: Stripe's InvoiceItem, pending (no invoice) or on an invoice, where it is
  also the invoice's line (``line_id``, ``il_…``, at ``line_position``). Amounts are integers
  in minor units.
- ``invoice_number_counters``: the last number given per merchant, mode and Indian financial
  year (it starts on 1 April): locked only by that merchant's finalizations, taken in the
  finalization's transaction, so numbers are consecutive without gaps.
- ``invoice_settings``: a merchant's invoice number prefix, per mode.

Revision ID: 0036
Revises: 0035
Create Date: 2027-01-10
"""

from __future__ import annotations

from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE invoices (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            customer_id text NOT NULL,
            status text NOT NULL
                CHECK (status IN ('draft', 'open', 'paid', 'void', 'uncollectible')),
            collection_method text NOT NULL
                CHECK (collection_method IN ('charge_automatically', 'send_invoice')),
            currency text NOT NULL,
            auto_advance boolean NOT NULL,
            automatically_finalizes_at timestamptz,
            billing_reason text NOT NULL,
            description text,
            footer text,
            metadata jsonb NOT NULL DEFAULT '{}',
            default_payment_method_id text,
            days_until_due integer CHECK (days_until_due >= 0),
            due_date timestamptz,
            number text,
            subtotal bigint NOT NULL DEFAULT 0,
            total bigint NOT NULL DEFAULT 0,
            amount_due bigint NOT NULL DEFAULT 0 CHECK (amount_due >= 0),
            amount_paid bigint NOT NULL DEFAULT 0 CHECK (amount_paid >= 0),
            paid_out_of_band boolean NOT NULL DEFAULT false,
            payment_intent_id text UNIQUE,
            attempt_count integer NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
            attempted boolean NOT NULL DEFAULT false,
            next_payment_attempt timestamptz,
            account_name text,
            customer_name text,
            customer_email text,
            customer_phone text,
            customer_address jsonb,
            customer_shipping jsonb,
            test_clock text,
            period_start timestamptz NOT NULL,
            period_end timestamptz NOT NULL,
            finalized_at timestamptz,
            paid_at timestamptz,
            voided_at timestamptz,
            marked_uncollectible_at timestamptz,
            sent_at timestamptz,
            overdue_at timestamptz,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            CHECK ((status = 'draft') = (finalized_at IS NULL)),
            CHECK ((status = 'draft') = (number IS NULL)),
            CHECK ((status = 'paid') = (paid_at IS NOT NULL)),
            CHECK ((status = 'void') = (voided_at IS NOT NULL)),
            CHECK (amount_paid <= amount_due),
            CHECK (collection_method = 'send_invoice' OR due_date IS NULL),
            CHECK (auto_advance OR automatically_finalizes_at IS NULL)
        );
        CREATE INDEX ix_invoices_scope ON invoices (merchant_id, livemode, id DESC);
        CREATE INDEX ix_invoices_customer ON invoices (merchant_id, livemode, customer_id, id DESC);
        -- GST: an invoice number is given once per merchant (and mode).
        CREATE UNIQUE INDEX ix_invoices_number
            ON invoices (merchant_id, livemode, number) WHERE number IS NOT NULL;
        -- What a test clock's advance looks for: its drafts to finalize, its open invoices due.
        CREATE INDEX ix_invoices_clock ON invoices (test_clock, status) WHERE test_clock IS NOT NULL;

        CREATE TABLE invoice_items (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            customer_id text NOT NULL,
            invoice_id text REFERENCES invoices (id),
            line_id text UNIQUE,
            -- The line's place on its invoice (1, 2, …): lines are listed in the order added.
            line_position integer CHECK (line_position > 0),
            amount bigint NOT NULL,
            currency text NOT NULL,
            unit_amount bigint NOT NULL,
            quantity bigint NOT NULL CHECK (quantity >= 0),
            description text,
            discountable boolean NOT NULL DEFAULT true,
            period_start timestamptz NOT NULL,
            period_end timestamptz NOT NULL,
            metadata jsonb NOT NULL DEFAULT '{}',
            test_clock text,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            CHECK (amount = unit_amount * quantity),
            CHECK (period_end >= period_start),
            CHECK ((invoice_id IS NULL) = (line_id IS NULL)),
            CHECK ((invoice_id IS NULL) = (line_position IS NULL))
        );
        CREATE INDEX ix_invoice_items_scope ON invoice_items (merchant_id, livemode, id DESC);
        CREATE UNIQUE INDEX ix_invoice_items_invoice ON invoice_items (invoice_id, line_position)
            WHERE invoice_id IS NOT NULL;
        -- A customer's pending items: what the next invoice may take in.
        CREATE INDEX ix_invoice_items_pending ON invoice_items (customer_id, id)
            WHERE invoice_id IS NULL;

        CREATE TABLE invoice_number_counters (
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            financial_year integer NOT NULL,
            last_number bigint NOT NULL CHECK (last_number > 0),
            PRIMARY KEY (merchant_id, livemode, financial_year)
        );

        CREATE TABLE invoice_settings (
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            number_prefix text NOT NULL
                CHECK (number_prefix ~ '^[A-Z0-9]([A-Z0-9-]{0,3}[A-Z0-9])?$'),
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (merchant_id, livemode)
        );

        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE invoice_settings;
        DROP TABLE invoice_number_counters;
        DROP TABLE invoice_items;
        DROP TABLE invoices;
        """
    )
