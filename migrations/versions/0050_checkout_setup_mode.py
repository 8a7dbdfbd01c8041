"""Checkout Sessions in setup mode: a session that saves a card for later instead of taking a
payment.

- ``mode`` may be ``setup``; such a session has no line items and amounts of 0, and its
  ``payment_status`` is always ``no_payment_required`` (Stripe's).
- ``setup_intent_id``: the SetupIntent the page makes when the customer first submits a card
  (null until then, as ``payment_intent_id`` is in payment mode); one session, one intent.
- ``setup_intent_data``: what the merchant asked the SetupIntent to carry (``description``,
  ``metadata``), kept until the intent is made.
- ``setup_intents.owner``: the object that made the intent (a Checkout Session, ``cs_…``), as
  ``payment_intents.owner`` (0048): it is canceled or updated only through its owner, and its
  events are heard by the owner's module in their transaction.

Revision ID: 0050
Revises: 0052
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0050"
down_revision = "0052"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE checkout_sessions DROP CONSTRAINT checkout_sessions_mode_check;
        ALTER TABLE checkout_sessions
            ADD CONSTRAINT checkout_sessions_mode_check CHECK (mode IN ('payment', 'setup'));
        ALTER TABLE checkout_sessions ADD COLUMN setup_intent_id text UNIQUE;
        ALTER TABLE checkout_sessions ADD COLUMN setup_intent_data jsonb;
        ALTER TABLE setup_intents ADD COLUMN owner text;
        ALTER TABLE checkout_sessions ADD CONSTRAINT checkout_sessions_setup_shape CHECK (
            mode <> 'setup'
            OR (payment_status = 'no_payment_required' AND amount_total = 0
                AND payment_intent_id IS NULL)
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DELETE FROM checkout_sessions WHERE mode = 'setup';
        ALTER TABLE setup_intents DROP COLUMN owner;
        ALTER TABLE checkout_sessions DROP CONSTRAINT checkout_sessions_setup_shape;
        ALTER TABLE checkout_sessions DROP COLUMN setup_intent_data;
        ALTER TABLE checkout_sessions DROP COLUMN setup_intent_id;
        ALTER TABLE checkout_sessions DROP CONSTRAINT checkout_sessions_mode_check;
        ALTER TABLE checkout_sessions
            ADD CONSTRAINT checkout_sessions_mode_check CHECK (mode IN ('payment'));
        """
    )
