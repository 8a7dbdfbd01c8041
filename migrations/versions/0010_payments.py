"""Payment intents, charges, balance transactions and refunds.

Money itself is in the ledger (transfers named after these rows); these tables hold what the API
shows and where each payment stands with its rail. ``charges.next_check_at`` is set whenever a
charge waits for its rail, so the reconciliation job always has a scheduled status check for it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE payment_intents (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            amount bigint NOT NULL CHECK (amount > 0),
            currency text NOT NULL,
            status text NOT NULL,
            capture_method text NOT NULL,
            customer_id text,
            payment_method_id text,
            payment_method_types text[] NOT NULL,
            description text,
            receipt_email text,
            statement_descriptor text,
            return_url text,
            client_secret text NOT NULL,
            amount_capturable bigint NOT NULL DEFAULT 0,
            amount_received bigint NOT NULL DEFAULT 0,
            latest_charge_id text,
            last_payment_error jsonb,
            next_action jsonb,
            cancellation_reason text,
            canceled_at timestamptz,
            metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE INDEX ix_payment_intents_scope ON payment_intents (merchant_id, livemode, id DESC);
        CREATE INDEX ix_payment_intents_customer ON payment_intents (customer_id, id DESC)
            WHERE customer_id IS NOT NULL;

        CREATE TABLE charges (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            payment_intent_id text NOT NULL,
            customer_id text,
            payment_method_id text NOT NULL,
            payment_method_details jsonb NOT NULL,
            rail text NOT NULL,
            rail_reference text,
            amount bigint NOT NULL CHECK (amount > 0),
            amount_captured bigint NOT NULL DEFAULT 0,
            amount_refunded bigint NOT NULL DEFAULT 0,
            currency text NOT NULL,
            status text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
            authorized boolean NOT NULL DEFAULT false,
            captured boolean NOT NULL DEFAULT false,
            voided boolean NOT NULL DEFAULT false,
            capture_requested boolean NOT NULL,
            failure_code text,
            failure_message text,
            outcome jsonb,
            rail_details jsonb NOT NULL DEFAULT '{}'::jsonb,
            balance_transaction_id text,
            description text,
            metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
            checks_made integer NOT NULL DEFAULT 0,
            next_check_at timestamptz,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            CHECK (amount_captured <= amount),
            CHECK (amount_refunded <= amount_captured),
            CHECK (status <> 'pending' OR next_check_at IS NOT NULL OR rail_reference IS NULL)
        );
        CREATE INDEX ix_charges_scope ON charges (merchant_id, livemode, id DESC);
        CREATE INDEX ix_charges_payment_intent ON charges (payment_intent_id, id DESC);
        CREATE UNIQUE INDEX uq_charges_rail_reference ON charges (rail, rail_reference);
        CREATE INDEX ix_charges_due_checks ON charges (next_check_at) WHERE next_check_at IS NOT NULL;

        CREATE TABLE refunds (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            charge_id text NOT NULL,
            payment_intent_id text NOT NULL,
            amount bigint NOT NULL CHECK (amount > 0),
            currency text NOT NULL,
            status text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled')),
            reason text,
            failure_reason text,
            rail text NOT NULL,
            rail_reference text,
            balance_transaction_id text,
            failure_balance_transaction_id text,
            metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
            checks_made integer NOT NULL DEFAULT 0,
            next_check_at timestamptz,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE INDEX ix_refunds_scope ON refunds (merchant_id, livemode, id DESC);
        CREATE INDEX ix_refunds_charge ON refunds (charge_id, id DESC);
        CREATE UNIQUE INDEX uq_refunds_rail_reference ON refunds (rail, rail_reference);
        CREATE INDEX ix_refunds_due_checks ON refunds (next_check_at) WHERE next_check_at IS NOT NULL;

        CREATE TABLE balance_transactions (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            amount bigint NOT NULL,
            fee bigint NOT NULL,
            net bigint NOT NULL,
            currency text NOT NULL,
            type text NOT NULL,
            reporting_category text NOT NULL,
            status text NOT NULL CHECK (status IN ('pending', 'available')),
            available_on timestamptz NOT NULL,
            source text NOT NULL,
            description text,
            created_at timestamptz NOT NULL,
            CHECK (net = amount - fee)
        );
        CREATE INDEX ix_balance_transactions_scope
            ON balance_transactions (merchant_id, livemode, id DESC);
        CREATE INDEX ix_balance_transactions_due ON balance_transactions (available_on)
            WHERE status = 'pending';
        CREATE INDEX ix_balance_transactions_source ON balance_transactions (source);
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE balance_transactions; DROP TABLE refunds; DROP TABLE charges;"
        " DROP TABLE payment_intents;"
    )
