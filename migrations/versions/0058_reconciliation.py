"""Reconciliation (issue 20): ``reconciliation_runs``, one per run of a business date and mode
with its counts, and ``reconciliation_exceptions``, one per break found in a rail's file.

- An exception is unique per (mode, file, kind, key, business date): running a date again
  opens nothing twice.
- ``status`` is ``open`` or ``resolved``; a resolved one has its note, who resolved it and when.

Revision ID: 0058
Revises: 0053
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0058"
down_revision = "0053"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE reconciliation_runs (
            id text PRIMARY KEY,
            livemode boolean NOT NULL,
            business_date date NOT NULL,
            lines integer NOT NULL CHECK (lines >= 0),
            matched integer NOT NULL CHECK (matched >= 0 AND matched <= lines),
            unmatched integer NOT NULL CHECK (unmatched = lines - matched),
            missing integer NOT NULL CHECK (missing >= 0),
            mismatch_ppm integer NOT NULL CHECK (mismatch_ppm BETWEEN 0 AND 1000000),
            exceptions_opened integer NOT NULL CHECK (exceptions_opened >= 0),
            files jsonb NOT NULL,
            faults_injected jsonb NOT NULL DEFAULT '[]',
            created_at timestamptz NOT NULL
        );
        CREATE INDEX reconciliation_runs_date ON reconciliation_runs (livemode, business_date);
        CREATE TABLE reconciliation_exceptions (
            id text PRIMARY KEY,
            livemode boolean NOT NULL,
            business_date date NOT NULL,
            file text NOT NULL CHECK (file IN ('card', 'upi', 'payouts')),
            kind text NOT NULL CHECK (kind IN ('amount_mismatch', 'duplicate',
                'unknown_to_platform', 'missing_from_file', 'late')),
            key text NOT NULL,
            merchant_id text,
            object_id text,
            file_amount bigint,
            platform_amount bigint,
            currency text NOT NULL,
            status text NOT NULL CHECK (status IN ('open', 'resolved')),
            resolution_note text,
            resolved_by text,
            resolved_at timestamptz,
            run_id text NOT NULL,
            created_at timestamptz NOT NULL,
            UNIQUE (livemode, file, kind, key, business_date),
            CHECK ((status = 'resolved') = (resolved_at IS NOT NULL AND resolution_note IS NOT NULL))
        );
        CREATE INDEX reconciliation_exceptions_open
            ON reconciliation_exceptions (livemode, created_at) WHERE status = 'open';
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE reconciliation_exceptions; DROP TABLE reconciliation_runs;")
