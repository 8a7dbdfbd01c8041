"""Checkout Sessions (issue 19, payment mode): ``checkout_sessions``, one row per session with
its line items (immutable after creation) as JSON.

- ``status`` open → complete | expired; ``payment_status`` unpaid | paid | no_payment_required.
- ``payment_intent_id``: made lazily, when the customer first pays on the page (Stripe's way);
  unique, since a PaymentIntent pays one session (the payment's handler finds it by it).
- ``expires_at``: 30 minutes to 24 hours after creation (the expiry job runs then).

Revision ID: 0045
Revises: 0047
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0045"
down_revision = "0047"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE checkout_sessions (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            mode text NOT NULL CHECK (mode IN ('payment')),
            status text NOT NULL CHECK (status IN ('open', 'complete', 'expired')),
            payment_status text NOT NULL
                CHECK (payment_status IN ('unpaid', 'paid', 'no_payment_required')),
            currency text NOT NULL,
            amount_subtotal bigint NOT NULL CHECK (amount_subtotal >= 0),
            amount_total bigint NOT NULL CHECK (amount_total >= 0),
            line_items jsonb NOT NULL,
            customer_id text,
            customer_email text,
            customer_creation text CHECK (customer_creation IN ('always', 'if_required')),
            client_reference_id text,
            success_url text,
            cancel_url text,
            payment_method_types jsonb NOT NULL,
            allow_promotion_codes boolean,
            payment_intent_id text UNIQUE,
            metadata jsonb NOT NULL DEFAULT '{}',
            expires_at timestamptz NOT NULL,
            completed_at timestamptz,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            CHECK ((status = 'complete') = (completed_at IS NOT NULL)),
            CHECK (payment_status <> 'paid' OR status = 'complete')
        );
        CREATE INDEX checkout_sessions_merchant_created
            ON checkout_sessions (merchant_id, livemode, id DESC);
        CREATE INDEX checkout_sessions_customer
            ON checkout_sessions (merchant_id, livemode, customer_id)
            WHERE customer_id IS NOT NULL;
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE checkout_sessions;")
