"""Disputes: a payment the card network or the UPI switch took back, and the charge's mark.

One dispute per charge (a network disputes a payment once): the unique index is what makes a
rail's repeated report open one dispute. Money is in the ledger (``<dispute>:withdrawal``,
``<dispute>:reinstatement``); this table holds what the API shows: the status, the evidence
staged and submitted, and the balance transactions that show the money moving.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE charges ADD COLUMN disputed boolean NOT NULL DEFAULT false;

        -- The sandbox network's (or switch's) report that it took a payment back: a child of
        -- the payment's authorization, under the payment's request id.
        ALTER TABLE sandbox_rail_operations
            DROP CONSTRAINT sandbox_rail_operations_operation_check,
            ADD CONSTRAINT sandbox_rail_operations_operation_check
                CHECK (operation IN ('authorize', 'capture', 'void', 'refund', 'push', 'dispute'));

        CREATE TABLE disputes (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            charge_id text NOT NULL,
            payment_intent_id text NOT NULL,
            amount bigint NOT NULL CHECK (amount > 0),
            currency text NOT NULL,
            status text NOT NULL CHECK (status IN ('warning_needs_response',
                'warning_under_review', 'warning_closed', 'needs_response', 'under_review',
                'won', 'lost')),
            reason text NOT NULL,
            network_reason_code text,
            rail text NOT NULL,
            rail_reference text NOT NULL,
            payment_method_details jsonb NOT NULL,
            evidence jsonb NOT NULL DEFAULT '{}'::jsonb,
            evidence_due_by timestamptz NOT NULL,
            submission_count integer NOT NULL DEFAULT 0 CHECK (submission_count >= 0),
            past_due boolean NOT NULL DEFAULT false,
            balance_transaction_ids text[] NOT NULL DEFAULT '{}',
            metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE UNIQUE INDEX uq_disputes_charge ON disputes (charge_id);
        CREATE INDEX ix_disputes_scope ON disputes (merchant_id, livemode, id DESC);
        CREATE INDEX ix_disputes_payment_intent ON disputes (payment_intent_id, id DESC);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE disputes;
        ALTER TABLE charges DROP COLUMN disputed;
        DELETE FROM sandbox_rail_operations WHERE operation = 'dispute';
        ALTER TABLE sandbox_rail_operations
            DROP CONSTRAINT sandbox_rail_operations_operation_check,
            ADD CONSTRAINT sandbox_rail_operations_operation_check
                CHECK (operation IN ('authorize', 'capture', 'void', 'refund', 'push'));
        """
    )
