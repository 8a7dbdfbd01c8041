"""Billing: dunning wired (issue 18, item 6): each merchant's dunning settings, and the notices
a subscription sends before its charges.

- ``subscription_dunning_settings``: a merchant's retry schedule (offsets in seconds after the
  first failure), the final action, what becomes of the invoice, the mandate category (RBI's
  authentication limit); one row per merchant and mode, absent until the merchant sets one
  (Stripe's recommended schedule applies then).
- ``subscription_notices``: one row per notice a subscription owes its customer, keyed so it is
  sent once whoever runs its job: the pre-debit notification of each try of a card charge
  (``renewal:<subscription>:<period>`` before the invoice exists, ``retry:<invoice>:<n>``), and
  the trial's end three days ahead (``trial_will_end:<subscription>:<trial end>``). A pre-debit
  notice keeps when it was really sent (``notified_at``): its try is charged no sooner than
  RBI's notice after it (``charge_at``), and ``charged_at`` records that the try was made (or
  counted as failed, when it needed the customer's authentication).
- ``notifications.kind`` gains ``pre_debit_notice``.

Revision ID: 0042
Revises: 0040
Create Date: 2027-01-22
"""

from __future__ import annotations

from alembic import op

revision = "0042"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE subscription_dunning_settings (
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            retry_offsets_s jsonb NOT NULL CHECK (jsonb_typeof(retry_offsets_s) = 'array'),
            final_action text NOT NULL
                CHECK (final_action IN ('cancel', 'mark_unpaid', 'leave_past_due')),
            final_invoice text NOT NULL
                CHECK (final_invoice IN ('leave_open', 'mark_uncollectible')),
            mandate_category text NOT NULL CHECK (mandate_category IN
                ('standard', 'mutual_fund', 'insurance_premium', 'credit_card_bill')),
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (merchant_id, livemode)
        );

        CREATE TABLE subscription_notices (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            subscription_id text NOT NULL REFERENCES subscriptions (id),
            key text NOT NULL UNIQUE,
            kind text NOT NULL CHECK (kind IN ('pre_debit', 'trial_will_end')),
            attempt integer CHECK (attempt >= 0),
            period_index integer,
            invoice_id text,
            status text NOT NULL CHECK (status IN ('scheduled', 'sent', 'skipped')),
            planned_at timestamptz NOT NULL,
            notify_at timestamptz NOT NULL,
            notified_at timestamptz,
            needs_authentication boolean NOT NULL DEFAULT false,
            amount_due bigint CHECK (amount_due >= 0),
            charge_at timestamptz,
            charged_at timestamptz,
            test_clock text,
            created_at timestamptz NOT NULL,
            CHECK ((status = 'sent') = (notified_at IS NOT NULL)),
            CHECK (kind = 'trial_will_end' OR attempt IS NOT NULL)
        );
        CREATE INDEX ix_subscription_notices_subscription
            ON subscription_notices (subscription_id, created_at);
        -- What a test clock's advance looks for: notices to send, tries to charge.
        CREATE INDEX ix_subscription_notices_clock ON subscription_notices (test_clock, notify_at)
            WHERE test_clock IS NOT NULL AND charged_at IS NULL;

        ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
        ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
            CHECK (kind IN ('receipt', 'invoice', 'credit_note', 'pre_debit_notice'));
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DELETE FROM notification_sandbox_emails WHERE notification_id IN (
            SELECT id FROM notifications WHERE kind = 'pre_debit_notice'
        );
        DELETE FROM notifications WHERE kind = 'pre_debit_notice';
        ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
        ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
            CHECK (kind IN ('receipt', 'invoice', 'credit_note'));
        DROP TABLE subscription_notices;
        DROP TABLE subscription_dunning_settings;
        """
    )
