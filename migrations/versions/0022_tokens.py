"""Tokens (Stripe's single-use card tokens, ``tok_…``), and refunds' ``requires_action``.

A token's card is kept as a payment method (the same vault: the number under its own data key,
sealed by the ring; no CVC), never attached until the token is used; ``card_id`` is the
``card_…`` id the token object shows. ``used`` flips once, when a charge or a payment method
consumes the token. Refunds may be ``requires_action`` (the one status a refund is canceled
from, as Stripe's).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
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
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE tokens;
        ALTER TABLE refunds DROP CONSTRAINT refunds_status_check;
        ALTER TABLE refunds ADD CONSTRAINT refunds_status_check
            CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled'));
        """
    )
