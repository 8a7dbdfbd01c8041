"""Payouts (issue 20, part 3): ``payouts``, Stripe's payout objects, and ``payout_schedules``,
a merchant's payout schedule per mode (Stripe's ``settings.payouts.schedule``).

- ``payout_schedules`` is also the per-merchant lock of payouts: creating one takes the row
  ``FOR UPDATE`` before reading the available balance, so two payouts of one balance never
  overdraw it (no row shared by all merchants is locked).
- ``payouts.next_check_at``: when the job looks at the payout next (its cooling hold ends, a
  rail answer never applied, a deemed credit to confirm); null once final.
- ``payouts.rail_requested_at``: the rail was (or is being) asked; from then on it cannot be
  canceled.
- ``payouts.schedule_period``: which period an automatic payout pays (unique: a window, an ISO
  week or a month is paid once).

Revision ID: 0056
Revises: 0053
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0056"
down_revision = "0053"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE payout_schedules (
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            interval text NOT NULL
                CHECK (interval IN ('manual', 'daily', 'weekly', 'monthly')),
            delay_days integer NOT NULL CHECK (delay_days BETWEEN 0 AND 2),
            weekly_anchor text,
            monthly_anchor integer CHECK (monthly_anchor BETWEEN 1 AND 31),
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (merchant_id, livemode)
        );
        CREATE TABLE payouts (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            amount bigint NOT NULL CHECK (amount > 0),
            currency text NOT NULL,
            status text NOT NULL
                CHECK (status IN ('pending', 'in_transit', 'paid', 'failed', 'canceled')),
            automatic boolean NOT NULL,
            method text NOT NULL,
            rail text NOT NULL,
            destination text NOT NULL,
            description text,
            statement_descriptor text,
            metadata jsonb NOT NULL DEFAULT '{}',
            balance_transaction_id text,
            failure_balance_transaction_id text,
            failure_code text,
            failure_message text,
            original_payout_id text,
            reversed_by_id text,
            settlement_window_id text,
            schedule_period text,
            rail_reference text,
            utr text,
            arrival_at timestamptz NOT NULL,
            held_until timestamptz,
            rail_requested_at timestamptz,
            next_check_at timestamptz,
            checks_made integer NOT NULL DEFAULT 0,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE INDEX payouts_merchant_created ON payouts (merchant_id, livemode, created_at);
        CREATE INDEX payouts_due ON payouts (next_check_at) WHERE next_check_at IS NOT NULL;
        CREATE UNIQUE INDEX payouts_one_per_period
            ON payouts (merchant_id, livemode, schedule_period)
            WHERE schedule_period IS NOT NULL;
        CREATE UNIQUE INDEX payouts_one_reversal ON payouts (original_payout_id)
            WHERE original_payout_id IS NOT NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE payouts;
        DROP TABLE payout_schedules;
        """
    )
