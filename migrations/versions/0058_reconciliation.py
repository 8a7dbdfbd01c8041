"""Reconciliation, reports and files (issue 20): ``reconciliation_runs``, one per run of a
business date and mode with its counts; ``reconciliation_exceptions``, one per break found in a
rail's file; ``files`` (Stripe's File: a merchant's downloadable contents) and ``report_runs``
(Stripe's report runs, their result a file).

- An exception is unique per (mode, file, kind, key, business date): running a date again
  opens nothing twice.
- ``status`` is ``open`` or ``resolved``; a resolved one has its note, who resolved it and when.

Revision ID: 0058
Revises: 0057
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0058"
down_revision = "0057"
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
        CREATE TABLE files (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            purpose text NOT NULL,
            filename text NOT NULL,
            type text NOT NULL,
            size bigint NOT NULL CHECK (size = octet_length(contents)),
            contents bytea NOT NULL,
            created_at timestamptz NOT NULL,
            expires_at timestamptz
        );
        CREATE INDEX files_merchant ON files (merchant_id, livemode, id);
        CREATE TABLE report_runs (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            report_type text NOT NULL,
            parameters jsonb NOT NULL,
            status text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
            error text,
            result_file_id text,
            created_at timestamptz NOT NULL,
            succeeded_at timestamptz,
            CHECK ((status = 'succeeded') = (result_file_id IS NOT NULL AND succeeded_at IS NOT NULL)),
            CHECK ((status = 'failed') = (error IS NOT NULL))
        );
        CREATE INDEX report_runs_merchant ON report_runs (merchant_id, livemode, id);
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE report_runs; DROP TABLE files;"
        " DROP TABLE reconciliation_exceptions; DROP TABLE reconciliation_runs;"
    )
