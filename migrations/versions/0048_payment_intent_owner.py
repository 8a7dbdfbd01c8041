"""A PaymentIntent made by another object of ours names it (issue 18 and 19).

``payment_intents.owner``: the invoice (``in_…``) or Checkout Session (``cs_…``) that made the
intent, else null. Payments call only that owner's listeners when the intent's events are
recorded (a plain payment is heard by none: no lookup on the paid intent's path), and the merchant
API cancels or updates an owned intent only through its owner, as Stripe refuses to cancel an
invoice's PaymentIntent directly.

Revision ID: 0048
Revises: 0045
Create Date: 2027-02-02
"""

from __future__ import annotations

from alembic import op

revision = "0048"
down_revision = "0045"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE payment_intents ADD COLUMN owner text")
    # Intents made before this revision: their invoice or session says whose they are.
    op.execute(
        "UPDATE payment_intents p SET owner = i.id FROM invoices i WHERE i.payment_intent_id = p.id"
    )
    op.execute(
        "UPDATE payment_intents p SET owner = s.id FROM checkout_sessions s"
        " WHERE s.payment_intent_id = p.id"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE payment_intents DROP COLUMN owner")
