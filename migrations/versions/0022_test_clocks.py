"""Test clocks: the clocks, customers attached to one, and balance transactions on one.

A test clock is test mode only (a CHECK). A customer names its clock (``customers.test_clock``,
set at creation only, as Stripe's); a balance transaction of a payment for such a customer names
it too, so the real-time job that makes funds available leaves it to the clock's advances.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-24
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
        CREATE TABLE test_clocks (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL CHECK (NOT livemode),
            name text,
            frozen_time timestamptz NOT NULL,
            status text NOT NULL CHECK (status IN ('ready', 'advancing', 'internal_failure')),
            -- Where an advance is going: set exactly while advancing.
            target_frozen_time timestamptz,
            created_at timestamptz NOT NULL,
            deletes_after timestamptz NOT NULL,
            deleted_at timestamptz,
            CHECK ((status = 'advancing') = (target_frozen_time IS NOT NULL)),
            CHECK (target_frozen_time IS NULL OR target_frozen_time > frozen_time)
        );
        CREATE INDEX ix_test_clocks_scope ON test_clocks (merchant_id, livemode, id DESC);
        -- What the expiry sweep reads: clocks past their deletes_after.
        CREATE INDEX ix_test_clocks_expiring ON test_clocks (deletes_after)
            WHERE deleted_at IS NULL;

        ALTER TABLE customers ADD COLUMN test_clock text;
        CREATE INDEX ix_customers_test_clock ON customers (test_clock)
            WHERE test_clock IS NOT NULL;

        ALTER TABLE balance_transactions ADD COLUMN test_clock text;
        -- What a clock's advance reads: its pending funds in the order they become available.
        CREATE INDEX ix_balance_transactions_clock_due
            ON balance_transactions (test_clock, available_on)
            WHERE status = 'pending' AND test_clock IS NOT NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX ix_balance_transactions_clock_due;
        ALTER TABLE balance_transactions DROP COLUMN test_clock;
        DROP INDEX ix_customers_test_clock;
        ALTER TABLE customers DROP COLUMN test_clock;
        DROP TABLE test_clocks;
        """
    )
