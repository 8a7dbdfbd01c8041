"""SetupIntents and saving payment methods for later (issue 17, item 1).

- ``setup_intents``: Stripe's SetupIntent. A confirmation asks the card network for a
  zero-amount verification (``rail_operation = 'verify'``, its request id the attempt's id,
  ``latest_attempt_id``) after a recovery point, as a payment's authorization is asked; while it
  is set the intent is busy and ``next_check_at`` says when the reconciliation job asks again.
- ``sandbox_rail_operations``: the card network's ``verify`` operation (amount 0, no money).
- ``payment_methods``: ``allow_redisplay`` and the network transaction id of the verification
  or payment that set the card up for off-session use (the stored credential a later
  merchant-initiated payment names).
- ``customers``: ``invoice_settings.default_payment_method``.
- ``payment_intents``: ``setup_future_usage`` and whether the last confirmation was
  ``off_session``.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-20
"""

from __future__ import annotations

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE setup_intents (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            status text NOT NULL CHECK (status IN ('requires_payment_method',
                'requires_confirmation', 'requires_action', 'processing', 'succeeded',
                'canceled')),
            usage text NOT NULL CHECK (usage IN ('on_session', 'off_session')),
            customer_id text,
            payment_method_id text,
            payment_method_types text[] NOT NULL,
            description text,
            client_secret text NOT NULL,
            return_url text,
            next_action jsonb,
            last_setup_error jsonb,
            cancellation_reason text CHECK (cancellation_reason IN ('abandoned', 'duplicate',
                'requested_by_customer')),
            canceled_at timestamptz,
            latest_attempt_id text,
            rail_operation text CHECK (rail_operation IN ('verify')),
            rail_reference text,
            next_check_at timestamptz,
            metadata jsonb NOT NULL DEFAULT '{}',
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            CHECK (rail_operation IS NULL
                OR (latest_attempt_id IS NOT NULL AND next_check_at IS NOT NULL)),
            CHECK ((status = 'canceled') = (canceled_at IS NOT NULL))
        );
        CREATE INDEX ix_setup_intents_scope ON setup_intents (merchant_id, livemode, id DESC);
        CREATE INDEX ix_setup_intents_customer
            ON setup_intents (merchant_id, livemode, customer_id, id DESC)
            WHERE customer_id IS NOT NULL;
        -- What a rail's callback names: the attempt (its request id).
        CREATE UNIQUE INDEX ix_setup_intents_attempt
            ON setup_intents (latest_attempt_id) WHERE latest_attempt_id IS NOT NULL;
        CREATE INDEX ix_setup_intents_due
            ON setup_intents (next_check_at) WHERE next_check_at IS NOT NULL;

        ALTER TABLE sandbox_rail_operations
            DROP CONSTRAINT sandbox_rail_operations_operation_check,
            ADD CONSTRAINT sandbox_rail_operations_operation_check CHECK (
                operation IN ('authorize', 'capture', 'void', 'refund', 'push', 'dispute', 'verify')
            ),
            DROP CONSTRAINT sandbox_rail_operations_parent_check,
            ADD CONSTRAINT sandbox_rail_operations_parent_check
                CHECK ((operation IN ('authorize', 'push', 'verify')) = (parent_reference IS NULL)),
            ADD CONSTRAINT sandbox_rail_operations_verify_check
                CHECK (operation <> 'verify' OR (rail = 'card' AND amount_minor = 0));

        ALTER TABLE payment_methods
            ADD COLUMN allow_redisplay text NOT NULL DEFAULT 'unspecified'
                CHECK (allow_redisplay IN ('always', 'limited', 'unspecified')),
            ADD COLUMN off_session_network_transaction_id text;

        ALTER TABLE customers ADD COLUMN default_payment_method_id text;

        ALTER TABLE payment_intents
            ADD COLUMN setup_future_usage text
                CHECK (setup_future_usage IN ('on_session', 'off_session')),
            ADD COLUMN off_session boolean NOT NULL DEFAULT false;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE payment_intents DROP COLUMN off_session, DROP COLUMN setup_future_usage;
        ALTER TABLE customers DROP COLUMN default_payment_method_id;
        ALTER TABLE payment_methods
            DROP COLUMN off_session_network_transaction_id,
            DROP COLUMN allow_redisplay;
        DELETE FROM sandbox_rail_operations WHERE operation = 'verify';
        ALTER TABLE sandbox_rail_operations
            DROP CONSTRAINT sandbox_rail_operations_verify_check,
            DROP CONSTRAINT sandbox_rail_operations_parent_check,
            ADD CONSTRAINT sandbox_rail_operations_parent_check
                CHECK ((operation IN ('authorize', 'push')) = (parent_reference IS NULL)),
            DROP CONSTRAINT sandbox_rail_operations_operation_check,
            ADD CONSTRAINT sandbox_rail_operations_operation_check
                CHECK (operation IN ('authorize', 'capture', 'void', 'refund', 'push', 'dispute'));
        DROP TABLE setup_intents;
        """
    )
