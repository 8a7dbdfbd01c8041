"""Billing: subscriptions and their items (issue 18, items 5 and 6).

- ``subscriptions``: Stripe's Subscription. ``status`` follows
  ``billing.subscriptions.domain.TRANSITIONS``; periods follow ``billing_cycle_anchor`` by
  ``interval`` times ``interval_count`` (every item's price has the same). ``period_index`` is the
  current period's index from the anchor (-1 for a trial or a stub before it): the renewal of
  period ``k`` is invoiced once, whoever runs it (the invoice's ``(subscription_id,
  subscription_period)`` is unique).
- ``subscription_items``: a price and a quantity on a subscription; the price's amount and its
  product's name are copied at the time they were set (what the next invoice bills).
- ``invoices`` gains the subscription it bills and the period index it bills for.

Revision ID: 0040
Revises: 0037
Create Date: 2027-01-20
"""

from __future__ import annotations

from alembic import op

revision = "0040"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE subscriptions (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            customer_id text NOT NULL,
            status text NOT NULL CHECK (status IN ('incomplete', 'incomplete_expired',
                'trialing', 'active', 'past_due', 'unpaid', 'canceled', 'paused')),
            collection_method text NOT NULL
                CHECK (collection_method IN ('charge_automatically', 'send_invoice')),
            days_until_due integer CHECK (days_until_due >= 0),
            default_payment_method_id text,
            currency text NOT NULL,
            interval text NOT NULL CHECK (interval IN ('day', 'week', 'month', 'year')),
            interval_count integer NOT NULL CHECK (interval_count > 0),
            billing_cycle_anchor timestamptz NOT NULL,
            period_index integer NOT NULL CHECK (period_index >= -1),
            current_period_start timestamptz NOT NULL,
            current_period_end timestamptz NOT NULL,
            trial_start timestamptz,
            trial_end timestamptz,
            cancel_at_period_end boolean NOT NULL DEFAULT false,
            cancel_at timestamptz,
            canceled_at timestamptz,
            ended_at timestamptz,
            cancellation_reason text,
            latest_invoice_id text,
            -- Dunning (billing/subscriptions/dunning.py): the latest invoice's first failed
            -- charge, the retries made since, and when the next one is charged.
            first_failure_at timestamptz,
            retries_made integer NOT NULL DEFAULT 0 CHECK (retries_made >= 0),
            next_retry_at timestamptz,
            metadata jsonb NOT NULL DEFAULT '{}',
            test_clock text,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            CHECK (current_period_end > current_period_start),
            CHECK ((status IN ('canceled', 'incomplete_expired')) = (ended_at IS NOT NULL))
        );
        CREATE INDEX ix_subscriptions_scope ON subscriptions (merchant_id, livemode, id DESC);
        CREATE INDEX ix_subscriptions_customer
            ON subscriptions (merchant_id, livemode, customer_id, id DESC);
        -- What a test clock's advance looks for: its live subscriptions whose period ends.
        CREATE INDEX ix_subscriptions_clock ON subscriptions (test_clock, current_period_end)
            WHERE test_clock IS NOT NULL AND ended_at IS NULL;

        CREATE TABLE subscription_items (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            subscription_id text NOT NULL REFERENCES subscriptions (id),
            price_id text NOT NULL,
            product_id text NOT NULL,
            product_name text NOT NULL,
            unit_amount bigint NOT NULL CHECK (unit_amount >= 0),
            quantity bigint NOT NULL CHECK (quantity >= 0),
            metadata jsonb NOT NULL DEFAULT '{}',
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            -- Stripe: a price appears once on a subscription.
            UNIQUE (subscription_id, price_id)
        );
        CREATE INDEX ix_subscription_items_scope
            ON subscription_items (merchant_id, livemode, id DESC);

        ALTER TABLE invoices ADD COLUMN subscription_id text REFERENCES subscriptions (id);
        ALTER TABLE invoices ADD COLUMN subscription_period integer;
        -- A subscription's period is invoiced once: the renewal, run twice, finds it.
        CREATE UNIQUE INDEX ix_invoices_subscription_period
            ON invoices (subscription_id, subscription_period) WHERE subscription_id IS NOT NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX ix_invoices_subscription_period;
        ALTER TABLE invoices DROP COLUMN subscription_period;
        ALTER TABLE invoices DROP COLUMN subscription_id;
        DROP TABLE subscription_items;
        DROP TABLE subscriptions;
        """
    )
