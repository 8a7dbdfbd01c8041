"""Receipts: a charge's receipt email and number, each merchant's receipt counter, and the
notifications outbox (with the test-mode SMTP sink's copies).

``receipt_counters`` has one row per merchant and mode: a receipt number is taken from it in
the transaction that sets it on the charge, so numbers are consecutive and gap-free per merchant
and no row shared by every merchant is locked. ``notifications`` is the outbox: a row is written
in the transaction of the change that causes it, and a job sends it after commit.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE charges
            ADD COLUMN receipt_email text,
            ADD COLUMN receipt_number text;
        CREATE UNIQUE INDEX ux_charges_receipt_number
            ON charges (merchant_id, livemode, receipt_number) WHERE receipt_number IS NOT NULL;

        CREATE TABLE receipt_counters (
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            last_number bigint NOT NULL CHECK (last_number > 0),
            PRIMARY KEY (merchant_id, livemode)
        );

        CREATE TABLE notifications (
            id text PRIMARY KEY,
            merchant_id text NOT NULL,
            livemode boolean NOT NULL,
            channel text NOT NULL CHECK (channel IN ('email')),
            kind text NOT NULL CHECK (kind IN ('receipt')),
            subject_id text NOT NULL,
            recipient text NOT NULL,
            status text NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
            attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            lease_until timestamptz,
            message_id text,
            last_error text,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            sent_at timestamptz,
            -- Sent: with the message id it was sent under; sending: under a lease.
            CONSTRAINT ck_notifications_sent CHECK (
                (status = 'sent') = (message_id IS NOT NULL AND sent_at IS NOT NULL)
            ),
            CONSTRAINT ck_notifications_lease CHECK ((status = 'sending') = (lease_until IS NOT NULL))
        );
        CREATE INDEX ix_notifications_subject ON notifications (merchant_id, livemode, subject_id);

        CREATE TABLE notification_sandbox_emails (
            notification_id text PRIMARY KEY REFERENCES notifications (id),
            message_id text NOT NULL,
            envelope_from text NOT NULL,
            recipients text[] NOT NULL,
            subject text NOT NULL,
            text_body text NOT NULL,
            html_body text,
            received_at timestamptz NOT NULL
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE notification_sandbox_emails;
        DROP TABLE notifications;
        DROP TABLE receipt_counters;
        DROP INDEX ux_charges_receipt_number;
        ALTER TABLE charges DROP COLUMN receipt_number, DROP COLUMN receipt_email;
        """
    )
