"""Billing: subscriptions paused and resumed, canceled with details, restarted cycles (issue 18,
item 5).

- ``pause_collection_behavior`` / ``pause_collection_resumes_at``: Stripe's
  ``pause_collection`` (the status stays; renewals' invoices are kept as drafts, marked
  uncollectible or voided until ``resumes_at``).
- ``cancellation_comment`` / ``cancellation_feedback``: Stripe's ``cancellation_details``.
- ``missing_payment_method``: ``trial_settings[end_behavior][missing_payment_method]``, what a
  trial ending without a payment method leads to (``pause`` makes the status ``paused``).
- ``period_offset``: a change of interval or ``billing_cycle_anchor=now`` restarts the cycle at
  a new anchor, whose periods count from 0 again; an invoice's ``subscription_period`` is
  ``period_offset + period_index``, so the periods of every cycle stay invoiced once.

Revision ID: 0043
Revises: 0041
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0043"
down_revision = "0041"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE subscriptions
            ADD COLUMN pause_collection_behavior text CHECK (pause_collection_behavior IN
                ('keep_as_draft', 'mark_uncollectible', 'void')),
            ADD COLUMN pause_collection_resumes_at timestamptz,
            ADD COLUMN cancellation_comment text,
            ADD COLUMN cancellation_feedback text CHECK (cancellation_feedback IN
                ('customer_service', 'low_quality', 'missing_features', 'other',
                 'switched_service', 'too_complex', 'too_expensive', 'unused')),
            ADD COLUMN missing_payment_method text NOT NULL DEFAULT 'create_invoice'
                CHECK (missing_payment_method IN ('cancel', 'create_invoice', 'pause')),
            ADD COLUMN period_offset integer NOT NULL DEFAULT 0 CHECK (period_offset >= 0),
            ADD CHECK (pause_collection_resumes_at IS NULL
                OR pause_collection_behavior IS NOT NULL);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE subscriptions
            DROP COLUMN period_offset,
            DROP COLUMN missing_payment_method,
            DROP COLUMN cancellation_feedback,
            DROP COLUMN cancellation_comment,
            DROP COLUMN pause_collection_resumes_at,
            DROP COLUMN pause_collection_behavior;
        """
    )
