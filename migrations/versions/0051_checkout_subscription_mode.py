"""Checkout Sessions in subscription mode (issue: checkout subscription mode).

- ``checkout_sessions.subscription_id`` / ``invoice_id``: the subscription a session made at
  its first pay attempt and that subscription's first invoice (whose PaymentIntent the page
  confirms); null in payment mode.
- ``checkout_sessions.subscription_data``: ``subscription_data[metadata]`` and
  ``[description]`` as given, passed to the subscription when it is made.
- ``subscriptions.save_default_payment_method``: Stripe's
  ``payment_settings[save_default_payment_method]`` (``off`` or ``on_subscription``: the
  payment method that pays the first invoice becomes the subscription's default).
- ``subscriptions.description``: Stripe's ``description``.
- ``checkout_sessions.mode`` takes ``subscription`` (and ``setup``, which another migration may
  also allow: the check is the same whichever runs last).

Revision ID: 0051
Revises: 0050
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0051"
down_revision = "0050"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE checkout_sessions
            DROP CONSTRAINT checkout_sessions_mode_check,
            ADD CONSTRAINT checkout_sessions_mode_check
                CHECK (mode IN ('payment', 'setup', 'subscription')),
            ADD COLUMN subscription_id text,
            ADD COLUMN invoice_id text,
            ADD COLUMN subscription_data jsonb;
        CREATE INDEX checkout_sessions_invoice ON checkout_sessions (invoice_id)
            WHERE invoice_id IS NOT NULL;
        ALTER TABLE subscriptions
            ADD COLUMN save_default_payment_method text NOT NULL DEFAULT 'off'
                CHECK (save_default_payment_method IN ('off', 'on_subscription')),
            ADD COLUMN description text;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE subscriptions DROP COLUMN description,
            DROP COLUMN save_default_payment_method;
        DROP INDEX checkout_sessions_invoice;
        ALTER TABLE checkout_sessions DROP COLUMN subscription_data,
            DROP COLUMN invoice_id, DROP COLUMN subscription_id;
        DELETE FROM checkout_sessions WHERE mode = 'subscription';
        ALTER TABLE checkout_sessions DROP CONSTRAINT checkout_sessions_mode_check,
            ADD CONSTRAINT checkout_sessions_mode_check CHECK (mode IN ('payment', 'setup'));
        """
    )
