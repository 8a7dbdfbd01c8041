"""Settlement windows (issue 20, part 2): ``settlement_schedules``, a merchant's chosen speed
(t0 with its cut-offs, t1, t2) per mode, and ``settlement_windows``, the chain of its windows.

- A window opens at the previous one's cut-off: the chain has no gap, and at most one window of
  a merchant and mode is ``open`` (the partial unique index), so the job closes them in order.
- ``closed_late``: the window was closed more than a minute after its cut-off (a worker was down
  across it); it is closed all the same, never skipped.
- ``totals``: per currency, ``amount``, ``fee``, ``net`` and ``count`` of the balance
  transactions that became available in the window (integer minor units).

Revision ID: 0054
Revises: 0055
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0054"
down_revision = "0055"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE settlement_schedules (
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            speed text NOT NULL CHECK (speed IN ('t0', 't1', 't2')),
            cut_offs jsonb NOT NULL,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (merchant_id, livemode),
            CHECK ((speed = 't0') = (jsonb_array_length(cut_offs) > 0))
        );
        CREATE TABLE settlement_windows (
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            id text NOT NULL,
            speed text NOT NULL CHECK (speed IN ('t0', 't1', 't2')),
            opens_at timestamptz NOT NULL,
            cut_off_at timestamptz NOT NULL,
            eta timestamptz NOT NULL,
            status text NOT NULL CHECK (status IN ('open', 'closed')),
            closed_at timestamptz,
            closed_late boolean NOT NULL DEFAULT false,
            totals jsonb NOT NULL DEFAULT '[]',
            transaction_count integer NOT NULL DEFAULT 0 CHECK (transaction_count >= 0),
            created_at timestamptz NOT NULL,
            PRIMARY KEY (merchant_id, livemode, id),
            UNIQUE (merchant_id, livemode, cut_off_at),
            CHECK (opens_at < cut_off_at AND cut_off_at <= eta),
            CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
            CHECK (closed_late IS false OR status = 'closed')
        );
        CREATE UNIQUE INDEX settlement_windows_one_open
            ON settlement_windows (merchant_id, livemode) WHERE status = 'open';
        CREATE INDEX settlement_windows_due
            ON settlement_windows (cut_off_at) WHERE status = 'open';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE settlement_windows;
        DROP TABLE settlement_schedules;
        """
    )
