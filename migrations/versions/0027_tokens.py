"""Tokens (Stripe's single-use card tokens, ``tok_…``), refunds' ``requires_action``, and
incremental authorization of a held charge.

A token's card is kept as a payment method (the same vault: the number under its own data key,
sealed by the ring; no CVC), never attached until the token is used; ``card_id`` is the
``card_…`` id the token object shows. ``used`` flips once, when a charge or a payment method
consumes the token. Refunds may be ``requires_action`` (the one status a refund is canceled
from, as Stripe's).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE tokens (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            type text NOT NULL CHECK (type = 'card'),
            payment_method_id text NOT NULL REFERENCES payment_methods (id),
            card_id text NOT NULL UNIQUE,
            client_ip text,
            used boolean NOT NULL DEFAULT false,
            used_at timestamptz,
            created_at timestamptz NOT NULL,
            CHECK (used = (used_at IS NOT NULL))
        );
        CREATE INDEX ix_tokens_scope ON tokens (merchant_id, livemode, id DESC);

        -- Stripe's refund statuses: requires_action (a refund waiting for the customer, the
        -- only one that can be canceled) joins the others.
        ALTER TABLE refunds DROP CONSTRAINT refunds_status_check;
        ALTER TABLE refunds ADD CONSTRAINT refunds_status_check CHECK (
            status IN ('pending', 'requires_action', 'succeeded', 'failed', 'canceled')
        );

        -- Incremental authorization: a held charge's authorization raised on its rail (the rail
        -- operation 'increment', asked between phases like a capture), and how many times, which
        -- names its current ledger hold (payments.postings.hold_id).
        ALTER TABLE charges
            ADD COLUMN authorization_increments integer NOT NULL DEFAULT 0
                CHECK (authorization_increments >= 0),
            DROP CONSTRAINT charges_rail_operation_check,
            ADD CONSTRAINT charges_rail_operation_check
                CHECK (rail_operation IN ('authorize', 'capture', 'increment')),
            DROP CONSTRAINT ck_charges_capture_amount,
            ADD CONSTRAINT ck_charges_capture_amount CHECK (
                (rail_operation IN ('capture', 'increment')) = (rail_operation_amount IS NOT NULL)
            );
        ALTER TABLE sandbox_rail_operations
            DROP CONSTRAINT sandbox_rail_operations_operation_check,
            ADD CONSTRAINT sandbox_rail_operations_operation_check
                CHECK (operation IN (
                    'authorize', 'capture', 'void', 'refund', 'push', 'dispute', 'verify',
                    'increment'
                ));
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE tokens;
        ALTER TABLE sandbox_rail_operations
            DROP CONSTRAINT sandbox_rail_operations_operation_check,
            ADD CONSTRAINT sandbox_rail_operations_operation_check
                CHECK (operation IN (
                    'authorize', 'capture', 'void', 'refund', 'push', 'dispute', 'verify'
                ));
        ALTER TABLE charges
            DROP CONSTRAINT ck_charges_capture_amount,
            ADD CONSTRAINT ck_charges_capture_amount
                CHECK ((rail_operation = 'capture') = (rail_operation_amount IS NOT NULL)),
            DROP CONSTRAINT charges_rail_operation_check,
            ADD CONSTRAINT charges_rail_operation_check
                CHECK (rail_operation IN ('authorize', 'capture')),
            DROP COLUMN authorization_increments;
        ALTER TABLE refunds DROP CONSTRAINT refunds_status_check;
        ALTER TABLE refunds ADD CONSTRAINT refunds_status_check
            CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled'));
        """
    )
