"""Checkout Sessions' discounts and the email their page collects (issue: checkout's QR,
promotion codes and email).

- ``discounts``: Stripe's ``discounts`` list of the session, ``[{"coupon", "promotion_code"}]``
  (at most one in payment mode), with the coupon's terms kept beside each (``terms``) so the
  amounts never change under a session once shown; ``amount_discount``: what they take off.
  The redemption is counted once, when the session completes (``<session>:discount``).
- ``collected_email``: the email the hosted page asked for (the session had no ``customer``
  and no ``customer_email``): its ``customer_details.email``.

Revision ID: 0052
Revises: 0049
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0052"
down_revision = "0049"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE checkout_sessions
            ADD COLUMN discounts jsonb NOT NULL DEFAULT '[]',
            ADD COLUMN amount_discount bigint NOT NULL DEFAULT 0 CHECK (amount_discount >= 0),
            ADD COLUMN collected_email text;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE checkout_sessions
            DROP COLUMN collected_email,
            DROP COLUMN amount_discount,
            DROP COLUMN discounts;
        """
    )
