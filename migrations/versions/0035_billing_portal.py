"""The billing customer portal (issue 18, item 7).

- ``billing_portal_configurations``: Stripe's portal configuration (``bpc_…``): which features the
  portal offers and the business profile it shows. At most one is the default per merchant and
  mode (the partial unique index): it is made on first use, and two first uses at once make one.
- ``billing_portal_sessions``: Stripe's portal session (``bps_…``). Its link is a bearer
  capability: a random token of which only a keyed fingerprint (HMAC under the key ring) is kept,
  opened at most once before ``link_expires_at``. Opening it starts the visit, whose random
  secret lives in the browser's cookie and here only as its keyed fingerprint, until
  ``visit_expires_at``.
- ``billing_portal_actions``: each form the portal page posted, by the form's one-time id (the
  caller-chosen idempotency key of a page's POST): what it did, so that a form submitted twice
  does it once, and the return from 3-D Secure finds the card it was saving.

Revision ID: 0035
Revises: 0028
Create Date: 2026-12-21
"""

from __future__ import annotations

from alembic import op

revision = "0035"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE billing_portal_configurations (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            active boolean NOT NULL,
            is_default boolean NOT NULL,
            name text,
            default_return_url text,
            business_profile jsonb NOT NULL CHECK (jsonb_typeof(business_profile) = 'object'),
            features jsonb NOT NULL CHECK (jsonb_typeof(features) = 'object'),
            metadata jsonb NOT NULL DEFAULT '{}',
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            -- Sessions are made with the default when none is named: it cannot be switched off.
            CHECK (active OR NOT is_default)
        );
        CREATE INDEX ix_billing_portal_configurations_scope
            ON billing_portal_configurations (merchant_id, livemode, id DESC);
        CREATE UNIQUE INDEX ix_billing_portal_configurations_default
            ON billing_portal_configurations (merchant_id, livemode) WHERE is_default;

        CREATE TABLE billing_portal_sessions (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            customer_id text NOT NULL,
            configuration_id text NOT NULL REFERENCES billing_portal_configurations (id),
            locale text,
            return_url text,
            link_fingerprint bytea NOT NULL,
            link_expires_at timestamptz NOT NULL,
            opened_at timestamptz,
            visit_fingerprint bytea,
            visit_expires_at timestamptz,
            created_at timestamptz NOT NULL,
            CHECK ((opened_at IS NULL) = (visit_fingerprint IS NULL)),
            CHECK ((opened_at IS NULL) = (visit_expires_at IS NULL))
        );
        CREATE UNIQUE INDEX ix_billing_portal_sessions_link
            ON billing_portal_sessions (link_fingerprint);
        CREATE INDEX ix_billing_portal_sessions_customer
            ON billing_portal_sessions (merchant_id, livemode, customer_id, id DESC);

        CREATE TABLE billing_portal_actions (
            session_id text NOT NULL REFERENCES billing_portal_sessions (id),
            form_id text NOT NULL,
            kind text NOT NULL CHECK (kind IN ('add_card', 'set_default',
                'remove_payment_method', 'cancel_subscription', 'switch_subscription')),
            subject_id text,
            setup_intent_id text,
            created_at timestamptz NOT NULL,
            PRIMARY KEY (session_id, form_id)
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE billing_portal_actions;
        DROP TABLE billing_portal_sessions;
        DROP TABLE billing_portal_configurations;
        """
    )
